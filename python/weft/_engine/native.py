"""The CPython engine: weft's C library through ctypes (ffi.py declares the calls).

Calls pass a NULL pool and push a scope with the call's options (weft_config_push), so
they run on weft's shared default pools, reused across calls, and follow parallel_config
scopes and WEFT_BACKEND / WEFT_N_JOBS exactly as C callers do.
"""
import array
import ctypes
import os
import threading
import time
from ctypes import byref, c_uint64, c_void_p

from .. import _validate, errors
from . import buffers, ffi, interrupt
from .ffi import lib

np = buffers.np

# ---------------------------------------------------------------- tasks and libraries

_libraries = []  # (path, CDLL) in load order: task and reducer symbols live there
_libraries_lock = threading.Lock()
EXAMPLES_LIBRARY = "libweft_examples.so"
library_path = ffi.library_path


def version():
    return lib.weft_version().decode()


def cpu_count():
    return lib.weft_cpu_count()


def backends():
    return [lib.weft_backend_name(i).decode() for i in range(lib.weft_backend_count())]


def backend_is_isolated(name):
    return bool(lib.weft_backend_caps(name.encode()) & (1 << 3))


def backend_shares_memory(name):
    return bool(lib.weft_backend_caps(name.encode()) & 1)


def tasks():
    """Names of every registered task, sorted."""
    return [lib.weft_task_at(i).contents.name.decode() for i in range(lib.weft_task_count())]


def _resolve_library(path):
    if os.sep in path or os.path.exists(path):
        return os.path.abspath(path)
    beside = os.path.join(os.path.dirname(ffi.library_path), path)
    return beside if os.path.exists(beside) else path


def load_tasks(path):
    """dlopen a shared library whose WEFT_TASK constructors register tasks; the names it
    added. Loading the same library twice is harmless (it returns its tasks again).
    Loading one closes weft's default pools (reopened by the next call, with worker
    processes that have the new library), so no call may be running meanwhile."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_tasks: expected a path, got {type(path).__name__}")
    full = _resolve_library(os.fspath(path))
    with _libraries_lock:
        for known, _ in _libraries:
            if known == full:
                return _library_tasks(full)
        before = set(tasks())
        try:
            handle = ctypes.CDLL(full, mode=ctypes.RTLD_GLOBAL)
        except OSError as e:
            raise OSError(f"weft.load_tasks: cannot load {path!r}: {e}") from None
        added = sorted(set(tasks()) - before)
        if not added:
            raise errors.UnknownTaskError(
                f"{full} registered no task with weft's library {ffi.library_path} (is it "
                f"linked against libweft.so, with WEFT_TASK(...) in it? a copy of libweft.a "
                f"inside it keeps a registry of its own)")
        _libraries.append((full, handle))
        _library_tasks.cache[full] = added
        # worker processes already running were forked without this library: close the
        # default pools, so the next call forks workers that have it
        lib.weft_shutdown()
        return added


def _library_tasks(full):
    return list(_library_tasks.cache.get(full, []))


_library_tasks.cache = {}


def load_examples():
    """weft's example tasks (pi_darts, newton_sqrt, simulate_sir, ...), from
    libweft_examples.so beside libweft.so."""
    path = os.path.join(os.path.dirname(ffi.library_path), EXAMPLES_LIBRARY)
    if not os.path.exists(path):
        raise OSError(f"weft.load_examples: {path} does not exist (it is built with weft: "
                      f"cmake --build --preset release)")
    return load_tasks(path)


def task_def(task):
    if not isinstance(task, str):
        raise TypeError(f"task must be a task name (str), got {type(task).__name__}")
    d = lib.weft_task_find(task.encode())
    if not d:
        known = tasks()
        shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
        raise errors.UnknownTaskError(
            f"no task is registered under the name '{task}' (registered: {shown or 'none'}; "
            f"load yours with weft.load_tasks('libmytasks.so'))", code="WEFT_ENOTASK", errno=-3,
            task=task)
    return d


def find_reducer(name):
    """A `weft_reducer weft_reducer_<name>` exported by a loaded library."""
    if not isinstance(name, str):
        raise TypeError(f"reducer must be a name (str), got {type(name).__name__}")
    symbol = "weft_reducer_" + name
    for attempt in range(2):
        with _libraries_lock:
            libs = list(_libraries)
        for _, handle in reversed(libs):
            try:
                return ffi.Reducer.in_dll(handle, symbol)
            except ValueError:
                continue
        # weft's own reducers (sum_f64, stats_f64) live in the examples library
        examples = os.path.join(os.path.dirname(ffi.library_path), EXAMPLES_LIBRARY)
        if attempt or any(p == examples for p, _ in libs) or not os.path.exists(examples):
            break
        load_examples()
    raise errors.UnknownTaskError(
        f"no loaded library exports a reducer '{symbol}' (loaded: "
        f"{', '.join(p for p, _ in libs) or 'none'})", code="WEFT_ENOTASK", errno=-3)


# ---------------------------------------------------------------- running a call

class _Call:
    """One blocking weft call: the options scope, Ctrl-C watching and the progress
    callback (interrupt.Hook), the error read before the scope is popped (a pop clears
    the thread's error record)."""

    def __init__(self, opts):
        opts = dict(opts)
        self.progress = opts.pop("progress", None)
        self.o = ffi.options(**opts)
        self.o.progress = interrupt.PROGRESS
        # a call without options from inside a Python task joins the outer call's pool,
        # as a nested C call does; a scope of its own would send it to a default pool
        self.nested = getattr(_in_task, "depth", 0) > 0 and self.progress is None and all(
            v is None for v in opts.values())

    def run(self, fn, *args):
        if self.nested:
            rc = fn(*args)
            if rc < 0:
                raise ffi.last_error()
            return rc
        hook = interrupt.Hook(self.progress)
        try:
            with interrupt.watching() as watch:
                self.o.progress_user = hook.token
                ffi.check(lib.weft_config_push(byref(self.o)))
                try:
                    rc = fn(*args)
                    err = ffi.last_error() if rc < 0 else None
                finally:
                    lib.weft_config_pop()
        finally:
            hook.close()
        if err is not None:
            interrupt.raise_if_interrupted(watch, rc, hook)
            raise err
        hook.raise_error()  # the last report's callback raised: the call had ended
        return rc

    def open(self, fn, *args):
        """Start an iterator under the scope (it keeps the options it was opened with);
        the hook lives until the iterator is closed."""
        hook = interrupt.Hook(self.progress)
        self.o.progress_user = hook.token
        ffi.check(lib.weft_config_push(byref(self.o)))
        try:
            rc = fn(*args)
            err = ffi.last_error() if rc < 0 else None
        finally:
            lib.weft_config_pop()
        if err is not None:
            hook.close()
            raise err
        return hook


def current_backend(opts):
    """The backend a call with these options would use, scopes and environment included."""
    o = ffi.options(**{k: v for k, v in opts.items() if k != "progress"})
    ffi.check(lib.weft_config_push(byref(o)))
    try:
        cur = ffi.Options()
        rc = lib.weft_config_current(byref(cur))
        err = ffi.last_error() if rc < 0 else None
        name = cur.backend.decode() if rc == 0 and cur.backend else None
    finally:
        lib.weft_config_pop()
    if err is not None:
        raise err
    return name


def _bytes_array_for_rows(r):
    items = (ffi.Bytes * r.n)()
    for i in range(r.n):
        items[i].data = r.address + i * r.size if r.size else None
        items[i].size = r.size
    return items


def _collect_bytes(outs, n):
    try:
        return [ffi.bytes_at(outs[i].data, outs[i].size) for i in range(n)]
    finally:
        lib.weft_bytes_free(outs, n)


def map(task, inputs, out=None, *, out_dtype=None, out_shape=(), out_size=None,
        item_size=None, **opts):
    d = task_def(task)
    call = _Call(opts)
    if buffers.is_bytes_list(inputs):
        if out is not None or out_dtype is not None or out_size is not None:
            raise TypeError("a list of bytes gives a list of bytes: out, out_dtype and "
                            "out_size need array or buffer inputs")
        items, keep = buffers.bytes_items(inputs)
        outs = (ffi.Bytes * len(inputs))()
        call.run(lib.weft_map_bytes, None, d, items, len(inputs), outs)
        del keep
        return _collect_bytes(outs, len(inputs))
    r = buffers.rows(inputs, item_size)
    if out is None and out_dtype is None and out_size is None:
        items = _bytes_array_for_rows(r)
        outs = (ffi.Bytes * r.n)()
        call.run(lib.weft_map_bytes, None, d, items, r.n, outs)
        return _collect_bytes(outs, r.n)
    if out is None:
        if out_dtype is not None:
            if np is None:
                raise TypeError("out_dtype needs numpy; without it pass out_size (bytes)")
            shape = (out_shape,) if isinstance(out_shape, int) else tuple(out_shape)
            out = np.empty((r.n,) + shape, dtype=out_dtype)
        else:
            _validate.positive_int(out_size, "out_size", allow_none=False)
            out = bytearray(r.n * out_size)
    w = buffers.writable_rows(out, r.n, out_size)
    call.run(lib.weft_map, None, d, r.address or None, r.size, r.n, w.address or None, w.size)
    return out


class _Source:
    """A Python iterable as a weft_source: next() on the reading thread, each item kept
    alive until the next one is asked for (weft copies it)."""

    def __init__(self, iterable):
        self.it = iter(iterable)
        self.current = None
        self.error = None
        self.index = 0
        self.callback = ffi.SOURCE_NEXT(self._next)
        self.source = ffi.Source(self.callback, None)

    def _next(self, user, out):
        try:
            item = next(self.it)
        except StopIteration:
            return 0
        except BaseException as e:
            self.error = e
            return -1
        try:
            view = memoryview(item)
            if not view.c_contiguous:
                view = memoryview(view.tobytes())
            address, holder = buffers._address_of_buffer(view, False)
        except BaseException:
            self.error = TypeError(f"inputs[{self.index}]: expected a bytes-like object, got "
                                   f"{type(item).__name__}")
            return -1
        self.current = holder
        self.index += 1
        out.contents.data = address or None
        out.contents.size = view.nbytes
        return 1


def _iterate(call, open_fn, open_args, decode, ordered, on_error=None, keep=None):
    """weft_imap(_array) + weft_next as a generator; closing it cancels what is left."""
    it = c_void_p()
    try:
        hook = call.open(open_fn, byref(it), *open_args)
    except errors.WeftError as err:
        if on_error is not None:
            on_error(err)
        raise
    result = ffi.Result()
    try:
        while True:
            with interrupt.watching() as watch:
                rc = lib.weft_next(it, byref(result))
                err = ffi.last_error() if rc < 0 else None
            if rc == 0:
                return
            if rc < 0:
                if on_error is not None:
                    on_error(err)
                interrupt.raise_if_interrupted(watch, rc, hook)
                raise err
            value = decode(result)
            yield value if ordered else (result.index, value)
    finally:
        lib.weft_iter_close(it)
        hook.close()
        del keep


def imap(task, inputs, *, ordered=True, out_dtype=None, out_shape=(), item_size=None,
         window=0, **opts):
    d = task_def(task)
    call = _Call(opts)
    io = ffi.IterOptions(1 if ordered else 0, _validate.positive_int(window, "window"), 0)
    if out_dtype is not None:
        if np is None:
            raise TypeError("out_dtype needs numpy")
        dtype = np.dtype(out_dtype)
        shape = (out_shape,) if isinstance(out_shape, int) else tuple(out_shape)

        def decode(r):
            value = np.frombuffer(ffi.bytes_at(r.data, r.size), dtype=dtype).reshape(shape)
            return value[()] if shape == () else value  # one element: a numpy scalar
    else:
        def decode(r):
            return ffi.bytes_at(r.data, r.size)
    if buffers.is_ndarray(inputs) or (not buffers.is_bytes_list(inputs) and
                                      _has_buffer(inputs)):
        r = buffers.rows(inputs, item_size)
        return _iterate(call, lib.weft_imap_array,
                        (None, d, r.address or None, r.size, r.n, byref(io)), decode, ordered,
                        keep=r)
    src = _Source(inputs)

    def on_error(err):
        if src.error is not None:
            raise src.error
    return _iterate(call, lib.weft_imap, (None, d, byref(src.source), byref(io)), decode,
                    ordered, on_error=on_error, keep=src)


def _has_buffer(obj):
    try:
        memoryview(obj)
        return True
    except TypeError:
        return False


def reduce(task, inputs, reducer, *, out_size, item_size=None, deterministic=False,
           dtype=None, **opts):
    d = task_def(task)
    red = ffi.Reducer.from_buffer_copy(find_reducer(reducer))
    red.deterministic = 1 if deterministic else 0
    _validate.positive_int(out_size, "out_size", allow_none=False)
    r = buffers.rows(inputs, item_size)
    acc = ctypes.create_string_buffer(red.acc_size or 1)
    _Call(opts).run(lib.weft_reduce, None, d, r.address or None, r.size, r.n, out_size,
                    byref(red), acc)
    raw = acc.raw[:red.acc_size]
    if dtype is None:
        return raw
    if np is None:
        raise TypeError("dtype needs numpy; without it the result is bytes")
    value = np.frombuffer(raw, dtype=dtype).copy()
    return value[0] if value.shape == (1,) else value


# ---------------------------------------------------------------- Python callables

_PY_TASK_NAME = b"weft:python"
_py_jobs = {}
_py_lock = threading.Lock()
_py_next = [1]


class _PyJob:
    """Calls start..n-1 run as weft items of `chunk` calls each (item c: calls
    start + c * chunk ...), so that tiny callables do not pay one weft item each."""

    __slots__ = ("calls", "results", "errors", "start", "chunk", "n")

    def __init__(self, calls, start, chunk):
        self.calls = calls
        self.n = len(calls)
        self.results = [None] * self.n
        self.errors = {}  # weft item -> the exception its callable raised
        self.start, self.chunk = start, chunk

    def span(self, item):
        first = self.start + item * self.chunk
        return range(first, min(first + self.chunk, self.n))

    def items(self):
        return -(-(self.n - self.start) // self.chunk)


_in_task = threading.local()  # depth of Python tasks running on this thread
CHUNK_TARGET_S = 50e-6  # Python work per weft item when callables are tiny
CHUNK_MAX = 256


def _python_task(t):
    job = item = None
    _in_task.depth = getattr(_in_task, "depth", 0) + 1
    try:
        pair = (c_uint64 * 2).from_address(lib.weft_input(t))
        job, item = _py_jobs[pair[0]], pair[1]
        calls, results = job.calls, job.results
        for i in job.span(item):
            f, args, kwargs = calls[i]
            results[i] = f(*args, **kwargs)
        return 0
    except BaseException as e:  # nothing may propagate into C
        if job is not None:
            job.errors[item] = e
        try:
            return ffi.fail(t, f"{type(e).__name__}: {e}")
        except BaseException:
            return -5
    finally:
        _in_task.depth -= 1


_PY_TASK_FN = ffi.TASK_FN(_python_task)
_py_def = ffi.TaskDef(_PY_TASK_NAME, ctypes.cast(_PY_TASK_FN, c_void_p).value)
ffi.check(lib.weft_task_register(byref(_py_def)))


def _python_failure(job, err):
    """The callable's own exception (joblib re-raises it), else weft's error."""
    if err.index >= 0 and err.index in job.errors:
        return job.errors[err.index]
    return err


def _first_call_and_chunk(calls):
    """Many calls: run the first here and size chunks from its duration."""
    if len(calls) < 2 * CHUNK_MAX:
        return None, 0, 1
    f, args, kwargs = calls[0]
    t = time.perf_counter()
    first = f(*args, **kwargs)
    took = time.perf_counter() - t
    return first, 1, max(1, min(CHUNK_MAX, int(CHUNK_TARGET_S / max(took, 1e-7))))


def run_python(calls, return_as="list", **opts):
    """Run (f, args, kwargs) triples on weft's threads or sequentially."""
    backend = current_backend(opts)
    if backend and not backend_shares_memory(backend):
        raise errors.NotSupportedError(
            f"Python callables cannot run on backend '{backend}': its workers are other "
            f"processes that cannot call into this interpreter. Use backend='threads' (parallel "
            f"where the callable releases the GIL, as numpy does) or 'sequential', or write "
            f"the task in C and call weft.map.", code="WEFT_ENOSYS", errno=-9)
    calls = list(calls)
    first, start, chunk = _first_call_and_chunk(calls)
    job = _PyJob(calls, start, chunk)
    if start:
        job.results[0] = first
    n_items = job.items()
    with _py_lock:
        cid = _py_next[0]
        _py_next[0] += 1
    _py_jobs[cid] = job
    inputs = array.array("Q", [cid]) * (2 * n_items)
    inputs[1::2] = array.array("Q", range(n_items))
    address = inputs.buffer_info()[0] if n_items else None
    user_progress = opts.get("progress")
    if user_progress is not None and chunk > 1:
        def in_calls(p):  # weft counts chunks; the caller counts calls
            done = min(job.n, start + p.done * chunk) if p.done < n_items else job.n
            user_progress(p._replace(done=done, total=job.n))
        opts = dict(opts, progress=in_calls)
    call = _Call(opts)
    if return_as == "list":
        try:
            try:
                call.run(lib.weft_map, None, byref(_py_def), address, 16, n_items, None, 0)
            except errors.WeftError as err:
                raise _python_failure(job, err) from None
            return job.results
        finally:
            del _py_jobs[cid]
    ordered = return_as == "generator"
    io = ffi.IterOptions(1 if ordered else 0, 0, 0)

    def generate():
        try:
            if start:
                yield job.results[0]
                job.results[0] = None
            for item, _ in _iterate(call, lib.weft_imap_array,
                                    (None, byref(_py_def), address, 16, n_items, byref(io)),
                                    lambda r: None, False, keep=inputs):
                for i in job.span(item):
                    yield job.results[i]
                    job.results[i] = None  # the caller has it: memory stays flat
        except errors.WeftError as err:
            raise _python_failure(job, err) from None
        finally:
            _py_jobs.pop(cid, None)
    return generate()


# ---------------------------------------------------------------- scopes

def config_push(opts):
    o = ffi.options(**opts)
    ffi.check(lib.weft_config_push(byref(o)))
    return o  # keep it (its backend string) alive while the scope is open


def config_pop():
    ffi.check(lib.weft_config_pop())


def resolve_n_jobs(n):
    return ffi.check(lib.weft_resolve_n_jobs(n))


__all__ = ["map", "imap", "reduce", "load_tasks", "load_examples", "tasks", "backends",
           "run_python", "config_push", "config_pop", "version", "cpu_count"]

