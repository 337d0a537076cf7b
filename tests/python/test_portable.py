"""The portable part of the suite: the same assertions on every engine.

CPython: pytest runs these (conftest.py runs `async def` tests on a fresh event loop),
with the tasks of tasks.c from libweft_pytasks.so. Pyodide: tests/pyodide/run-tests.mjs
runs them in Node with the same tasks.c built into a wasm module for weft's JavaScript
API (weft.use_module). No pytest import: Pyodide has none offline; plain asserts.
Expected values are computed here in Python, so equal results are equal bits.
"""
import array
import struct
import unittest

import weft

PYODIDE = weft.engine_name == "pyodide"
PARALLEL = "workers" if PYODIDE else "threads"
BACKENDS = ["sequential", PARALLEL]


async def raises(cls, awaitable):
    try:
        await awaitable
    except cls as e:
        return e
    raise AssertionError(f"{cls.__name__} was not raised")


def squares(xs):
    return struct.pack(f"<{len(xs)}d", *[x * x + 1 for x in xs])


async def test_map_into_buffers_bit_for_bit():
    xs = [i * 0.37 - 5 for i in range(300)]
    for backend in BACKENDS:
        out = array.array("d", bytes(8 * len(xs)))
        got = await weft.map_async("py_square", array.array("d", xs), out, backend=backend,
                                   n_jobs=2)
        assert got is out
        assert out.tobytes() == squares(xs), backend
        raw = await weft.map_async("py_square", struct.pack("<300d", *xs), out_size=8,
                                   item_size=8, backend=backend, n_jobs=2)
        assert isinstance(raw, bytearray) and bytes(raw) == squares(xs), backend


async def test_input_kinds_agree():
    xs = [1.5, -2.0, 3.25, 1e100]
    want = squares(xs)
    a = array.array("d", xs)
    for inputs in (a, a.tobytes(), memoryview(a), bytearray(a.tobytes())):
        got = await weft.map_async("py_square", inputs, out_size=8, item_size=8)
        assert bytes(got) == want, type(inputs).__name__
    if PYODIDE:  # lists of numbers: float64 items (Pyodide only: no to_js by the user)
        got = await weft.map_async("py_square", xs, out_size=8)
        assert bytes(got) == want


async def test_buffer_rows_as_numpy_arrays_give_them():
    """The buffer protocol numpy arrays speak, without numpy (Pyodide offline has none;
    test_numpy.py runs the Pyodide engine's numpy path on CPython): a 2-D C-contiguous
    buffer is rows, a strided one is copied into rows."""
    flat = array.array("d", [i * 0.25 - 3 for i in range(24)])
    rows = memoryview(flat).cast("B").cast("d", (12, 2))   # 12 items of 16 bytes
    out = await weft.map_async("py_double_row", rows, out_size=16, n_jobs=2)
    assert bytes(out) == struct.pack("<24d", *[2 * x for x in flat])
    into = array.array("d", bytes(8 * 24))
    got = await weft.map_async("py_double_row", rows, memoryview(into).cast("B").cast(
        "d", (12, 2)), n_jobs=2)
    assert into.tobytes() == bytes(out) and got.shape == (12, 2)
    strided = memoryview(flat)[::2]                        # 12 items of 8 bytes, not contiguous
    got = await weft.map_async("py_square", strided, out_size=8, n_jobs=2)
    assert bytes(got) == squares(list(flat)[::2])
    try:
        await weft.map_async("py_square", rows, out_size=8, item_size=40)
    except ValueError as e:
        assert "40-byte items" in str(e)
    else:
        raise AssertionError("a 192-byte buffer split into 40-byte items")


async def test_list_of_bytes_gives_list_of_bytes():
    items = [struct.pack("<d", x) for x in (2.0, 3.0)]
    got = await weft.map_async("py_square", items)
    assert got == [struct.pack("<d", 5.0), struct.pack("<d", 10.0)]


async def test_task_failure_carries_index_task_message():
    xs = array.array("q", range(40))
    for backend in BACKENDS:
        e = await raises(weft.TaskError, weft.map_async("py_fail13", xs, out_size=8,
                                                        backend=backend, n_jobs=2))
        assert isinstance(e, weft.WeftError)
        assert (e.index, e.task, e.code, e.errno) == (13, "py_fail13", "WEFT_ETASK", -5)
        assert "unlucky 13" in e.message and "unlucky 13" in str(e)


async def test_wrong_output_size():
    e = await raises(weft.OutputSizeError, weft.map_async(
        "py_square", array.array("d", [1.0, 2.0]), out_size=4))
    assert e.code == "WEFT_EOUTSIZE"


async def test_bad_arguments_fail_before_work():
    await raises(weft.UnknownTaskError, weft.map_async("nope", array.array("d", [1.0]),
                                                       out_size=8))
    await raises(ValueError, weft.map_async("py_square", array.array("d", [1.0]),
                                            out_size=8, n_jobs=0))
    await raises(TypeError, weft.map_async("py_square", array.array("d", [1.0]),
                                           out_size=8, n_jobs="2"))
    await raises(weft.UnknownBackendError, weft.map_async(
        "py_square", array.array("d", [1.0]), out_size=8, backend="gpu"))
    await raises(ValueError, weft.map_async("py_square", array.array("d", [1.0, 2.0]),
                                            bytearray(8), out_size=8))
    await raises(TypeError, weft.map_async("py_square", object(), out_size=8))


async def test_imap_async_in_order_and_as_finished():
    xs = [float(i) for i in range(64)]
    for backend in BACKENDS:
        got = [r async for r in weft.imap_async("py_square", array.array("d", xs),
                                                backend=backend, n_jobs=2, batch_size=4)]
        assert b"".join(got) == squares(xs)
        pairs = [p async for p in weft.imap_async("py_square", array.array("d", xs),
                                                  ordered=False, backend=backend, n_jobs=2,
                                                  batch_size=4)]
        assert sorted(i for i, _ in pairs) == list(range(64))
        assert all(v == squares([xs[i]]) for i, v in pairs)


async def test_imap_async_closed_early_then_usable():
    it = weft.imap_async("py_square", array.array("d", range(1000)), n_jobs=2, batch_size=8)
    first = [v async for _, v in _take(it, 3)]
    assert first == [squares([0.0]), squares([1.0]), squares([2.0])]
    await it.aclose()
    out = await weft.map_async("py_square", array.array("d", [3.0]), out_size=8)
    assert bytes(out) == squares([3.0])


async def _take(it, n):
    i = 0
    async for v in it:
        yield i, v
        i += 1
        if i == n:
            return


async def test_imap_failure_has_index():
    e = await raises(weft.TaskError, _drain(weft.imap_async(
        "py_fail13", array.array("q", range(30)), n_jobs=2, batch_size=2)))
    assert e.index == 13


async def _drain(it):
    return [v async for v in it]


async def test_reduce_async_with_a_python_fold():
    xs = [float(i) for i in range(200)]
    for backend in BACKENDS:
        total = await weft.reduce_async(
            "py_square", array.array("d", xs), lambda acc, v: acc + struct.unpack("<d", v)[0],
            initial=0.0, backend=backend, n_jobs=2)
        want = 0.0
        for x in xs:
            want += x * x + 1
        assert total == want


async def test_progress_reports_reach_the_total():
    seen = []
    await weft.map_async("py_square", array.array("d", range(500)), out_size=8, n_jobs=2,
                         batch_size=10, progress=seen.append)
    assert seen and isinstance(seen[-1], weft.Progress)
    assert (seen[-1].done, seen[-1].total) == (500, 500)
    assert all(a.done <= b.done for a, b in zip(seen, seen[1:]))


async def test_progress_exception_stops_the_call():
    class Stop(Exception):
        pass

    def progress(p):
        raise Stop("enough")
    await raises(Stop, weft.map_async("py_square", array.array("d", range(100)), out_size=8,
                                      batch_size=5, progress=progress))


async def test_parallel_config_scope():
    with weft.parallel_config(backend="sequential"):
        out = await weft.map_async("py_square", array.array("d", [2.0]), out_size=8)
    assert bytes(out) == squares([2.0])
    with weft.parallel_config(backend="gpu"):
        await raises(weft.UnknownBackendError,
                     weft.map_async("py_square", array.array("d", [2.0]), out_size=8))


async def test_parallel_callables():
    got = weft.Parallel(n_jobs=2, backend="sequential")(weft.delayed(pow)(i, 2)
                                                        for i in range(10))
    assert got == [i * i for i in range(10)]


async def test_numpy_rows_and_dtypes():
    try:
        import numpy as np
    except ImportError:  # numpy is optional; Pyodide offline has none (see test_numpy.py)
        raise unittest.SkipTest("no numpy here") from None
    pts = np.zeros(5, dtype=[("id", "<i4"), ("pad", "<i4"), ("x", "<f8"), ("y", "<f8")])
    pts["id"] = np.arange(5)
    pts["x"] = np.linspace(0, 1, 5)
    pts["y"] = 2.0
    out = await weft.map_async("py_point", pts, out_dtype=[("n", "<f8"), ("id", "<i8")])
    assert (out["id"] == np.arange(5)).all()
    assert (out["n"] == pts["x"] ** 2 + 4.0).all()
