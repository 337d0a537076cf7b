"""Every C signature of weft.h used from Python, declared once, and the one place where a
negative return code becomes an exception.

ctypes.CDLL releases the GIL around each foreign call, so weft runs while other Python
threads go on; callbacks into Python (tasks written in Python, progress) take it back.
"""
import ctypes
import os
import types
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_int,
                    c_int64, c_size_t, c_uint8, c_void_p)

from .. import errors
from .locate import find_library

# A weft_options field left 0 inherits (scope, environment, default); WEFT_NONE asks
# for its zero value (automatic, silent, none) explicitly.
WEFT_NONE = -1

TASK_FN = CFUNCTYPE(c_int, c_void_p)


class TaskDef(Structure):
    _fields_ = [("name", c_char_p), ("fn", c_void_p)]


class Error(Structure):
    _fields_ = [("code", c_int), ("task_status", c_int), ("task_index", c_int64),
                ("task_name", c_char * 64), ("message", c_char * 256)]


class Progress(Structure):
    _fields_ = [("done", c_size_t), ("total", c_size_t), ("elapsed_s", c_double),
                ("remaining_s", c_double)]


PROGRESS_FN = CFUNCTYPE(c_int, POINTER(Progress), c_void_p)


class Options(Structure):
    _fields_ = [("backend", c_char_p), ("n_jobs", c_int), ("batch_size", c_int),
                ("verbose", c_int), ("progress", PROGRESS_FN), ("progress_user", c_void_p),
                ("retries", c_int), ("retry_backoff_s", c_double),
                ("task_timeout_s", c_double), ("timeout_s", c_double), ("memory", c_void_p),
                ("shared_threshold", c_int)]


class Bytes(Structure):
    _fields_ = [("data", c_void_p), ("size", c_size_t)]


SOURCE_NEXT = CFUNCTYPE(c_int, c_void_p, POINTER(Bytes))


class Source(Structure):
    _fields_ = [("next", SOURCE_NEXT), ("user", c_void_p)]


class IterOptions(Structure):
    _fields_ = [("ordered", c_int), ("window", c_size_t), ("collect", c_int)]


class Result(Structure):
    _fields_ = [("index", c_size_t), ("code", c_int), ("data", c_void_p), ("size", c_size_t),
                ("message", c_char_p)]


class Reducer(Structure):
    _fields_ = [("acc_size", c_size_t), ("init", c_void_p), ("fold", c_void_p),
                ("combine", c_void_p), ("user", c_void_p), ("deterministic", c_int)]


class MemoryOptions(Structure):
    _fields_ = [("fsync", c_int), ("max_bytes", c_int64), ("max_items", c_int64),
                ("max_age_s", c_double), ("debug", c_int), ("quiet", c_int),
                ("validate", c_void_p), ("validate_user", c_void_p)]


class Shelf(Structure):
    _fields_ = [("task", c_char * 256), ("key", c_uint8 * 16)]


class MemoryStats(Structure):
    _fields_ = [(name, c_int64) for name in ("hits", "misses", "stores", "corrupt", "evicted",
                                             "expired", "saved_ns", "hashed_bytes")]


class ImportStats(Structure):
    _fields_ = [(name, c_int64) for name in ("imported", "skipped", "corrupt", "stale")]


ARG_I64, ARG_F64, ARG_BOOL, ARG_STRING, ARG_BYTES = 1, 2, 3, 4, 5
ARGS_MAX_NDIM = 8
ARGS_MAX_NAME = 255

P = c_void_p
_SIGNATURES = {
    # name: (restype, argtypes)
    "weft_version": (c_char_p, []),
    "weft_error_name": (c_char_p, [c_int]),
    "weft_strerror": (c_char_p, [c_int]),
    "weft_last_error": (POINTER(Error), []),
    "weft_task_register": (c_int, [POINTER(TaskDef)]),
    "weft_task_find": (POINTER(TaskDef), [c_char_p]),
    "weft_task_count": (c_size_t, []),
    "weft_task_at": (POINTER(TaskDef), [c_size_t]),
    "weft_input": (P, [P]),
    "weft_input_size": (c_size_t, [P]),
    "weft_output": (c_int, [P, P, c_size_t]),
    "weft_task_index": (c_size_t, [P]),
    "weft_cancelled": (c_int, [P]),
    "weft_fail": (c_int, None),  # variadic: called as (t, b"%s", message)
    "weft_config_push": (c_int, [POINTER(Options)]),
    "weft_config_pop": (c_int, []),
    "weft_config_current": (c_int, [POINTER(Options)]),
    "weft_cpu_count": (c_int, []),
    "weft_resolve_n_jobs": (c_int, [c_int]),
    "weft_shutdown": (None, []),
    "weft_map": (c_int, [P, POINTER(TaskDef), P, c_size_t, c_size_t, P, c_size_t]),
    "weft_map_bytes": (c_int, [P, POINTER(TaskDef), POINTER(Bytes), c_size_t, POINTER(Bytes)]),
    "weft_bytes_free": (None, [POINTER(Bytes), c_size_t]),
    "weft_imap": (c_int, [POINTER(P), P, POINTER(TaskDef), POINTER(Source),
                          POINTER(IterOptions)]),
    "weft_imap_array": (c_int, [POINTER(P), P, POINTER(TaskDef), P, c_size_t, c_size_t,
                                POINTER(IterOptions)]),
    "weft_next": (c_int, [P, POINTER(Result)]),
    "weft_iter_close": (None, [P]),
    "weft_reduce": (c_int, [P, POINTER(TaskDef), P, c_size_t, c_size_t, c_size_t,
                            POINTER(Reducer), P]),
    "weft_args_new": (P, []),
    "weft_args_free": (None, [P]),
    "weft_args_reset": (None, [P]),
    "weft_args_i64": (c_int, [P, c_char_p, c_int64]),
    "weft_args_f64": (c_int, [P, c_char_p, c_double]),
    "weft_args_bool": (c_int, [P, c_char_p, c_int]),
    "weft_args_string": (c_int, [P, c_char_p, c_char_p]),
    "weft_args_bytes": (c_int, [P, c_char_p, P, c_size_t]),
    "weft_args_i32_array": (c_int, [P, c_char_p, P, c_int, POINTER(c_size_t)]),
    "weft_args_i64_array": (c_int, [P, c_char_p, P, c_int, POINTER(c_size_t)]),
    "weft_args_f32_array": (c_int, [P, c_char_p, P, c_int, POINTER(c_size_t)]),
    "weft_args_f64_array": (c_int, [P, c_char_p, P, c_int, POINTER(c_size_t)]),
    "weft_args_encode": (c_int, [P, POINTER(Bytes)]),
    "weft_args_decode": (c_int, [P, c_char_p, c_size_t]),
    "weft_memory_open": (c_int, [POINTER(P), c_char_p, POINTER(MemoryOptions)]),
    "weft_memory_close": (None, [P]),
    "weft_memory_location": (c_char_p, [P]),
    "weft_memory_set_version": (c_int, [P, c_char_p, c_char_p]),
    "weft_memory_ignore": (c_int, [P, c_char_p, c_char_p]),
    "weft_memory_call": (c_int, [P, POINTER(TaskDef), P, POINTER(Bytes), POINTER(c_int)]),
    "weft_memory_call_encoded": (c_int, [P, POINTER(TaskDef), c_char_p, c_size_t,
                                         POINTER(Bytes), POINTER(c_int)]),
    "weft_memory_check": (c_int, [P, POINTER(TaskDef), P]),
    "weft_memory_get": (c_int, [P, POINTER(TaskDef), P, POINTER(Bytes)]),
    "weft_memory_refresh": (c_int, [P, POINTER(TaskDef), P, POINTER(Bytes)]),
    "weft_memory_shelve": (c_int, [P, POINTER(TaskDef), P, POINTER(Shelf)]),
    "weft_shelf_load": (c_int, [P, POINTER(Shelf), POINTER(Bytes)]),
    "weft_shelf_format": (c_size_t, [POINTER(Shelf), c_char_p, c_size_t]),
    "weft_shelf_parse": (c_int, [c_char_p, POINTER(Shelf)]),
    "weft_memory_key": (c_int, [P, POINTER(TaskDef), P, POINTER(c_uint8), c_char_p]),
    "weft_memory_clear": (c_int, [P, c_char_p]),
    "weft_memory_prune": (c_int, [P, c_int64, c_int64, c_double, POINTER(c_int64)]),
    "weft_memory_stats_get": (c_int, [P, POINTER(MemoryStats)]),
    "weft_memory_export": (c_int, [P, c_char_p, c_char_p, POINTER(c_int64)]),
    "weft_memory_import": (c_int, [P, c_char_p, POINTER(ImportStats)]),
    "weft_backend_count": (c_size_t, []),
    "weft_backend_name": (c_char_p, [c_size_t]),
    "weft_backend_caps": (ctypes.c_uint, [c_char_p]),
}


# The cached call's hot path (native_memory.Store.call_encoded) calls these through
# `unchecked`: the same functions without argtypes, so every argument must be a ctypes
# object of its declared type (c_void_p, a pointer, byref(...), c_size_t; bytes for
# c_char_p). ctypes then converts each in C instead of through its argtype's from_param,
# which halves the cost of a call: more than a cache hit costs in C.
_UNCHECKED = ("weft_memory_call_encoded", "weft_bytes_free")


def _load():
    # Task libraries loaded later (weft.load_tasks) are not in a fork server started at
    # load time; with it off, the processes backend forks workers from this process as it
    # is when the pool opens, task libraries included. A user's own setting wins, and
    # programs this one starts do not inherit ours (it is read once, at load).
    path = find_library()
    ours = "WEFT_FORKSERVER" not in os.environ
    if ours:
        os.environ["WEFT_FORKSERVER"] = "0"
    try:
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    finally:
        if ours:
            del os.environ["WEFT_FORKSERVER"]
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        if argtypes is not None:
            fn.argtypes = argtypes
    unchecked = types.SimpleNamespace()
    for name in _UNCHECKED:
        fn = lib[name]  # a function object of its own, not lib.<name>
        fn.restype = _SIGNATURES[name][0]
        setattr(unchecked, name, fn)
    return lib, unchecked, path


lib, unchecked, library_path = _load()


def last_error():
    """The calling thread's last weft error as an exception."""
    e = lib.weft_last_error().contents
    code = e.code
    name = lib.weft_error_name(code).decode()
    message = e.message.decode("utf-8", "replace") or lib.weft_strerror(code).decode()
    return errors.error_for(name, code, message, index=e.task_index,
                            task=e.task_name.decode("utf-8", "replace"), status=e.task_status)


def check(rc):
    """rc from a weft call: 0 passes, a negative code raises its WeftError subclass."""
    if rc < 0:
        raise last_error()
    return rc


def fail(t, message):
    """weft_fail(t, "%s", message) from a Python task."""
    return lib.weft_fail(c_void_p(t), c_char_p(b"%s"),
                         c_char_p(message.encode("utf-8", "replace")[:1000]))


def options(backend=None, n_jobs=None, batch_size=None, verbose=None, retries=None,
            task_timeout=None, timeout=None):
    """A weft_options with the given fields set and every other one inheriting (None).
    A given 0 is that value, not "inherit": automatic batches, silence, no retries, no
    time limit."""
    def zero_is_none(v):
        return v if v else WEFT_NONE
    o = Options()
    o.progress = PROGRESS_FN()
    if backend is not None:
        o.backend = backend.encode()
    if n_jobs is not None:
        o.n_jobs = n_jobs
    if batch_size is not None:
        o.batch_size = zero_is_none(batch_size)
    if verbose is not None:
        o.verbose = zero_is_none(int(verbose))
    if retries is not None:
        o.retries = zero_is_none(retries)
    if task_timeout is not None:
        o.task_timeout_s = zero_is_none(float(task_timeout))
    if timeout is not None:
        o.timeout_s = zero_is_none(float(timeout))
    return o


def bytes_at(address, size):
    return ctypes.string_at(address, size) if size else b""


__all__ = ["lib", "library_path", "check", "last_error", "fail", "options"]
