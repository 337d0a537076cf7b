"""weft: joblib's words over weft's C library -- parallel maps of C tasks, Parallel/delayed
for Python callables, and a Memory whose entries the C API and the `weft` tool read.

    import weft, numpy as np
    weft.load_tasks("libmytasks.so")
    out = weft.map("simulate", params, out_dtype=np.float64, n_jobs=-1, backend="threads")

See python/README.md.
"""
from . import errors
from ._engine import NAME as engine_name
from ._engine import engine as _engine
from ._engine.progress import Progress
from ._validate import options as _options
from .errors import *  # noqa: F401,F403  (WeftError and one subclass per error code)
from .errors import NotSupportedError
from .memory import MemorizedFunc, MemorizedResult, Memory
from .parallel import Parallel, delayed, parallel_backend, parallel_config

__version__ = "0.1.0"
library_path = _engine.library_path
load_tasks = _engine.load_tasks
load_examples = _engine.load_examples
tasks = _engine.tasks
backends = _engine.backends
cpu_count = _engine.cpu_count


def map(task, inputs, out=None, *, out_dtype=None, out_shape=(), out_size=None,
        item_size=None, n_jobs=None, backend=None, batch_size=None, verbose=None,
        retries=None, task_timeout=None, timeout=None, progress=None):
    """Run a C task on every item of `inputs`; results in input order.

    inputs: a numpy array (its rows are the items, any dtype; C-contiguous ones are not
    copied), a bytes-like object (items of `item_size` bytes, or a memoryview's rows), or
    a list of bytes-likes (variable-size items). Results: written into `out` (an array
    with one row per item, or a writable buffer; returned), into a new array of
    `out_dtype` rows of `out_shape`, into a bytearray of `out_size`-byte items, or, with
    none of those, a list of bytes (variable-size outputs).

    progress: a callable given a weft.Progress (done, total, elapsed_s, remaining_s) at
    most every 50 ms and at the end, on one of weft's threads; an exception it raises
    stops the call and is raised here.
    """
    return _engine.map(task, inputs, out, out_dtype=out_dtype, out_shape=out_shape,
                       out_size=out_size, item_size=item_size,
                       **_options(backend, n_jobs, batch_size, verbose, retries, task_timeout,
                                  timeout, progress))


def imap(task, inputs, *, ordered=True, out_dtype=None, out_shape=(), item_size=None,
         window=0, n_jobs=None, backend=None, batch_size=None, verbose=None, retries=None,
         task_timeout=None, timeout=None, progress=None):
    """A generator of results as they come: in input order, or with ordered=False in
    completion order as (index, result) pairs. inputs as for map, or any iterable of
    bytes-likes (read lazily). At most `window` items are in flight; closing the
    generator early cancels the rest."""
    return _engine.imap(task, inputs, ordered=ordered, out_dtype=out_dtype,
                        out_shape=out_shape, item_size=item_size, window=window,
                        **_options(backend, n_jobs, batch_size, verbose, retries, task_timeout,
                                   timeout, progress))


def reduce(task, inputs, reducer, *, out_size=None, item_size=None, deterministic=False,
           dtype=None, initial=None, n_jobs=None, backend=None, batch_size=None, verbose=None,
           retries=None, task_timeout=None, timeout=None, progress=None):
    """Fold a C task's outputs. reducer: a C reducer's name (exported by a loaded library as
    `weft_reducer weft_reducer_<name>`; out_size bytes per output; CPython only) -- the
    accumulator as bytes, or a numpy value of `dtype`; deterministic=True: bit-identical for
    any n_jobs and backend -- or a Python function reducer(acc, value) -> acc folded in
    input order from `initial` (every engine; values as weft.imap gives them)."""
    opts = _options(backend, n_jobs, batch_size, verbose, retries, task_timeout, timeout,
                    progress)
    if engine_name == "pyodide":
        return _engine.reduce(task, inputs, reducer, out_size=out_size, item_size=item_size,
                              deterministic=deterministic, dtype=dtype, initial=initial,
                              **opts)
    if isinstance(reducer, str):
        if out_size is None:
            raise TypeError(f"weft.reduce: reducer '{reducer}' is a C reducer: pass out_size= "
                            f"(bytes per output of '{task}')")
        return _engine.reduce(task, inputs, reducer, out_size=out_size, item_size=item_size,
                              deterministic=deterministic, dtype=dtype, **opts)
    if not callable(reducer):
        raise TypeError(f"reducer must be a function (acc, value) -> acc or a C reducer's "
                        f"name, got {reducer!r}")
    acc = initial
    for value in _engine.imap(task, inputs, ordered=True, out_dtype=dtype, out_shape=(),
                              item_size=item_size, window=0, **opts):
        acc = reducer(acc, value)
    return acc


async def map_async(task, inputs, out=None, *, out_dtype=None, out_shape=(), out_size=None,
                    item_size=None, memory=None, n_jobs=None, backend=None, batch_size=None,
                    verbose=None, retries=None, task_timeout=None, timeout=None,
                    progress=None):
    """`await weft.map_async(...)`: weft.map as a coroutine. In Pyodide the primary form
    (weft's JavaScript API is asynchronous; `memory=` a weft.Memory or a location caches
    every item there); in CPython weft.map on a thread (memory= is Pyodide's only)."""
    opts = _options(backend, n_jobs, batch_size, verbose, retries, task_timeout, timeout,
                    progress)
    kw = dict(out_dtype=out_dtype, out_shape=out_shape, out_size=out_size,
              item_size=item_size, **opts)
    if engine_name == "pyodide":
        return await _engine.map_async(task, inputs, out, memory=memory, **kw)
    _no_memory(memory)
    return await _on_thread(_engine.map, task, inputs, out, **kw)


def imap_async(task, inputs, *, ordered=True, out_dtype=None, out_shape=(), item_size=None,
               window=0, memory=None, n_jobs=None, backend=None, batch_size=None,
               verbose=None, retries=None, task_timeout=None, timeout=None, progress=None):
    """weft.imap as an async iterator (`async for`), in every engine. In Pyodide it is
    weft.imap itself; in CPython each step runs on a thread."""
    opts = _options(backend, n_jobs, batch_size, verbose, retries, task_timeout, timeout,
                    progress)
    kw = dict(ordered=ordered, out_dtype=out_dtype, out_shape=out_shape, item_size=item_size,
              window=window, **opts)
    if engine_name == "pyodide":
        return _engine.imap(task, inputs, memory=memory, **kw)
    _no_memory(memory)
    return _threaded_iterator(_engine.imap(task, inputs, **kw))


async def _on_thread(fn, *args, **kwargs):
    """CPython's async forms: the blocking call on a thread, under the caller's
    parallel_config scopes (weft's scopes belong to a thread)."""
    import asyncio
    from .parallel import scopes

    def run():
        opened = []  # each scope's options struct must outlive the scope
        try:
            for options in scopes.get():
                opened.append(_engine.config_push(options))
            return fn(*args, **kwargs)
        finally:
            for _ in opened:
                _engine.config_pop()
    return await asyncio.to_thread(run)


async def _threaded_iterator(gen):
    done = object()
    try:
        while True:
            value = await _on_thread(next, gen, done)
            if value is done:
                return
            yield value
    finally:
        gen.close()


async def reduce_async(task, inputs, reducer, *, out_size=None, item_size=None,
                       deterministic=False, dtype=None, initial=None, memory=None,
                       n_jobs=None, backend=None, batch_size=None, verbose=None, retries=None,
                       task_timeout=None, timeout=None, progress=None):
    """`await weft.reduce_async(...)`. reducer: a Python function (acc, value) -> acc folded
    in input order from `initial` (every engine), or in CPython a C reducer's name as for
    weft.reduce."""
    opts = _options(backend, n_jobs, batch_size, verbose, retries, task_timeout, timeout,
                    progress)
    if engine_name == "pyodide":
        return await _engine.reduce_async(task, inputs, reducer, out_size=out_size,
                                          item_size=item_size, deterministic=deterministic,
                                          dtype=dtype, initial=initial, memory=memory, **opts)
    _no_memory(memory)
    if isinstance(reducer, str):
        return await _on_thread(_engine.reduce, task, inputs, reducer,
                                       out_size=out_size, item_size=item_size,
                                       deterministic=deterministic, dtype=dtype, **opts)
    if not callable(reducer):
        raise TypeError(f"reducer must be a function (acc, value) -> acc or a C reducer's "
                        f"name, got {reducer!r}")
    acc = initial
    async for value in imap_async(task, inputs, out_dtype=dtype, item_size=item_size,
                                  n_jobs=n_jobs, backend=backend, batch_size=batch_size,
                                  progress=progress):
        acc = reducer(acc, value)
    return acc


def _no_memory(memory):
    if memory is not None:
        raise NotSupportedError("memory= on map_async / imap_async is Pyodide's (weft's JS "
                                "API); in CPython use weft.Memory(...).call_task or "
                                "@mem.cache", code="WEFT_ENOSYS", errno=-9)


def use_module(module):
    """Pyodide: give Python the weft module (weft's JavaScript load()) whose C tasks
    map_async / imap / reduce_async run -- the JS object, or the name it was registered
    under with pyodide.registerJsModule. Returns its task names."""
    if engine_name != "pyodide":
        raise NotSupportedError("weft.use_module is for Pyodide (weft's JavaScript API); in "
                                "CPython load C tasks with weft.load_tasks('libmytasks.so')",
                                code="WEFT_ENOSYS", errno=-9)
    return _engine.use_module(module)


def effective_n_jobs(n_jobs=-1):
    """The number of workers n_jobs means here (-1: all CPUs this process may use)."""
    from ._validate import n_jobs as check
    return _engine.resolve_n_jobs(check(n_jobs))


__all__ = ["map", "imap", "reduce", "map_async", "imap_async", "reduce_async", "use_module",
           "load_tasks", "load_examples", "tasks", "backends", "cpu_count", "effective_n_jobs", "Parallel", "delayed", "parallel_config",
           "parallel_backend", "Memory", "MemorizedFunc", "MemorizedResult", "errors",
           "library_path", "engine_name", "Progress"] + errors.__all__
