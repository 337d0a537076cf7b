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
from ._engine.interrupt import Progress
from ._validate import options as _options
from .errors import *  # noqa: F401,F403  (WeftError and one subclass per error code)
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


def reduce(task, inputs, reducer, *, out_size, item_size=None, deterministic=False,
           dtype=None, n_jobs=None, backend=None, batch_size=None, verbose=None,
           retries=None, task_timeout=None, timeout=None, progress=None):
    """Fold a C task's outputs (out_size bytes each) with a C reducer exported by a loaded
    library as `weft_reducer weft_reducer_<name>`. The accumulator as bytes, or as a numpy
    value of `dtype`. deterministic=True: bit-identical for any n_jobs and backend."""
    return _engine.reduce(task, inputs, reducer, out_size=out_size, item_size=item_size,
                          deterministic=deterministic, dtype=dtype,
                          **_options(backend, n_jobs, batch_size, verbose, retries,
                                     task_timeout, timeout, progress))


def effective_n_jobs(n_jobs=-1):
    """The number of workers n_jobs means here (-1: all CPUs this process may use)."""
    from ._validate import n_jobs as check
    return _engine.resolve_n_jobs(check(n_jobs))


__all__ = ["map", "imap", "reduce", "load_tasks", "load_examples", "tasks", "backends",
           "cpu_count", "effective_n_jobs", "Parallel", "delayed", "parallel_config",
           "parallel_backend", "Memory", "MemorizedFunc", "MemorizedResult", "errors",
           "library_path", "engine_name", "Progress"] + errors.__all__
