"""The engine behind weft's Python API, chosen by platform.

native (CPython): ctypes on libweft.so. Pyodide (sys.platform == "emscripten") will drive
weft's JavaScript API instead, behind the same functions; it is not written yet.

What the public modules use, and so what an engine provides:
  engine: map, imap, reduce, run_python (Parallel), config_push / config_pop
          (parallel_config), load_tasks, load_examples, tasks, backends, cpu_count,
          resolve_n_jobs, task_def, library_path
  memory_engine: Store (one open cache: call, check, shelve, load, key, clear, prune,
          stats, set_version, ignore), PendingCall, python_task, source_version
Errors are weft.errors' classes in every engine.
"""
import sys

if sys.platform == "emscripten":
    raise ImportError("weft: the Pyodide engine (weft's JavaScript API from Pyodide) is not "
                      "built yet; only CPython with libweft.so is supported")

from . import native as engine  # noqa: E402
from . import native_memory as memory_engine  # noqa: E402

NAME = "native"
__all__ = ["engine", "memory_engine", "NAME"]
