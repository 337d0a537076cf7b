"""weft.Memory for Python functions and C tasks, read back by C and the weft tool."""
import os
import subprocess
import sys

import pytest
import weft
from conftest import MEMORY_READER, WEFT_TOOL, run_python


@pytest.fixture
def mem(tmp_path):
    m = weft.Memory(str(tmp_path / "cache"))
    yield m
    m.close()


def test_hit_after_miss_and_arguments_by_name(mem):
    calls = []

    @mem.cache
    def f(a, b=2, *, c="x"):
        calls.append((a, b, c))
        return {"sum": a + b, "c": c}
    assert f(1) == {"sum": 3, "c": "x"}
    assert f(1) == f(a=1) == f(1, 2) == f(1, b=2, c="x")
    assert len(calls) == 1
    assert f(1, 3)["sum"] == 4 and f(2)["sum"] == 4 and f(1, c="y")["c"] == "y"
    assert len(calls) == 4
    assert f.call(1) == ({"sum": 3, "c": "x"}, True)


def test_argument_types(mem):
    calls = []

    @mem.cache
    def f(v):
        calls.append(v)
        return repr(v)
    values = [0, -1, 2**63 - 1, 2**70, 1.5, True, "s", "", b"\x00b", bytearray(b"ba"),
              None, (1, 2), [1, "a"], {"k": 1}]
    for v in values:
        f(v)
    assert len(calls) == len(values)  # all different keys
    for v in values:
        f(v)
    assert len(calls) == len(values)  # all hits
    f(1.0)  # a float 1.0 is not the int 1
    assert len(calls) == len(values) + 1


def test_ignore_and_version(tmp_path):
    mem = weft.Memory(str(tmp_path / "c"))
    calls = []

    @mem.cache(ignore=["verbose"], version="1")
    def f(x, verbose=False):
        calls.append(x)
        return x
    f(1)
    f(1, verbose=True)
    assert calls == [1]
    with pytest.raises(ValueError, match="no argument 'nope'"):
        mem.cache(ignore=["nope"])(lambda x: x)

    # a new version of the same function: the old entry no longer matches
    mem2 = weft.Memory(str(tmp_path / "c"))

    @mem2.cache(ignore=["verbose"], version="2", name=f.name)
    def g(x, verbose=False):
        calls.append(-x)
        return -x
    assert g(1) == -1 and calls == [1, -1]


def test_source_version_changes_with_code(tmp_path):
    src = tmp_path / "mod_v.py"
    code = ("import weft\nmem = weft.Memory({loc!r})\n@mem.cache\ndef f(x):\n"
            "    print('computed'); return x {op} 1\nprint(f(1))\n")
    loc = str(tmp_path / "cache")
    outs = []
    for op in ["+", "+", "*"]:
        src.write_text(code.format(loc=loc, op=op))
        done = run_python(f"sys.path.insert(0, {str(tmp_path)!r})\nimport mod_v")
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout.split())
    assert outs == [["computed", "2"], ["2"], ["computed", "1"]]


def test_check_shelve_clear_reduce_size(mem):
    calls = []

    @mem.cache
    def f(x):
        calls.append(x)
        return [x] * 3
    assert not f.check_call_in_cache(5)
    ref = f.call_and_shelve(5)
    assert f.check_call_in_cache(5) and ref.get() == [5, 5, 5] and calls == [5]
    assert str(ref).startswith(f.name + "/") and len(str(ref).split("/")[1]) == 32
    assert str(ref).split("/")[1] == f.key(5)
    for i in range(10):
        f(i)
    assert mem.reduce_size(items_limit=3) >= 7
    f.clear()
    assert not f.check_call_in_cache(5)
    f(1)
    mem.clear()
    assert not f.check_call_in_cache(1)


def test_exceptions_propagate_and_are_not_stored(mem):
    @mem.cache
    def f(x):
        raise ZeroDivisionError(f"x={x}")
    with pytest.raises(ZeroDivisionError, match="x=1"):
        f(1)
    assert not f.check_call_in_cache(1)


def test_memory_none_caches_nothing():
    calls = []
    mem = weft.Memory(None)

    @mem.cache
    def f(x):
        calls.append(x)
        return x
    f(1), f(1)
    assert calls == [1, 1] and not f.check_call_in_cache(1)
    assert f.call_and_shelve(2).get() == 2


def test_unwritable_and_foreign_folders(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(weft.ForeignFolderError):
        weft.Memory(str(foreign))
    assert (foreign / "notes.txt").read_text() == "mine"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        # root writes anywhere: then a folder under /proc, where nobody can create one
        where = "/proc/weft-unwritable" if os.access(str(locked), os.W_OK) else locked
        with pytest.raises(weft.SystemCallError) as info:
            weft.Memory(os.path.join(str(where), "cache"))
        assert "weft-unwritable" in str(info.value) or "locked" in str(info.value)
    finally:
        locked.chmod(0o700)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(weft.SystemCallError):
        weft.Memory(str(afile / "cache"))
    with pytest.raises(TypeError):
        weft.Memory(42)


def test_shelf_loads_in_another_process(mem):
    @mem.cache(name="tests.shelved")
    def f(x):
        return x * 2
    ref = f.call_and_shelve(21)
    code = (f"m = weft.Memory({mem.location!r})\nfrom weft._engine import memory_engine as me\n"
            f"from weft._engine import ffi\nimport pickle\nr = ffi.Shelf()\n"
            f"ffi.check(ffi.lib.weft_shelf_parse({str(ref)!r}.encode(), ffi.ctypes.byref(r)))\n"
            "print(pickle.loads(m._store.load(r)))\n")
    done = run_python(code)
    assert done.stdout.strip() == "42", done.stderr


def test_c_task_cache_read_by_c_program_and_tool(mem):
    import array
    x = array.array("d", [float(i) for i in range(10)])
    # a memoryview is bytes, not an f64 array: the task says what it expected
    with pytest.raises(weft.TaskError, match="expected arguments x"):
        mem.call_task("py_sum_args", x=memoryview(x), steps=3)
    np = pytest.importorskip("numpy")
    value, hit = mem.call_task("py_sum_args", x=np.arange(10.0), steps=3)
    assert not hit and np.frombuffer(value)[0] == 135.0
    assert mem.call_task("py_sum_args", x=np.arange(10.0), steps=3)[1]
    done = subprocess.run([MEMORY_READER, mem.location, "10", "3"], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == "hit=1 value=135", done.stdout + done.stderr


def test_python_entries_listed_by_weft_tool(mem):
    @mem.cache(name="tests.listed")
    def f(x):
        return x
    for i in range(3):
        f(i)
    ls = subprocess.run([WEFT_TOOL, "cache", "ls", mem.location], capture_output=True,
                        text=True, timeout=60)
    assert ls.returncode == 0, ls.stderr
    line = [s for s in ls.stdout.splitlines() if s.startswith("tests.listed")]
    assert line and line[0].split()[1] == "3"
    show = subprocess.run([WEFT_TOOL, "cache", "show", mem.location, "tests.listed", f.key(1)],
                          capture_output=True, text=True, timeout=60)
    assert show.returncode == 0 and f.key(1) in show.stdout, show.stdout + show.stderr


def test_numpy_arguments_hashed_in_place_and_miss_explained(tmp_path):
    pytest.importorskip("numpy")
    loc = str(tmp_path / "dbg")
    code = f"""
import numpy as np
mem = weft.Memory({loc!r})
@mem.cache(name="tests.explained")
def f(x, steps):
    return float(x.sum()) * steps
x = np.arange(1000.0)
print(f(x, 10))
y = x.copy(); y[17] += 0.002
print(f(y, 12))
print(f(np.arange(1000, dtype=np.int32), 10), f(x.astype(np.float32), 10))
print(mem.stats()["hashed_bytes"] >= 8000)
"""
    done = run_python(code, env={"WEFT_DEBUG": "1"})
    assert done.returncode == 0, done.stderr
    assert "cache miss for 'tests.explained'" in done.stderr
    assert "1 of 1000 elements differ, first at index 17" in done.stderr
    assert "steps: 10 -> 12" in done.stderr
    assert done.stdout.split()[-1] == "True"


def test_structured_array_argument(mem):
    np = pytest.importorskip("numpy")
    calls = []

    @mem.cache
    def f(a):
        calls.append(1)
        return a["v"].sum()
    a = np.zeros(3, dtype=[("v", "<f8"), ("k", "<i2")])
    b = a.view(np.uint8)  # the same bytes, another dtype: another key
    f(a), f(a), f(b.copy().view(a.dtype))
    assert len(calls) == 1
    f(np.zeros(3, dtype=[("v", "<f8"), ("k", "<i4")]))
    assert len(calls) == 2


def test_cached_function_inside_parallel(mem):
    @mem.cache
    def f(x):
        return x + 1
    res = weft.Parallel(n_jobs=2, backend="threads")(weft.delayed(f)(i) for i in range(50))
    assert res == list(range(1, 51))
    assert all(f.check_call_in_cache(i) for i in range(50))


def test_c_task_name_clash(mem):
    with pytest.raises(weft.InvalidArgumentError, match="C task named 'py_square'"):
        mem.cache(name="py_square")(lambda x: x)
    _ = sys


def test_two_lambdas_of_one_scope_do_not_share_entries(mem):
    f = mem.cache(lambda x: x + 1)
    g = mem.cache(lambda x: x + 2)
    assert f.name != g.name
    assert (f(1), g(1), f(1), g(1)) == (2, 3, 2, 3)
