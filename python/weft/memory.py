"""weft.Memory: joblib's Memory for Python functions, on weft's cache.

    mem = weft.Memory("cache-dir")
    @mem.cache
    def simulate(x, steps=100): ...

Arguments are bound to their names (f(1) and f(x=1) are one call) and keyed as weft's
typed arguments: int, float, bool, str, bytes; numpy arrays of int32/int64/float32/float64
hashed in place (XXH3, no pickling, no copy); other arrays as their raw bytes plus their
dtype and shape; any other object through pickle (protocol 4: a set or a dict built in
another order pickles differently). Results are pickled into weft's entries, so
`weft cache ls|show|stats` list them and WEFT_DEBUG=1 explains a miss argument by argument.
"""
import datetime
import functools
import inspect
import os
import pickle
import re

from ._engine import engine, memory_engine

_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _bytes_limit(value):
    if value is None:
        return 0
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)B?\s*", value.upper())
        if not m:
            raise ValueError(f"bytes_limit: cannot read {value!r} (e.g. 1000000, '500M', '2G')")
        return int(m.group(1)) * _SIZE_UNITS[m.group(2)]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"bytes_limit must be a non-negative int or a size such as '1G', "
                         f"got {value!r}")
    return value


def _seconds(value):
    if value is None:
        return 0.0
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return float(value)


class Memory:
    """Memory(location): a folder, 'memory:' (this process only), or None (no caching,
    as in joblib). bytes_limit / items_limit / age_limit apply on write and in
    reduce_size()."""

    def __init__(self, location=None, verbose=0, *, bytes_limit=None, items_limit=None,
                 age_limit=None, debug=None):
        self.verbose = verbose
        self._store = None
        if location is not None:
            if isinstance(location, os.PathLike):
                location = os.fspath(location)
            self._store = memory_engine.Store(
                location, max_bytes=_bytes_limit(bytes_limit),
                max_items=items_limit or 0, max_age=_seconds(age_limit), debug=debug)

    @property
    def location(self):
        return self._store.location if self._store else None

    def cache(self, func=None, *, ignore=None, version=None, name=None):
        """@mem.cache, or @mem.cache(ignore=[...], version="2", name=...)."""
        if func is None:
            return functools.partial(self.cache, ignore=ignore, version=version, name=name)
        if isinstance(func, MemorizedFunc):
            func = func.func
        return MemorizedFunc(self, func, ignore=ignore, version=version, name=name)

    def call_task(self, task, **arguments):
        """A C task through the cache, with typed arguments: (bytes, hit). A C program
        calling weft_memory_call with the same task and arguments finds the entry."""
        if self._store is None:
            raise ValueError("Memory(None) caches nothing: give it a location")
        return self._store.call(engine.task_def(task), arguments)

    def clear(self, warn=True):
        """Remove every entry."""
        if self._store:
            self._store.clear()

    def reduce_size(self, bytes_limit=None, items_limit=None, age_limit=None):
        """Expired entries first, then the least recently used, until under the limits
        (these, or the ones given to Memory). Returns how many entries were removed."""
        if self._store is None:
            return 0
        return self._store.prune(_bytes_limit(bytes_limit), items_limit or 0,
                                 _seconds(age_limit))

    def stats(self):
        """Counters of this handle: hits, misses, stores, saved_ns, hashed_bytes, ..."""
        return self._store.stats() if self._store else {}

    async def import_async(self, archive):
        """Pyodide, IndexedDB caches: store the entries of an archive that `weft cache
        export` (or export_async) wrote; returns {imported, skipped, corrupt, stale}."""
        return await self._archives("import_async").import_archive(archive)

    async def export_async(self, task=None):
        """Pyodide, IndexedDB caches: the entries (of one task, or all) as an archive that
        `weft cache import DIR FILE` reads (bytes)."""
        return await self._archives("export_async").export_archive(task)

    def _archives(self, what):
        if self._store is None or not hasattr(self._store, "import_archive"):
            from .errors import NotSupportedError
            raise NotSupportedError(f"Memory.{what} is for Pyodide's IndexedDB caches; a "
                                    f"cache folder moves with `weft cache export|import DIR "
                                    f"FILE`", code="WEFT_ENOSYS", errno=-9)
        return self._store

    def close(self):
        if self._store:
            self._store.close()

    def __repr__(self):
        return f"weft.Memory(location={self.location!r})"


class MemorizedFunc:
    """A cached function: call it as the function; check_call_in_cache, call_and_shelve,
    clear, as in joblib."""

    def __init__(self, memory, func, ignore=None, version=None, name=None):
        if not callable(func):
            raise TypeError(f"Memory.cache: {func!r} is not callable")
        self.func = func
        self.memory = memory
        self.signature = inspect.signature(func)
        self.ignore = list(ignore or [])
        params = self.signature.parameters
        for arg in self.ignore:
            if arg not in params:
                raise ValueError(f"ignore={self.ignore}: {func.__qualname__}() has no "
                                 f"argument '{arg}'")
        if name is None:
            name = f"{func.__module__}.{func.__qualname__}"
            code = getattr(func, "__code__", None)
            if "<lambda>" in name and code is not None:  # lambdas of one scope share a name
                name += f"-{code.co_firstlineno}"
        self.name = name
        if len(self.name.encode()) > 255:
            raise ValueError(f"task name longer than 255 bytes: {self.name[:60]}...")
        # the common case without inspect.bind: positional-or-keyword parameters only
        kinds = {p.kind for p in params.values()}
        self._simple = kinds <= {inspect.Parameter.POSITIONAL_OR_KEYWORD}
        self._names = list(params)
        self._defaults = [p.default for p in params.values()]
        self.version = version if version is not None else memory_engine.source_version(func)
        self._def = None
        self._encoder = None
        functools.update_wrapper(self, func)
        store = memory._store
        if store is not None:
            self._def = memory_engine.python_task(self.name)
            store.set_version(self.name, str(self.version))
            for arg in self.ignore:
                store.ignore(self.name, arg)
            if self._simple:  # with the defaults of the trailing parameters that have one
                first = len(self._defaults)
                while first and self._defaults[first - 1] is not inspect.Parameter.empty:
                    first -= 1
                self._encoder = memory_engine.scalar_encoder(self._names,
                                                             self._defaults[first:])

    def _arguments(self, args, kwargs):
        if self._simple and not kwargs and len(args) <= len(self._names):
            n = len(args)
            if all(d is not inspect.Parameter.empty for d in self._defaults[n:]):
                out = dict(zip(self._names, args))
                for name, default in zip(self._names[n:], self._defaults[n:]):
                    out[name] = default
                return out
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.func.__qualname__}(): {e}") from None
        bound.apply_defaults()
        return bound.arguments

    def _pending(self, args, kwargs):
        return memory_engine.PendingCall(self.func, args, kwargs)

    def _call(self, store, args, kwargs):
        """(result, hit)."""
        pending = memory_engine.PendingCall(self.func, args, kwargs)
        arguments = None
        # the hot path: scalars, encoded here and handed over in one piece
        if self._encoder is not None:
            if kwargs:  # bound: a simple signature's values come in its order
                arguments = self._arguments(args, kwargs)
                args = tuple(arguments.values())
            encoding = self._encoder.encode(args)
            if encoding is not None:
                value, hit = store.call_encoded(self._def, encoding, pending)
                return pickle.loads(value), hit
        if arguments is None:
            arguments = self._arguments(args, kwargs)
        value, hit = store.call(self._def, arguments, pending)
        return pickle.loads(value), hit

    def __call__(self, *args, **kwargs):
        store = self.memory._store
        if store is None:
            return self.func(*args, **kwargs)
        return self._call(store, args, kwargs)[0]

    def call(self, *args, **kwargs):
        """(result, hit): the call and whether it came from the cache."""
        store = self.memory._store
        if store is None:
            return self.func(*args, **kwargs), False
        return self._call(store, args, kwargs)

    def check_call_in_cache(self, *args, **kwargs):
        store = self.memory._store
        return bool(store) and store.check(self._def, self._arguments(args, kwargs))

    def call_and_shelve(self, *args, **kwargs):
        """Compute (or find) the result, store it, and return a small handle whose .get()
        loads it, here or in another process."""
        store = self.memory._store
        if store is None:
            return NotMemorizedResult(self.func(*args, **kwargs))
        ref = store.shelve(self._def, self._arguments(args, kwargs), self._pending(args, kwargs))
        return MemorizedResult(self.memory, ref)

    def key(self, *args, **kwargs):
        """The cache key of a call (32 hex digits), as `weft cache ls` shows it."""
        return self.memory._store.key(self._def, self._arguments(args, kwargs))

    def clear(self, warn=True):
        """Remove this function's entries."""
        if self.memory._store:
            self.memory._store.clear(self.name)

    def __repr__(self):
        return f"MemorizedFunc({self.name}, version={self.version!r}, {self.memory!r})"


class MemorizedResult:
    def __init__(self, memory, ref):
        self.memory = memory
        self.ref = ref

    def get(self):
        return pickle.loads(self.memory._store.load(self.ref))

    def __str__(self):
        return memory_engine.Store.shelf_text(self.ref)

    def __repr__(self):
        return f"MemorizedResult({self})"


class NotMemorizedResult:
    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value
