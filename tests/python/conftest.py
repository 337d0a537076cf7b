"""Shared fixtures. scripts/test-python.sh sets WEFT_TEST_BUILD to the CMake build folder
(build/release) that holds libweft.so, the test task library and the C programs."""
import asyncio
import inspect
import os
import subprocess
import sys

import pytest

BUILD = os.environ.get("WEFT_TEST_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "release")
BUILD = os.path.abspath(BUILD)
TASKS_LIB = os.path.join(BUILD, "tests", "python", "libweft_pytasks.so")
MEMORY_READER = os.path.join(BUILD, "tests", "python", "memory_reader")
WEFT_TOOL = os.path.join(BUILD, "native", "cli", "weft")
BACKENDS = ["sequential", "threads", "processes"]

os.environ.setdefault("WEFT_LIBRARY", BUILD)

import weft  # noqa: E402  (after WEFT_LIBRARY is known)

weft.load_tasks(TASKS_LIB)
weft.load_examples()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """`async def` tests (test_portable.py, shared with the Pyodide runner) run on a fresh
    event loop: no pytest-asyncio needed."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
    return True


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(params=["sequential", "threads"])
def memory_backend(request):
    """Backends that run Python callables."""
    return request.param


def run_python(code, env=None, timeout=60):
    """Run a snippet in a fresh interpreter (the one running the tests), with weft and
    the test tasks loaded; returns the CompletedProcess."""
    prelude = (f"import sys, os\nsys.path[:0] = {sys.path[:3]!r}\n"
               f"os.environ.setdefault('WEFT_LIBRARY', {BUILD!r})\n"
               f"import weft\nweft.load_tasks({TASKS_LIB!r})\n")
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, timeout=timeout, env=full_env)
