"""The engine behind weft's Python API, chosen by platform.

native (CPython): ctypes on libweft.so. pyodide (sys.platform == "emscripten"): weft's
JavaScript API through Pyodide's JS bridge, behind the same functions (plus use_module,
map_async, reduce_async; its imap is also an async iterator).

What the public modules use, and so what an engine provides:
  engine: map, imap, reduce, run_python (Parallel), config_push / config_pop
          (parallel_config), load_tasks, load_examples, tasks, backends, cpu_count,
          resolve_n_jobs, task_def, library_path
  memory_engine: Store (one open cache: call, check, shelve, load, key, clear, prune,
          stats, set_version, ignore), PendingCall, python_task, source_version; for
          the cached functions python_task allows (native): scalar_encoder and
          Store.call_encoded, their hot path
Errors are weft.errors' classes in every engine.
"""
import sys

if sys.platform == "emscripten":
    from . import pyodide as engine
    from . import pyodide_memory as memory_engine
    NAME = "pyodide"
else:
    from . import native as engine
    from . import native_memory as memory_engine
    NAME = "native"
__all__ = ["engine", "memory_engine", "NAME"]
