"""Memory for Python functions (and C tasks) on weft's C Memory.

A cached Python function is a weft task named after it (module.qualname) whose C function
is one trampoline: weft_memory_call runs a miss on the calling thread, so the trampoline
finds the Python call waiting in a thread-local slot, runs it, and writes its pickled
result with weft_output. Arguments become weft's typed arguments, so keys, entries,
`weft cache ls|show|stats` and WEFT_DEBUG=1's miss explanations are those of the C API.
"""
import ctypes
import hashlib
import inspect
import pickle
import threading
from ctypes import byref, c_int, c_int64, c_size_t, c_void_p

from .. import errors
from . import buffers, ffi
from .args_encoding import scalar_encoder  # noqa: F401 (memory_engine's)
from .ffi import lib
from .ffi import unchecked as _fast

np = buffers.np
PICKLE_PROTOCOL = 4
_INT64 = (-(1 << 63), (1 << 63) - 1)
_ARRAY_ADDERS = {"<i4": "weft_args_i32_array", "<i8": "weft_args_i64_array",
                 "<f4": "weft_args_f32_array", "<f8": "weft_args_f64_array"}


_spare = threading.local()  # weft_args handles to reuse (a stack: cached calls nest)


class Args:
    """A weft_args built from Python values; borrowed memory is kept alive with it."""

    def __init__(self, arguments):
        spare = getattr(_spare, "handles", None)
        if spare:
            self.handle = spare.pop()
        else:
            self.handle = lib.weft_args_new()
            if not self.handle:
                raise MemoryError("weft_args_new")
        self.keep = []
        try:
            for name, value in arguments.items():
                if type(value) is int and _INT64[0] <= value <= _INT64[1]:
                    ffi.check(lib.weft_args_i64(self.handle, name.encode(), value))
                else:
                    self._add(name, value)
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.handle:
            lib.weft_args_reset(self.handle)
            spare = getattr(_spare, "handles", None)
            if spare is None:
                spare = _spare.handles = []
            if len(spare) < 8:
                spare.append(self.handle)
            else:
                lib.weft_args_free(self.handle)
            self.handle = None
        self.keep = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _bytes(self, name, address, size, holder):
        self.keep.append(holder)
        ffi.check(lib.weft_args_bytes(self.handle, name, address or None, size))

    def _add(self, name, value):
        key = name.encode()
        h = self.handle
        if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):
            ffi.check(lib.weft_args_bool(h, key, 1 if value else 0))
        elif isinstance(value, int) and _INT64[0] <= value <= _INT64[1]:
            ffi.check(lib.weft_args_i64(h, key, value))
        elif np is not None and isinstance(value, np.integer) and \
                _INT64[0] <= int(value) <= _INT64[1]:
            ffi.check(lib.weft_args_i64(h, key, int(value)))
        elif isinstance(value, float) or (np is not None and isinstance(value, np.floating)
                                          and value.dtype.itemsize <= 8):
            ffi.check(lib.weft_args_f64(h, key, float(value)))
        elif isinstance(value, str) and "\0" not in value:
            ffi.check(lib.weft_args_string(h, key, value.encode("utf-8", "surrogatepass")))
        elif isinstance(value, bytes):
            self._bytes(key, ctypes.cast(ctypes.c_char_p(value), c_void_p).value, len(value),
                        value)
        elif isinstance(value, (bytearray, memoryview)):
            view = memoryview(value)
            if not view.c_contiguous:
                view = memoryview(view.tobytes())
            address, holder = buffers._address_of_buffer(view, False)
            self._bytes(key, address, view.nbytes, holder)
        elif buffers.is_ndarray(value) and not value.dtype.hasobject:
            self._array(name, key, value)
        else:
            blob = pickle.dumps(value, protocol=PICKLE_PROTOCOL)
            self._bytes(key, ctypes.cast(ctypes.c_char_p(blob), c_void_p).value, len(blob),
                        blob)

    def _array(self, name, key, a):
        if a.ndim == 0:
            return self._add(name, a[()])
        if not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        adder = _ARRAY_ADDERS.get(a.dtype.str) if a.ndim <= ffi.ARGS_MAX_NDIM else None
        if adder:  # hashed in place, never copied
            shape = (c_size_t * a.ndim)(*a.shape)
            self.keep.append(a)
            ffi.check(getattr(lib, adder)(self.handle, key, a.ctypes.data or None, a.ndim,
                                          shape))
            return None
        # any other dtype: its raw bytes, with dtype and shape as an argument of their own
        self.keep.append(a)
        ffi.check(lib.weft_args_bytes(self.handle, key, a.ctypes.data or None, a.nbytes))
        layout = f"{a.dtype.descr if a.dtype.fields else a.dtype.str}{list(a.shape)}"
        ffi.check(lib.weft_args_string(self.handle, (name + "#layout").encode(),
                                       layout.encode()))
        return None


class _Reply:
    """The out-parameters of weft_memory_call_encoded, made once and reused: one per call
    in progress (cached calls nest), kept in _replies."""

    __slots__ = ("out", "hit", "out_ref", "hit_ref")

    def __init__(self):
        self.out, self.hit = ffi.Bytes(), c_int(0)
        self.out_ref, self.hit_ref = byref(self.out), byref(self.hit)


_replies = []  # list.pop/append are atomic: threads never share one
_ONE = c_size_t(1)


# ---------------------------------------------------------------- the trampoline

_pending = threading.local()


class PendingCall:
    __slots__ = ("func", "args", "kwargs", "error")

    def __init__(self, func, args, kwargs):
        self.func, self.args, self.kwargs, self.error = func, args, kwargs, None


def _trampoline(t):
    call = getattr(_pending, "call", None)
    _pending.call = None
    if call is None:
        return ffi.fail(t, "a Python task ran outside weft.Memory (in a map?): call the "
                           "cached function instead")
    try:
        blob = pickle.dumps(call.func(*call.args, **call.kwargs), protocol=PICKLE_PROTOCOL)
    except BaseException as e:
        call.error = e
        try:
            return ffi.fail(t, f"{type(e).__name__}: {e}")
        except BaseException:
            return -5
    try:
        return lib.weft_output(t, blob, len(blob))
    except BaseException as e:
        call.error = e
        return -2


_TRAMPOLINE = ffi.TASK_FN(_trampoline)
_TRAMPOLINE_ADDRESS = ctypes.cast(_TRAMPOLINE, c_void_p).value
_defs = {}
_defs_lock = threading.Lock()


def python_task(name):
    """The task definition for a Python function (registered once; defs live forever)."""
    with _defs_lock:
        d = _defs.get(name)
        if d is not None:
            return d
        found = lib.weft_task_find(name.encode())
        if found:
            if found.contents.fn != _TRAMPOLINE_ADDRESS:
                raise errors.InvalidArgumentError(
                    f"a C task named '{name}' is already registered: name the cached "
                    f"function otherwise (Memory.cache(name=...))")
            d = found
        else:
            td = ffi.TaskDef(name.encode(), _TRAMPOLINE_ADDRESS)
            ffi.check(lib.weft_task_register(byref(td)))
            _defs[name + "#def"] = td  # keep the struct alive
            d = ctypes.pointer(td)
        _defs[name] = d
        return d


def source_version(func):
    """A version that changes with the function's code (joblib's invalidation)."""
    try:
        text = inspect.getsource(func).encode()
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        text = code.co_code + repr(code.co_consts).encode() if code else repr(func).encode()
    return "src-" + hashlib.sha256(text).hexdigest()[:16]


# ---------------------------------------------------------------- the store

def _value(out):
    try:
        return ffi.bytes_at(out.data, out.size)
    finally:
        lib.weft_bytes_free(byref(out), 1)


class Store:
    """One open weft_memory."""

    def __init__(self, location, *, max_bytes=0, max_items=0, max_age=0.0, debug=None,
                 quiet=False):
        if not isinstance(location, str) or not location:
            raise TypeError(f"Memory location must be a folder (str) or 'memory:', got "
                            f"{location!r}")
        o = ffi.MemoryOptions(0, int(max_bytes or 0), int(max_items or 0),
                              float(max_age or 0.0),
                              0 if debug is None else 1 if debug else ffi.WEFT_NONE,
                              1 if quiet else 0, None, None)
        h = c_void_p()
        ffi.check(lib.weft_memory_open(byref(h), location.encode(), byref(o)))
        self.handle = h
        self.location = lib.weft_memory_location(h).decode()

    def close(self):
        if self.handle:
            lib.weft_memory_close(self.handle)
            self.handle = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def set_version(self, task, version):
        ffi.check(lib.weft_memory_set_version(self.handle, task.encode(), version.encode()))

    def ignore(self, task, arg):
        ffi.check(lib.weft_memory_ignore(self.handle, task.encode(), arg.encode()))

    def call(self, d, arguments, pending=None, refresh=False):
        """(value bytes, hit) for a C task or a Python one (pending: the call to run)."""
        out, hit = ffi.Bytes(), c_int(0)
        with Args(arguments) as a:
            _pending.call = pending
            try:
                if refresh:
                    rc = lib.weft_memory_refresh(self.handle, d, a.handle, byref(out))
                else:
                    rc = lib.weft_memory_call(self.handle, d, a.handle, byref(out), byref(hit))
                err = ffi.last_error() if rc < 0 else None
            finally:
                _pending.call = None
        if err is not None:
            if pending is not None and pending.error is not None:
                raise pending.error
            raise err
        return _value(out), bool(hit.value)

    def call_encoded(self, d, encoding, pending):
        """call() with the arguments already encoded (args_encoding.ScalarEncoder): the
        cached function's hot path, two C calls through ffi.unchecked and a copy."""
        r = _replies.pop() if _replies else _Reply()
        try:
            _pending.call = pending
            try:
                rc = _fast.weft_memory_call_encoded(self.handle, d, encoding,
                                                    c_size_t(len(encoding)), r.out_ref,
                                                    r.hit_ref)
                err = ffi.last_error() if rc < 0 else None
            finally:
                _pending.call = None
            if err is not None:
                raise pending.error if pending.error is not None else err
            try:
                return ctypes.string_at(r.out.data, r.out.size), bool(r.hit.value)
            finally:
                _fast.weft_bytes_free(r.out_ref, _ONE)
        finally:
            _replies.append(r)

    def check(self, d, arguments):
        with Args(arguments) as a:
            return ffi.check(lib.weft_memory_check(self.handle, d, a.handle)) == 1

    def shelve(self, d, arguments, pending=None):
        ref = ffi.Shelf()
        with Args(arguments) as a:
            _pending.call = pending
            try:
                rc = lib.weft_memory_shelve(self.handle, d, a.handle, byref(ref))
                err = ffi.last_error() if rc < 0 else None
            finally:
                _pending.call = None
        if err is not None:
            if pending is not None and pending.error is not None:
                raise pending.error
            raise err
        return ref

    def load(self, ref):
        out = ffi.Bytes()
        ffi.check(lib.weft_shelf_load(self.handle, byref(ref), byref(out)))
        return _value(out)

    @staticmethod
    def shelf_text(ref):
        buf = ctypes.create_string_buffer(300)
        n = lib.weft_shelf_format(byref(ref), buf, len(buf))
        return buf.raw[:n].decode()

    def key(self, d, arguments):
        key = (ctypes.c_uint8 * 16)()
        hexbuf = ctypes.create_string_buffer(33)
        with Args(arguments) as a:
            ffi.check(lib.weft_memory_key(self.handle, d, a.handle, key, hexbuf))
        return hexbuf.value.decode()

    def clear(self, task=None):
        ffi.check(lib.weft_memory_clear(self.handle, task.encode() if task else None))

    def prune(self, max_bytes=0, max_items=0, max_age=0.0):
        removed = c_int64(0)
        ffi.check(lib.weft_memory_prune(self.handle, int(max_bytes or 0), int(max_items or 0),
                                        float(max_age or 0.0), byref(removed)))
        return removed.value

    def stats(self):
        s = ffi.MemoryStats()
        ffi.check(lib.weft_memory_stats_get(self.handle, byref(s)))
        return {name: getattr(s, name) for name, _ in ffi.MemoryStats._fields_}
