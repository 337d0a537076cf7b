"""weft.Memory in Pyodide: a cache location for C task calls through weft's JS API.

Give the Memory to weft.map_async / weft.imap (memory=mem): every item is cached by the
C core with the native keys and entry format, in IndexedDB ('indexeddb:NAME', browsers)
or in a cache folder on the host's file system (Node: the path is Node's, not Pyodide's
virtual one). Caching Python functions (@mem.cache) needs weft's synchronous C store in
this interpreter, which Pyodide does not have: it raises NotSupportedError.
"""
from .. import errors


def _refuse(what):
    raise errors.NotSupportedError(
        f"weft.Memory: {what} caches Python functions, which needs weft's C library in this "
        f"interpreter (CPython); in Pyodide a Memory caches C task calls: "
        f"await weft.map_async(task, inputs, memory=mem)", code="WEFT_ENOSYS", errno=-9)


class Store:
    """A location and this handle's hit/miss counters (from the calls' progress reports)."""

    def __init__(self, location, max_bytes=0, max_items=0, max_age=0.0, debug=None):
        if not isinstance(location, str) or not location:
            raise TypeError(f"Memory: location must be 'indexeddb:NAME' or a folder path, "
                            f"got {location!r}")
        if location == "memory:":
            raise errors.NotSupportedError(
                "Memory('memory:') is not supported in Pyodide: use 'indexeddb:NAME' in a "
                "browser or a folder in Node", code="WEFT_ENOSYS", errno=-9)
        if max_bytes or max_items or max_age:
            raise errors.NotSupportedError(
                "Memory limits (bytes_limit, items_limit, age_limit) are not supported by "
                "weft's JavaScript API", code="WEFT_ENOSYS", errno=-9)
        self.location = self.spec = location
        self.counters = {"hits": 0, "misses": 0}

    def count(self, hits, misses):
        self.counters["hits"] += hits
        self.counters["misses"] += misses

    def stats(self):
        return dict(self.counters)

    def _handle(self, what):
        if not self.spec.startswith("indexeddb:"):
            raise errors.NotSupportedError(
                f"Memory.{what} is for IndexedDB caches ('indexeddb:NAME'); a cache folder "
                f"moves with the weft tool: weft cache export|import DIR FILE",
                code="WEFT_ENOSYS", errno=-9)
        from . import pyodide as engine
        return engine, engine._js().memory(self.spec)

    async def import_archive(self, archive):
        engine, handle = self._handle("import_async")
        from pyodide.ffi import JsException, to_js
        try:
            view = memoryview(archive).cast("B")
        except TypeError:
            raise TypeError(f"Memory.import_async: expected the archive's bytes, got "
                            f"{type(archive).__name__}") from None
        try:
            stats = await getattr(handle, "import")(to_js(view))
        except JsException as e:
            raise engine.from_js(e) from None
        return {k: int(getattr(stats, k)) for k in ("imported", "skipped", "corrupt", "stale")}

    async def export_archive(self, task=None):
        engine, handle = self._handle("export_async")
        from pyodide.ffi import JsException
        import js
        try:
            buffer = await handle.export(task)
        except JsException as e:
            raise engine.from_js(e) from None
        return js.Uint8Array.new(buffer).to_bytes()

    def call(self, *args, **kwargs):
        _refuse("call_task / a cached function")

    check = shelve = load = key = call

    def set_version(self, name, version):
        _refuse("@mem.cache")

    def ignore(self, name, arg):
        _refuse("@mem.cache")

    def clear(self, task=None):
        raise errors.NotSupportedError(
            "Memory.clear in Pyodide: use the JS API's weft.memory(spec).clear() (IndexedDB) "
            "or remove the folder", code="WEFT_ENOSYS", errno=-9)

    def prune(self, *limits):
        return 0

    def close(self):
        pass

    @staticmethod
    def shelf_text(ref):
        return str(ref)


def python_task(name):
    _refuse("@mem.cache")


def source_version(func):
    return ""
