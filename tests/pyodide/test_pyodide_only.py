"""What only the Pyodide engine has (run by run-tests.mjs after tests/python/test_portable.py):
asyncio cancellation, lists of numbers, weft.Memory as the JS API's `memory` option (a
cache folder in Node), use_module's checks. The blocking forms: test_blocking.py."""
import array
import asyncio
import os
import struct

import weft
from test_portable import raises, squares


async def test_cancelling_the_task_stops_the_call_and_weft_stays_usable():
    ms = array.array("i", [200] * 40)  # 8 s of py_sleep on 1 worker
    task = asyncio.ensure_future(weft.map_async("py_sleep", ms, out_size=4, n_jobs=1,
                                                batch_size=1))
    await asyncio.sleep(0.3)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the call was not cancelled")
    out = await weft.map_async("py_square", array.array("d", [4.0]), out_size=8, n_jobs=1)
    assert bytes(out) == squares([4.0])


async def test_timeout_raises_weft_timeout_error():
    e = await raises(weft.WeftTimeoutError, weft.map_async(
        "py_sleep", array.array("i", [200] * 20), out_size=4, n_jobs=1, batch_size=1,
        timeout=0.2))
    assert e.code == "WEFT_ETIMEDOUT"


async def test_lists_of_numbers():
    got = await weft.map_async("py_fail13", [1, 2, 3], out_size=8)
    assert struct.unpack("<3q", got) == (2, 3, 4)
    got = await weft.map_async("py_square", [0.5, 2], out_size=8)
    assert struct.unpack("<2d", got) == (1.25, 5.0)


async def test_memory_folder_in_node_gives_hits_on_the_second_call():
    folder = os.environ.get("WEFT_PYODIDE_CACHE")
    if not folder:
        raise AssertionError("run-tests.mjs sets WEFT_PYODIDE_CACHE (a fresh host folder)")
    mem = weft.Memory(folder)
    xs = array.array("d", [float(i) for i in range(50)])
    first = await weft.map_async("py_square", xs, out_size=8, memory=mem, n_jobs=2)
    assert mem.stats() == {"hits": 0, "misses": 50}
    again = await weft.map_async("py_square", xs, out_size=8, memory=mem, n_jobs=2)
    assert bytes(again) == bytes(first) == squares(list(xs))
    assert mem.stats() == {"hits": 50, "misses": 50}


async def test_memory_caches_c_calls_not_python_functions():
    mem = weft.Memory("indexeddb:x")
    try:
        mem.cache(lambda x: x)
    except weft.NotSupportedError as e:
        assert "map_async" in str(e)
    else:
        raise AssertionError("@mem.cache of a Python function in Pyodide")
    # Node has no IndexedDB: the JS API says so, as a WeftError
    e = await raises(weft.WeftError, weft.map_async("py_square", array.array("d", [1.0]),
                                                    out_size=8, memory=mem))
    assert e.code == "WEFT_ENOSYS"
    e = await raises(weft.WeftError, mem.import_async(b"WFA"))
    assert e.code == "WEFT_ENOSYS"
    await raises(TypeError, mem.import_async(42))
    await raises(weft.NotSupportedError, weft.Memory("/tmp/x").export_async())


async def test_reduce_c_reducer_names_the_python_fold():
    e = await raises(weft.NotSupportedError, weft.reduce_async(
        "py_square", array.array("d", [1.0]), "sum_f64", out_size=8))
    assert "reducer(acc, value)" in str(e)


async def test_use_module_checks_what_it_gets():
    for bad in ("no_such_js_module", ):
        try:
            weft.use_module(bad)
        except ImportError as e:
            assert "registerJsModule" in str(e)
        else:
            raise AssertionError("use_module accepted an unknown name")
    import js
    try:
        weft.use_module(js.Object.new())
    except TypeError as e:
        assert "not a weft module" in str(e)
    else:
        raise AssertionError("use_module accepted an object without map/imap/tasks")
    assert "py_square" in weft.tasks() and weft.backends() == ["workers", "sequential"]
