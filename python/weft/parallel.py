"""joblib's idiom for Python callables: Parallel, delayed, parallel_config.

Python callables run on weft's `threads` backend (in parallel where the callable releases
the GIL, as numpy does; otherwise one at a time, like joblib's threading backend) or
`sequential`. On `processes` they are refused with a clear error: weft's worker
processes run C code and cannot call into this interpreter.
"""
import contextvars
import functools

from . import _validate
from ._engine import engine

# the open parallel_config scopes' options, outermost first: the async forms re-open them
# on the thread they run on in CPython (weft's scopes belong to a thread)
scopes = contextvars.ContextVar("weft_parallel_config_scopes", default=())
_RETURN_AS = ("list", "generator", "generator_unordered")
# joblib's backend names, mapped onto weft's
_BACKEND_ALIASES = {"threading": "threads", "loky": "processes",
                    "multiprocessing": "processes"}


def _backend(name):
    name = _validate.backend(name)
    return _BACKEND_ALIASES.get(name, name)


def delayed(function):
    """delayed(f)(*args, **kwargs) -> (f, args, kwargs), as joblib's."""
    if not callable(function):
        raise TypeError(f"delayed: {function!r} is not callable")

    @functools.wraps(function)
    def capture(*args, **kwargs):
        return function, args, kwargs
    return capture


class Parallel:
    """Parallel(n_jobs=..., backend=..., return_as=..., verbose=...)(delayed(f)(x) for x in xs)

    backend: 'threads' (or joblib's 'threading') or 'sequential'; None follows
    parallel_config and WEFT_BACKEND. return_as: 'list' (results in input order),
    'generator' (input order, as they come), 'generator_unordered' (completion order).
    The first exception a callable raises is raised again here, and the calls not yet
    started are skipped.
    """

    def __init__(self, n_jobs=None, backend=None, return_as="list", verbose=0,
                 batch_size=None, timeout=None, prefer=None, require=None, progress=None):
        if backend is None and (prefer == "threads" or require == "sharedmem"):
            backend = "threads"  # joblib's soft hints; "processes" cannot run callables
        if return_as not in _RETURN_AS:
            raise ValueError(f"return_as must be one of {_RETURN_AS}, got {return_as!r}")
        if batch_size == "auto":
            batch_size = None
        self.return_as = return_as
        self.options = _validate.options(_backend(backend), n_jobs, batch_size,
                                         verbose or None, None, None, timeout, progress)

    def __call__(self, iterable):
        calls = []
        for i, item in enumerate(iterable):
            if not (isinstance(item, tuple) and len(item) == 3 and callable(item[0])):
                raise TypeError(f"Parallel: item {i} is not a delayed(f)(...) call: {item!r}")
            calls.append(item)
        return engine.run_python(calls, self.return_as, **self.options)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class parallel_config:
    """with parallel_config(backend="threads", n_jobs=2): ... -- weft's scoped
    configuration (weft_config_push/pop) for this thread: weft.map, Parallel and C code
    called from here inherit it; explicit arguments win."""

    def __init__(self, backend=None, n_jobs=None, verbose=None, batch_size=None):
        self.options = _validate.options(_backend(backend), n_jobs, batch_size, verbose)
        self._scope = None

    def __enter__(self):
        self._scope = engine.config_push(self.options)
        self._token = scopes.set(scopes.get() + (self.options,))
        return self

    def __exit__(self, *exc):
        engine.config_pop()
        scopes.reset(self._token)
        self._scope = None
        return False


parallel_backend = parallel_config  # joblib's older name
