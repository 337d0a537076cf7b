"""The blocking forms (weft.map, weft.reduce, `for` over weft.imap) in Pyodide: with JS
Promise integration (JSPI: chromium, run by tests/browser/pyodide.test.mjs through
tests/browser/pages/pyodide-suite.html) they block through run_sync and give what the async
forms give; without it (Node 20, run by run-tests.mjs) they raise NotSupportedError naming
the async form. WEFT_EXPECT_JSPI (set by both runners) says which, so neither branch can
pass in place of the other."""
import array
import os
import struct
import unittest

from pyodide.ffi import can_run_sync

import weft
from test_portable import squares

XS = [i * 0.37 - 5 for i in range(300)]


def _jspi():
    expected = os.environ.get("WEFT_EXPECT_JSPI")
    if expected not in ("0", "1"):
        raise AssertionError("the runner sets WEFT_EXPECT_JSPI to 1 (chromium) or 0 (Node)")
    assert can_run_sync() == (expected == "1"), f"can_run_sync() is {can_run_sync()}"
    return expected == "1"


def _needs_jspi():
    if not _jspi():
        raise unittest.SkipTest("no JSPI here: the blocking forms must raise (tested below)")


async def test_blocking_map_equals_map_async():
    _needs_jspi()
    xs = array.array("d", XS)
    for backend in ("sequential", "workers"):
        out = weft.map("py_square", xs, out_size=8, backend=backend, n_jobs=2, batch_size=16)
        assert bytes(out) == squares(XS), backend
        assert bytes(out) == bytes(await weft.map_async("py_square", xs, out_size=8,
                                                        backend=backend, n_jobs=2))
    into = array.array("d", bytes(8 * len(XS)))
    assert weft.map("py_square", xs, into, n_jobs=2) is into
    assert into.tobytes() == squares(XS)


async def test_blocking_map_reports_progress_and_errors():
    _needs_jspi()
    seen = []
    weft.map("py_square", array.array("d", XS), out_size=8, n_jobs=2, batch_size=10,
             progress=seen.append)  # Python called from JS while this call is suspended
    assert seen and (seen[-1].done, seen[-1].total) == (300, 300)
    try:
        weft.map("py_fail13", array.array("q", range(40)), out_size=8, n_jobs=2)
    except weft.TaskError as e:
        assert (e.index, e.task, e.code) == (13, "py_fail13", "WEFT_ETASK")
    else:
        raise AssertionError("a failing task did not raise from the blocking weft.map")


async def test_blocking_imap_and_reduce():
    _needs_jspi()
    xs = array.array("d", XS)
    got = list(weft.imap("py_square", xs, n_jobs=2, batch_size=8))
    assert b"".join(got) == squares(XS)
    pairs = list(weft.imap("py_square", xs, ordered=False, n_jobs=2, batch_size=8))
    assert sorted(i for i, _ in pairs) == list(range(len(XS)))
    assert all(v == squares([XS[i]]) for i, v in pairs)
    it = weft.imap("py_square", xs, n_jobs=2, batch_size=8)
    assert [next(it), next(it)] == [squares(XS[:1]), squares(XS[1:2])]
    it.close()  # stops the call; weft stays usable
    total = weft.reduce("py_square", xs, lambda acc, v: acc + struct.unpack("<d", v)[0],
                        initial=0.0, n_jobs=2)
    want = 0.0
    for x in XS:
        want += x * x + 1
    assert total == want


async def test_without_jspi_the_error_names_the_async_form():
    if _jspi():
        raise unittest.SkipTest("JSPI is here: the blocking forms are tested to block")
    xs = array.array("d", [2.0])
    for call, form in ((lambda: weft.map("py_square", xs, out_size=8), "await weft.map_async("),
                       (lambda: list(weft.imap("py_square", xs)), "async for"),
                       (lambda: weft.reduce("py_square", xs, lambda a, v: a, initial=0),
                        "await weft.reduce_async(")):
        try:
            call()
        except weft.NotSupportedError as e:
            assert form in str(e) and "JSPI" in str(e), str(e)
            assert e.code == "WEFT_ENOSYS"
        else:
            raise AssertionError(f"blocked without JSPI (expected an error naming {form})")
    # nothing was started: the async form works at once
    assert bytes(await weft.map_async("py_square", xs, out_size=8)) == squares([2.0])
