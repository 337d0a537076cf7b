"""weft.map / imap / reduce with numpy arrays: rows as items, any dtype, no copies."""
import pytest
import weft

np = pytest.importorskip("numpy")


def test_rows_in_and_out_in_place(backend):
    x = np.arange(40.0)
    out = np.zeros(40)
    assert weft.map("py_square", x, out, backend=backend, n_jobs=2) is out
    np.testing.assert_array_equal(out, x * x + 1)
    new = weft.map("py_square", x, out_dtype=np.float64, backend=backend)
    np.testing.assert_array_equal(new, x * x + 1)


def test_two_dimensional_rows(backend):
    x = np.arange(30.0).reshape(10, 3)
    y = weft.map("py_double_row", x, out_dtype="f8", out_shape=(3,), backend=backend)
    assert y.shape == (10, 3)
    np.testing.assert_array_equal(y, 2 * x)


def test_zero_copy_input_and_output():
    x = np.arange(8.0)
    out = np.zeros(8)
    before = (x.ctypes.data, out.ctypes.data)
    weft.map("py_square", x, out)
    assert (x.ctypes.data, out.ctypes.data) == before
    # a view into a bigger array is written through: no hidden copy of `out`
    big = np.zeros((2, 8))
    weft.map("py_square", x, big[1])
    np.testing.assert_array_equal(big[1], x * x + 1)
    np.testing.assert_array_equal(big[0], 0)


def test_structured_dtype_in_and_out(backend):
    point = np.dtype([("id", "<i4"), ("pad", "<i4"), ("x", "<f8"), ("y", "<f8")])
    result = np.dtype([("norm2", "<f8"), ("id", "<i8")])
    pts = np.zeros(25, dtype=point)
    pts["id"] = np.arange(25)
    pts["x"] = np.arange(25) * 0.5
    pts["y"] = 2.0
    out = weft.map("py_point", pts, out_dtype=result, backend=backend, n_jobs=2)
    np.testing.assert_array_equal(out["id"], np.arange(25))
    np.testing.assert_allclose(out["norm2"], pts["x"] ** 2 + 4.0)


def test_example_simulate_sir_on_structured_points():
    point = np.dtype([("beta", "<f8"), ("gamma", "<f8"), ("seed", "<u8"), ("replicates", "<i4"),
                      ("_pad", "<i4")])
    result = np.dtype([("attack_rate", "<f8"), ("peak", "<f8"), ("days", "<f8"),
                       ("major", "<f8")])
    pts = np.zeros(4, dtype=point)
    pts["beta"], pts["gamma"], pts["seed"], pts["replicates"] = 0.5, 0.2, np.arange(4) + 1, 2
    a = weft.map("simulate_sir", pts, out_dtype=result, backend="threads", n_jobs=2)
    b = weft.map("simulate_sir", pts, out_dtype=result, backend="processes", n_jobs=2)
    assert a.tobytes() == b.tobytes()
    assert ((a["attack_rate"] > 0) & (a["attack_rate"] <= 1)).all()


def test_example_pi_darts_and_reduce():
    seeds = np.arange(200, dtype=np.uint64)
    pis = weft.map("pi_darts", seeds, out_dtype="f8", n_jobs=2)
    assert abs(pis.mean() - np.pi) < 0.01
    total = weft.reduce("pi_darts", seeds, "sum_f64", out_size=8, dtype="f8",
                        deterministic=True)
    assert total == pytest.approx(pis.sum(), rel=1e-12)
    assert isinstance(float(total), float)


def test_non_contiguous_input_is_copied_not_misread():
    x = np.arange(20.0)[::2]
    np.testing.assert_array_equal(weft.map("py_square", x, out_dtype="f8"), x * x + 1)


def test_bad_arrays():
    x = np.arange(4.0)
    with pytest.raises(ValueError, match="rows"):
        weft.map("py_square", x, np.zeros(3))
    with pytest.raises(ValueError, match="C-contiguous"):
        weft.map("py_square", x, np.zeros(8)[::2])
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        weft.map("py_square", x, ro)
    with pytest.raises(ValueError, match="0-d"):
        weft.map("py_square", np.zeros(()), out_dtype="f8")
    with pytest.raises(TypeError, match="Python objects"):
        weft.map("py_square", np.array([1, "a"], dtype=object), out_dtype="f8")
    # wrong dtype: 4-byte rows where the task wants 8 is the task's own clear failure
    with pytest.raises(weft.TaskError, match="expected 8 bytes"):
        weft.map("py_square", np.arange(4, dtype=np.float32), out_dtype="f8")
    # out rows of the wrong size: weft's own check
    with pytest.raises(weft.OutputSizeError):
        weft.map("py_square", x, np.zeros(4, dtype=np.float32))


def test_imap_with_dtype(backend):
    x = np.arange(30.0)
    got = list(weft.imap("py_square", x, out_dtype="f8", backend=backend))
    assert all(isinstance(v, np.float64) for v in got)
    np.testing.assert_array_equal(np.array(got), x * x + 1)
    rows = list(weft.imap("py_double_row", x.reshape(10, 3), out_dtype="f8", out_shape=3))
    np.testing.assert_array_equal(np.array(rows), 2 * x.reshape(10, 3))


def test_gil_released_while_weft_runs():
    import threading
    import time
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)
    t = threading.Thread(target=ticker)
    t.start()
    try:
        weft.map("py_sleep", np.full(4, 100, dtype=np.int32), out_dtype="i4",
                 backend="sequential")  # 0.4 s in C
    finally:
        stop.set()
        t.join()
    assert len(ticks) > 50


def test_pyodide_engine_reads_numpy_rows_as_the_native_engine():
    """Pyodide offline has no numpy (npm `pyodide` ships no wheels), so the Pyodide
    engine's numpy path (pyodide_buffers: rows in, out= rows, out_dtype decoding) is run
    here, on CPython with Debian's numpy: the same bytes, item size and count as the native
    engine hands to C, for every kind of array."""
    import ctypes

    from weft._engine import buffers as native, pyodide_buffers as pyo
    pts = np.zeros(4, dtype=[("id", "<i4"), ("pad", "<i4"), ("x", "<f8")])
    pts["id"], pts["x"] = np.arange(4), np.linspace(0, 1, 4)
    wide = np.arange(60.0).reshape(6, 10)
    for arr in (np.arange(7.5, dtype="<f4"), np.arange(12, dtype="<i8").reshape(4, 3),
                pts, wide[:, ::3], wide.T, np.asfortranarray(wide), np.array([], "f8"),
                np.arange(5, dtype=">u2")):
        view, size, n = pyo.rows(arr, None)
        r = native.rows(arr)
        assert (size, n) == (r.size, r.n), arr
        assert bytes(view) == (ctypes.string_at(r.address, r.size * r.n) if r.n else b""), arr
        assert bytes(view) == np.ascontiguousarray(arr).tobytes()
    for bad, err in ((np.float64(1.0), ValueError), (np.array([object()]), TypeError)):
        with pytest.raises(err):
            pyo.rows(np.asarray(bad), None)
    with pytest.raises(ValueError, match="item_size"):
        pyo.rows(wide, 16)
    out = np.zeros((6, 2))
    target, each = pyo.out_view(out, 6, None)
    assert each == 16 and target.nbytes == out.nbytes and not target.readonly
    target[:8] = np.float64(2.5).tobytes()  # written through: out= is filled in place
    assert out[0, 0] == 2.5
    with pytest.raises(ValueError, match="rows"):
        pyo.out_view(out, 5, None)
    with pytest.raises(ValueError, match="writable C-contiguous"):
        pyo.out_view(out.T, 2, None)
    dt = [("n", "<f8"), ("id", "<i8")]
    assert pyo.out_size_of(dt, (), 8) == 16 and pyo.out_size_of("f4", (2, 3), 8) == 24
    rec = np.array([(1.5, 7)], dtype=dt)
    assert pyo.decoder(dt, ())(rec.tobytes()) == rec[0]
    np.testing.assert_array_equal(pyo.decoder("<i4", 3)(b"\1\0\0\0\2\0\0\0\3\0\0\0"),
                                  [1, 2, 3])
