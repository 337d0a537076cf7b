"""weft.map / imap / reduce on bytes-likes and lists of bytes: no numpy needed."""
import array
import struct

import pytest
import weft


def test_array_array_rows(backend):
    xs = array.array("d", [float(i) for i in range(100)])
    out = array.array("d", [0.0]) * 100
    assert weft.map("py_square", xs, out, backend=backend, n_jobs=2) is out
    assert list(out) == [i * i + 1.0 for i in range(100)]


def test_bytes_with_item_size_and_out_size(backend):
    raw = struct.pack("<4d", 1, 2, 3, 4)
    out = weft.map("py_square", raw, item_size=8, out_size=8, backend=backend)
    assert isinstance(out, bytearray)
    assert struct.unpack("<4d", out) == (2.0, 5.0, 10.0, 17.0)
    with pytest.raises(ValueError, match="whole number"):
        weft.map("py_square", raw[:-1], item_size=8, out_size=8)


def test_list_of_bytes_gives_list_of_bytes(backend):
    items = [b"", b"a", b"hello", bytearray(b"xy"), memoryview(b"abcdef")[::2]]
    assert weft.map("py_repeat", items, backend=backend) == [
        b"", b"aa", b"hellohello", b"xyxy", b"aceace"]


def test_fixed_rows_variable_outputs_as_bytes():
    out = weft.map("py_square", array.array("d", [2.0, 3.0]))
    assert [struct.unpack("<d", b)[0] for b in out] == [5.0, 10.0]


def test_empty_inputs(backend):
    assert weft.map("py_repeat", [], backend=backend) == []
    assert len(weft.map("py_square", array.array("d"), out_size=8, backend=backend)) == 0


def test_imap_ordered_and_unordered(backend):
    xs = array.array("d", [float(i) for i in range(50)])
    got = [struct.unpack("<d", b)[0] for b in weft.imap("py_square", xs, backend=backend)]
    assert got == [i * i + 1.0 for i in range(50)]
    pairs = list(weft.imap("py_square", xs, ordered=False, backend=backend, n_jobs=2))
    assert sorted(i for i, _ in pairs) == list(range(50))
    assert all(struct.unpack("<d", b)[0] == i * i + 1.0 for i, b in pairs)


def test_imap_lazy_source_is_a_generator(backend):
    pulled = []

    def source():
        for i in range(30):
            pulled.append(i)
            yield str(i).encode()
    it = weft.imap("py_repeat", source(), backend=backend, window=4)
    assert pulled == []  # nothing read before the first result is asked for
    assert next(it) == b"00"
    assert len(pulled) < 30
    assert list(it)[-1] == b"2929"


def test_imap_source_errors():
    def bad():
        yield b"ok"
        raise RuntimeError("source broke")
    with pytest.raises(RuntimeError, match="source broke"):
        list(weft.imap("py_repeat", bad()))
    with pytest.raises(TypeError, match=r"inputs\[1\]"):
        list(weft.imap("py_repeat", iter([b"a", 5])))


def test_imap_failure_and_early_close(backend):
    xs = array.array("q", range(40))
    with pytest.raises(weft.TaskError) as info:
        list(weft.imap("py_fail13", xs, backend=backend))
    assert info.value.index == 13
    it = weft.imap("py_sleep", array.array("i", [5] * 1000), backend=backend, n_jobs=2)
    next(it)
    it.close()  # cancels the rest without waiting for 1000 * 5 ms


def test_reduce_with_c_reducer(backend):
    xs = array.array("d", [float(i) for i in range(1000)])
    want = sum(i * i + 1.0 for i in range(1000))
    raw = weft.reduce("py_square", xs, "sum_f64", out_size=8, backend=backend, n_jobs=2)
    assert struct.unpack("<d", raw)[0] == want
    det = [weft.reduce("py_square", xs, "sum_f64", out_size=8, deterministic=True,
                       backend=backend, n_jobs=n) for n in (1, 2)]
    assert det[0] == det[1]
    count, total, lo, hi = struct.unpack(
        "<4d", weft.reduce("py_square", xs, "stats_f64", out_size=8, backend=backend))
    assert (count, total, lo, hi) == (1000, want, 1.0, 999.0 ** 2 + 1)


def test_reduce_with_a_python_fold(backend):
    """The blocking weft.reduce with a Python fold: as in Pyodide (tests/pyodide/test_blocking.py)."""
    xs = array.array("d", [i * 0.37 - 5 for i in range(300)])
    total = weft.reduce("py_square", xs, lambda acc, v: acc + struct.unpack("<d", v)[0],
                        initial=0.0, backend=backend, n_jobs=2, batch_size=7)
    want = 0.0
    for x in xs:
        want += x * x + 1
    assert total == want
    with pytest.raises(TypeError, match="reducer must be a function"):
        weft.reduce("py_square", xs, 42, initial=0.0)
    with pytest.raises(TypeError, match="pass out_size="):
        weft.reduce("py_square", xs, "sum_f64")


def test_reduce_unknown_reducer():
    with pytest.raises(weft.UnknownTaskError, match="weft_reducer_nope"):
        weft.reduce("py_square", array.array("d", [1.0]), "nope", out_size=8)


def test_progress_callback(backend):
    seen = []
    xs = array.array("i", [2] * 100)  # 100 tasks of 2 ms
    weft.map("py_sleep", xs, out_size=4, backend=backend, n_jobs=2, progress=seen.append)
    assert seen and all(isinstance(p, weft.Progress) for p in seen)
    assert seen[-1].done == 100 and seen[-1].total == 100
    assert [p.done for p in seen] == sorted(p.done for p in seen)


def test_progress_callback_exception_stops_the_call(backend):
    def stop(p):
        if p.done >= 10:
            raise RuntimeError("enough")
    xs = array.array("i", [5] * 400)  # 2 s of work at least
    with pytest.raises(RuntimeError, match="enough"):
        weft.map("py_sleep", xs, out_size=4, backend=backend, n_jobs=2, progress=stop)
    with pytest.raises(RuntimeError, match="enough"):
        list(weft.imap("py_sleep", xs, backend=backend, n_jobs=2, progress=stop))
    with pytest.raises(TypeError, match="progress"):
        weft.map("py_sleep", xs, out_size=4, progress=3)
