"""A small test runner for Pyodide, which has no pytest offline: import each module, call
its test_* functions in the order they are defined (awaiting `async def` ones), print one
line per test, and return (passed, failed, skipped). A test skips by raising
unittest.SkipTest (as under pytest)."""
import importlib
import inspect
import time
import traceback
import unittest


async def run(module_names):
    passed = failed = skipped = 0
    for name in module_names:
        module = importlib.import_module(name)
        for fname, fn in list(vars(module).items()):
            if not fname.startswith("test_") or not callable(fn):
                continue
            t = time.monotonic()
            try:
                result = fn()
                if inspect.isawaitable(result):
                    await result
            except unittest.SkipTest as e:
                skipped += 1
                print(f"skip {name}::{fname}: {e}")
            except BaseException:
                failed += 1
                print(f"FAIL {name}::{fname}\n{traceback.format_exc()}")
            else:
                passed += 1
                print(f"ok   {name}::{fname} ({time.monotonic() - t:.2f} s)")
    return passed, failed, skipped
