"""The engine behind weft's Python API, chosen by platform.

native (CPython): ctypes on libweft.so. Pyodide (sys.platform == "emscripten") will drive
weft's JavaScript API instead, behind the same functions; it is not written yet.
"""
import sys

if sys.platform == "emscripten":
    raise ImportError("weft: the Pyodide engine (weft's JavaScript API from Pyodide) is not "
                      "built yet; only CPython with libweft.so is supported")

from . import native as engine  # noqa: E402
from . import native_memory as memory_engine  # noqa: E402

NAME = "native"
__all__ = ["engine", "memory_engine", "NAME"]
