"""The Pyodide engine: weft's JavaScript API (wasm/js) through Pyodide's JS bridge.

weft's C code cannot be loaded into Pyodide's own WebAssembly module (another Emscripten),
so the page or Node script loads a weft module with the user's C tasks (weft's `load()`)
and hands it over with weft.use_module(...). Calls go to that object's map / imap:
Web Workers in a page, worker_threads in Node, or the calling thread ('sequential').

JavaScript is asynchronous, so the primary forms are map_async, imap (an async iterator)
and reduce_async. The blocking forms (map, reduce, iterating imap with `for`) need
Pyodide's run_sync, which needs JS Promise integration (JSPI) in the runtime; without it
they raise NotSupportedError naming the async form.
"""
import array
import asyncio
import importlib
import os
import time

from pyodide.ffi import JsException, can_run_sync, create_proxy, run_sync, to_js

import js

from .. import _validate, errors
from . import pyodide_buffers as buffers
from .progress import Progress

np = buffers.np

library_path = None
BACKENDS = ("workers", "sequential")
PROGRESS_EVERY_S = 0.05  # as native weft: at most every 50 ms, and at the end

_module = None     # the JS Weft object (weft's load()), set by use_module
_task_names = ()   # its task names, read once (a module's tasks do not change)
_scopes = []       # parallel_config scopes, innermost last


# ---------------------------------------------------------------- the module

def use_module(module):
    """Give Python the weft module that the page or Node script loaded (weft's `load()`):
    the JS object itself, or the name it was registered under with
    pyodide.registerJsModule. Returns its task names."""
    global _module, _task_names
    if isinstance(module, str):
        try:
            module = importlib.import_module(module)
        except ImportError:
            raise ImportError(f"weft.use_module: no JS module is registered as {module!r} "
                              f"(in JS: pyodide.registerJsModule({module!r}, await load(...)))"
                              ) from None
    for attr in ("map", "imap", "plan", "batches", "tasks"):
        if not hasattr(module, attr):
            raise TypeError(f"weft.use_module: {module!r} is not a weft module (the object "
                            f"weft's JavaScript load() returns): it has no '{attr}'")
    _module = module
    _task_names = tuple(sorted(str(t) for t in module.tasks))
    return tasks()


def _js():
    if _module is None:
        raise errors.NotSupportedError(
            "weft in Pyodide runs C tasks through weft's JavaScript API: load a weft module in "
            "the page or Node script (const w = await load({...})) and give it to Python with "
            "weft.use_module(w) (or pyodide.registerJsModule('weft_tasks', w) and "
            "weft.use_module('weft_tasks'))", code="WEFT_ENOSYS", errno=-9)
    return _module


def tasks():
    _js()
    return list(_task_names)


def backends():
    return list(BACKENDS)


def cpu_count():
    env = getattr(_module, "env", None) if _module is not None else None
    cpus = getattr(env, "cpus", None) if env is not None else None
    if cpus is None:
        cpus = getattr(getattr(js, "navigator", None), "hardwareConcurrency", None)
    return int(cpus or 1)


def resolve_n_jobs(n):
    if n is None:
        n = -1
    return n if n > 0 else max(1, cpu_count() + 1 + n)


def task_def(task):
    if not isinstance(task, str):
        raise TypeError(f"task must be a task name (str), got {type(task).__name__}")
    _js()
    if task not in _task_names:
        known = _task_names
        raise errors.UnknownTaskError(
            f"no task is registered under the name '{task}' (this module has: "
            f"{', '.join(known) or 'none'}; build yours into a module with "
            f"weft_add_wasm_module and give it to weft.use_module)", code="WEFT_ENOTASK",
            errno=-3, task=task)
    return task


def load_tasks(path):
    raise errors.NotSupportedError(
        f"weft.load_tasks({path!r}): Pyodide cannot load shared libraries; build the tasks "
        f"into a wasm module (weft_add_wasm_module) and give it to weft.use_module",
        code="WEFT_ENOSYS", errno=-9)


def load_examples():
    return load_tasks("libweft_examples.so")


# ---------------------------------------------------------------- options

def config_push(opts):
    _scopes.append({k: v for k, v in opts.items() if v is not None})
    return _scopes[-1]


def config_pop():
    if not _scopes:
        raise errors.ConfigError("parallel_config: no scope is open", code="WEFT_ECONFIG",
                                 errno=-11)
    _scopes.pop()


def _setting(opts, name, env_name):
    """An option: the call's, else the innermost scope's, else the environment's."""
    if opts.get(name) is not None:
        return opts[name]
    for scope in reversed(_scopes):
        if scope.get(name) is not None:
            return scope[name]
    value = os.environ.get(env_name)
    if value is None or value == "":
        return None
    if name == "n_jobs":
        try:
            return _validate.n_jobs(int(value))
        except (TypeError, ValueError):
            raise errors.EnvironmentValueError(
                f"{env_name}={value!r} is not a job count (-1, -2, or N > 0)", code="WEFT_ENV",
                errno=-8) from None
    return value


def _backend(opts, default="workers"):
    name = _setting(opts, "backend", "WEFT_BACKEND") or default
    if name not in BACKENDS:
        raise errors.UnknownBackendError(
            f"backend '{name}' is not available in Pyodide (backends: workers -- Web Workers "
            f"in a page, worker_threads in Node -- and sequential)", code="WEFT_ENOBACKEND",
            errno=-4)
    return name


def _unsupported(opts):
    for name in ("retries", "task_timeout"):
        if opts.get(name) is not None:
            raise errors.NotSupportedError(
                f"{name}= is not supported by weft's JavaScript API (Pyodide)",
                code="WEFT_ENOSYS", errno=-9)


# ---------------------------------------------------------------- one JS call

class _JsCall:
    """The JS options of one call, its progress proxy, its abort controller and the
    translation of what JS throws into weft's Python errors."""

    def __init__(self, task, size, n, out_size, opts, memory=None, ordered=True, n_items=None):
        _unsupported(opts)
        self.task = task_def(task)
        self.backend = _backend(opts)
        n_jobs = _setting(opts, "n_jobs", "WEFT_N_JOBS")
        self.controller = js.AbortController.new()
        self.user_progress = opts.get("progress")
        self.progress_error = None
        self.last_report = 0.0
        self.proxies = []
        self.memory = _memory_store(memory)
        self.timed_out = False
        o = {"inSize": size, "outSize": out_size, "out": js.Uint8Array,
             "backend": self.backend, "signal": self.controller.signal, "ordered": ordered}
        if size == 0:
            o["n"] = n
        if self.backend == "workers" and n_jobs is not None:
            o["nJobs"] = n_jobs
        batch = _setting(opts, "batch_size", "WEFT_BATCH_SIZE")
        if batch:
            o["batchSize"] = int(batch)
        if self.memory is not None:
            o["memory"] = self.memory.spec
        if self.user_progress is not None or self.memory is not None:
            proxy = create_proxy(self._on_progress)
            self.proxies.append(proxy)
            o["onProgress"] = proxy
        timeout = opts.get("timeout")
        if timeout is not None:
            proxy = create_proxy(self._on_timeout)
            self.proxies.append(proxy)
            self.timer = js.setTimeout(proxy, max(0.0, timeout) * 1000)
        self.options = to_js(o, dict_converter=js.Object.fromEntries)
        self.hits = self.misses = 0

    def _on_timeout(self, *_):
        self.timed_out = True
        self.controller.abort()

    def _on_progress(self, p):
        self.hits = int(getattr(p, "hits", 0) or 0)
        self.misses = int(getattr(p, "misses", 0) or 0)
        if self.user_progress is None:
            return
        done, total = int(p.done), int(p.total)
        now = time.monotonic()
        if done < total and now - self.last_report < PROGRESS_EVERY_S:
            return
        self.last_report = now
        elapsed = float(p.elapsedMs) / 1000
        remaining = elapsed * (total - done) / done if done else -1.0
        try:
            self.user_progress(Progress(done, total, elapsed, remaining))
        except BaseException as e:  # raised in the caller, not as a JS error
            self.progress_error = e
            raise

    def error(self, e):
        """What a JS rejection means in Python."""
        if self.progress_error is not None:
            return self.progress_error
        code = getattr(e, "code", None)
        aborted = getattr(e, "name", "") == "AbortError" or self.controller.signal.aborted
        if aborted and not (isinstance(code, str) and code.startswith("WEFT_")):
            if self.timed_out:
                return errors.WeftTimeoutError("the call timed out", code="WEFT_ETIMEDOUT",
                                               errno=-12)
            return errors.CancelledError("the call was cancelled", code="WEFT_ECANCELED",
                                         errno=-6)
        return from_js(e)

    def close(self):
        if hasattr(self, "timer"):
            js.clearTimeout(self.timer)
        if self.memory is not None:
            self.memory.count(self.hits, self.misses)
        for p in self.proxies:
            p.destroy()
        self.proxies = []


def from_js(e):
    """A JS error as Python's: a WeftError as its weft.errors class, TypeError and
    RangeError (weft's argument checks) as TypeError and ValueError."""
    code = getattr(e, "code", None)
    if isinstance(code, str) and code.startswith("WEFT_"):
        return errors.error_for(code, int(getattr(e, "errno", 0) or 0),
                                str(getattr(e, "message", e)), int(getattr(e, "index", -1)),
                                str(getattr(e, "task", "") or ""),
                                int(getattr(e, "status", 0) or 0))
    name = getattr(e, "name", "")
    message = str(getattr(e, "message", e))
    if name == "TypeError":
        return TypeError(message)
    if name == "RangeError":
        return ValueError(message)
    return e


def _memory_store(memory):
    if memory is None:
        return None
    store = getattr(memory, "_store", memory)
    if isinstance(memory, str):
        from . import pyodide_memory
        store = pyodide_memory.Store(memory)
    if store is None:
        return None  # Memory(None): no caching, as in joblib
    if not hasattr(store, "spec"):
        raise TypeError(f"memory must be a weft.Memory or a location, got {memory!r}")
    return store


async def _await(call, promise):
    try:
        return await promise
    except asyncio.CancelledError:
        call.controller.abort()
        raise
    except JsException as e:
        raise call.error(e) from None


# ---------------------------------------------------------------- map / imap / reduce

def _js_bytes(view, n):
    """The input bytes as one new JS Uint8Array: a single memcpy out of Pyodide's heap
    (to_js of a memoryview is several times slower). A copy, not a view of the heap: the
    heap's ArrayBuffer is replaced when Python's memory grows during the call."""
    if not n:
        return None
    u8 = js.Uint8Array.new(view.nbytes)
    u8.assign(view)
    return u8


async def map_async(task, inputs, out=None, *, out_dtype=None, out_shape=(), out_size=None,
                    item_size=None, memory=None, **opts):
    view, size, n = buffers.rows(inputs, item_size)
    if out is not None:
        target, each = buffers.out_view(out, n, out_size)
    elif out_dtype is not None:
        each = buffers.out_size_of(out_dtype, out_shape, size)
    elif out_size is not None:
        _validate.positive_int(out_size, "out_size", allow_none=False)
        each = out_size
    else:
        each = size  # weft's JS API: outputs as large as the inputs unless told
    call = _JsCall(task, size, n, each, opts, memory)
    try:
        result = await _await(call, _js().map(task, _js_bytes(view, n), call.options))
    finally:
        call.close()
    # the outputs: one JS Uint8Array, copied once (assign_to) into what the caller gets
    if out is not None:
        if n:
            result.assign_to(target)
        return out
    if out_dtype is not None or out_size is not None:
        raw = bytearray(n * each)
        if n:
            result.assign_to(raw)
        if out_size is not None and out_dtype is None:
            return raw
        shape = (out_shape,) if isinstance(out_shape, int) else tuple(out_shape)
        return np.frombuffer(raw, dtype=out_dtype).reshape((n,) + shape)
    raw = result.to_bytes()
    return [raw[i * each:(i + 1) * each] for i in range(n)]


class Imap:
    """weft.imap in Pyodide: an async iterator (`async for`), and a plain one (`for`)
    where run_sync can block. Results in input order, or (index, result) pairs in
    completion order with ordered=False. aclose() (or leaving `async for` early) stops the
    call. Inputs are read at once (weft's JS API takes them whole)."""

    def __init__(self, task, inputs, ordered, out_dtype, out_shape, item_size, memory, opts,
                 out_size=None):
        view, size, n = buffers.rows(list(inputs) if _is_lazy(inputs) else inputs, item_size)
        each = out_size if out_size is not None else \
            buffers.out_size_of(out_dtype, out_shape, size)
        self.decode = buffers.decoder(out_dtype, out_shape)
        self.ordered = ordered
        self.call = _JsCall(task, size, n, each, opts, memory, ordered=ordered)
        # whole batches (what the JS imap iterates): one await and one copy per batch,
        # not a promise and proxies per item
        weft_js = _js()
        try:
            self.it = weft_js.batches(weft_js.plan("imap", task, _js_bytes(view, n),
                                                   self.call.options))
        except JsException as e:  # the JS API's argument checks
            self.call.close()
            raise from_js(e) from None
        self.each = each
        self.raw, self.start, self.count, self.pos = b"", 0, 0, 0
        self.done = False

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.done:
            raise StopAsyncIteration
        while self.pos == self.count:  # the next batch
            try:
                step = await _await(self.call, self.it.next())
            except BaseException:
                await self.aclose()
                raise
            if step.done:
                self.done = True
                self.call.close()
                raise StopAsyncIteration
            b = step.value
            self.start, self.count, self.pos = int(b.start), int(b.count), 0
            self.raw = js.Uint8Array.new(b.output, 0, self.count * self.each).to_bytes()
        return self._take()

    def _take(self):
        """The next item of the batch at hand."""
        i = self.pos
        self.pos += 1
        value = self.decode(self.raw[i * self.each:(i + 1) * self.each])
        return value if self.ordered else (self.start + i, value)

    async def aclose(self):
        if not self.done:
            self.done = True
            self.call.controller.abort()
            try:
                await self.it.return_()  # JS iterator.return(): stops the call
            except JsException:
                pass
            self.call.close()

    def __iter__(self):
        return self

    def __next__(self):
        if not self.done and self.pos < self.count:
            return self._take()  # no need to block: the batch is here
        try:
            return _blocking(self.__anext__(), "imap", "async for x in weft.imap(...)")
        except StopAsyncIteration:
            raise StopIteration from None
        except errors.NotSupportedError:
            if not self.done:  # no JSPI: the call never started; free its proxies
                self.done = True
                self.call.close()
            raise

    def close(self):
        if not self.done:
            _blocking(self.aclose(), "imap", "await it.aclose()")


def _is_lazy(x):
    return not isinstance(x, (list, tuple, bytes, bytearray, memoryview, array.array)) and \
        not (np is not None and isinstance(x, np.ndarray)) and hasattr(x, "__iter__") and \
        not hasattr(x, "__buffer__") and not _has_buffer(x)


def _has_buffer(x):
    try:
        memoryview(x)
        return True
    except TypeError:
        return False


def imap(task, inputs, *, ordered=True, out_dtype=None, out_shape=(), item_size=None,
         window=0, memory=None, **opts):
    _validate.positive_int(window, "window")
    return Imap(task, inputs, ordered, out_dtype, out_shape, item_size, memory, opts)


async def reduce_async(task, inputs, reducer, *, out_size=None, item_size=None,
                       deterministic=False, dtype=None, initial=None, memory=None, **opts):
    """Fold the outputs in input order with a Python function reducer(acc, value) -> acc
    from `initial` (weft's JS API folds in input order: the same result for any n_jobs and
    backend). C reducers (a name) are not in weft's JS API."""
    if isinstance(reducer, str):
        raise errors.NotSupportedError(
            f"reducer '{reducer}': C reducers are not part of weft's JavaScript API; in "
            f"Pyodide pass a Python function reducer(acc, value) -> acc and initial=",
            code="WEFT_ENOSYS", errno=-9)
    if not callable(reducer):
        raise TypeError(f"reducer must be a function (acc, value) -> acc, got {reducer!r}")
    if out_size is not None:
        _validate.positive_int(out_size, "out_size", allow_none=False)
    it = Imap(task, inputs, True, dtype, (), item_size, memory, opts, out_size=out_size)
    acc = initial
    try:
        async for value in it:
            acc = reducer(acc, value)
    finally:
        await it.aclose()
    return acc


def _blocking(awaitable, name, async_form):
    if not can_run_sync():
        if hasattr(awaitable, "close"):
            awaitable.close()
        raise errors.NotSupportedError(
            f"weft.{name} blocks, which Pyodide can do only with JS Promise integration "
            f"(JSPI), absent here: use {async_form}", code="WEFT_ENOSYS", errno=-9)
    return run_sync(awaitable)


def map(task, inputs, out=None, **kw):
    return _blocking(map_async(task, inputs, out, **kw), "map", "await weft.map_async(...)")


def reduce(task, inputs, reducer, **kw):
    return _blocking(reduce_async(task, inputs, reducer, **kw), "reduce",
                     "await weft.reduce_async(...)")


# ---------------------------------------------------------------- Python callables

def run_python(calls, return_as="list", **opts):
    """Python callables run here, one at a time: Web Workers are other WebAssembly
    instances that cannot call into this interpreter."""
    backend = _setting(opts, "backend", "WEFT_BACKEND")
    if backend is not None and backend != "sequential":
        raise errors.NotSupportedError(
            f"Python callables cannot run on backend '{backend}' in Pyodide: its workers are "
            f"other WebAssembly instances that cannot call into this interpreter. Use "
            f"backend='sequential', or write the task in C and call weft.map_async.",
            code="WEFT_ENOSYS", errno=-9)
    calls = list(calls)
    progress = opts.get("progress")
    start = time.monotonic()

    def report(done):
        if progress is not None:
            elapsed = time.monotonic() - start
            progress(Progress(done, len(calls), elapsed,
                              elapsed * (len(calls) - done) / done if done else -1.0))

    def generate():
        for i, (f, args, kwargs) in enumerate(calls):
            yield f(*args, **kwargs)
            report(i + 1)
    if return_as == "list":
        return list(generate())
    return generate()


__all__ = ["use_module", "map", "map_async", "imap", "reduce", "reduce_async", "tasks",
           "backends", "cpu_count", "run_python", "config_push", "config_pop"]
