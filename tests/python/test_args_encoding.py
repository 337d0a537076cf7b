"""The args encoding that cached functions build in Python (weft/_engine/args_encoding.py)
is byte for byte weft's own, so its keys are the keys of the C API, the JS API and the
calls that bind their arguments (kwargs) and add them one by one."""
import enum
import math
import os
from ctypes import byref

import pytest
import weft
from weft._engine import args_encoding, ffi, native_memory

VECTORS = os.path.join(os.path.dirname(__file__), "..", "vectors", "memory_keys.txt")


def c_encoding(arguments):
    """weft_args_* for each argument (the general path), then weft_args_encode."""
    out = ffi.Bytes()
    with native_memory.Args(arguments) as a:
        ffi.check(ffi.lib.weft_args_encode(a.handle, byref(out)))
    try:
        return ffi.bytes_at(out.data, out.size)
    finally:
        ffi.lib.weft_bytes_free(byref(out), 1)


SCALARS = [0, 1, -1, 2**63 - 1, -2**63, 0.0, -0.0, 0.1, 1e300, math.inf, -math.inf,
           math.nan, True, False, "", "a", "abcdefg", "abcdefgh", "café", "\udc80x",
           "\U0001f600", b"", b"\x00", b"1234567", b"12345678", b"123456789"]


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_one_argument_encodes_as_weft_does(value):
    enc = args_encoding.scalar_encoder(["x"])
    assert enc.encode((value,)) == c_encoding({"x": value})


def test_names_in_weft_order_with_defaults():
    names = ["b", "a", "é", "Z", "_x", "a1", "ab"]
    defaults = ("s", b"\x01", 2.5)
    enc = args_encoding.scalar_encoder(names, defaults)
    for i, args in enumerate([(1, 2, 3, 4), (1, 2, 3, 4, True), (1, 2, 3, 4, 5, "t", 0.5),
                              (-1, False, "é", b"zz", 1e-9, b"", -0.0)]):
        full = args + defaults[len(args) - 4:]
        assert enc.encode(args) == c_encoding(dict(zip(names, full))), i
    assert enc.encode((1, 2, 3)) is None  # too few: binding says what is missing
    assert enc.encode((1,) * 8) is None  # too many
    assert args_encoding.scalar_encoder([]).encode(()) == c_encoding({})


class Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize("value", [2**63, -2**63 - 1, "a\0b", Colour.RED, None, (1,),
                                   bytearray(b"x"), 1j], ids=repr)
def test_other_values_go_the_general_way(value):
    assert args_encoding.scalar_encoder(["x"]).encode((value,)) is None


def test_unusable_names_have_no_encoder():
    assert args_encoding.scalar_encoder(["x" * (ffi.ARGS_MAX_NAME + 1)]) is None
    assert args_encoding.scalar_encoder(["x" * ffi.ARGS_MAX_NAME]) is not None


def _vector_calls():
    """The lines of tests/vectors/memory_keys.txt whose arguments are all scalars."""
    with open(VECTORS) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            task, version, spec, ignored, key = (p.strip() for p in line.split("|"))
            if not spec or ignored or "~" in spec or "[" in spec or "raw:" in spec:
                continue
            names, values = [], []
            for arg in spec.split(";"):
                head, text = arg.split("=", 1)
                name, kind = head.split(":")
                names.append(name)
                values.append({"i64": int, "f64": float, "bool": lambda t: t == "1",
                               "str": str, "bytes": bytes.fromhex}[kind](text))
            yield task, version, names, tuple(values), key


def test_keys_are_the_vectors_of_every_build():
    """The same keys as the C, WASI and Emscripten builds (tests/vectors/check_keys.c)."""
    store = native_memory.Store("memory:")
    calls = list(_vector_calls())
    assert len(calls) >= 8
    handle = ffi.ctypes.c_void_p(ffi.lib.weft_args_new())
    key = (ffi.ctypes.c_uint8 * 16)()
    hexbuf = ffi.ctypes.create_string_buffer(33)
    for task, version, names, values, expected in calls:
        store.set_version(task, version)
        d = ffi.ctypes.pointer(ffi.TaskDef(task.encode(), 1))  # keyed, never run
        encoding = args_encoding.scalar_encoder(names).encode(values)
        ffi.check(ffi.lib.weft_args_decode(handle, encoding, len(encoding)))
        ffi.check(ffi.lib.weft_memory_key(store.handle, d, handle, key, hexbuf))
        assert hexbuf.value.decode() == expected, (task, names, values)
    ffi.lib.weft_args_free(handle)
    store.close()


def test_encoded_calls_and_bound_calls_share_entries(tmp_path):
    mem = weft.Memory(str(tmp_path / "c"))
    runs = []

    @mem.cache
    def f(x, y=1.5):
        runs.append(x)
        return repr(x)
    for value in SCALARS:
        if isinstance(value, float) and math.isnan(value):
            continue  # nan != nan: compared below by its entry
        assert f.call(value) == (repr(value), False)  # encoded here
        assert f.check_call_in_cache(value)  # added one by one (weft_args_*)
        assert f.call(x=value) == (repr(value), True)
        assert f.call(value, 1.5)[1] and f.call(value, y=1.5)[1] and f.call(y=1.5, x=value)[1]
    pending = native_memory.PendingCall(f.func, (math.nan,), {})
    assert mem._store.call(f._def, {"x": math.nan, "y": 1.5}, pending)[1] is False
    assert f.call(math.nan) == ("nan", True)  # the same bits, encoded here
    assert len(runs) == len(SCALARS)
    mem.close()


def test_nested_cached_calls_and_errors(tmp_path):
    mem = weft.Memory(str(tmp_path / "c"))

    @mem.cache
    def inner(n):
        if n < 0:
            raise ValueError(f"negative {n}")
        return n * 2

    @mem.cache
    def outer(n):
        return inner(n) + inner(n + 1)
    assert outer(3) == 14 and outer(3) == 14 and inner(4) == 8
    with pytest.raises(ValueError, match="negative -5"):
        outer(-5)
    assert outer.call(3) == (14, True)
    mem.close()


def test_defaults_fill_in_as_binding_does(tmp_path):
    mem = weft.Memory(str(tmp_path / "c"))
    runs = []

    @mem.cache
    def f(a, b=1, c="c", d=None):  # d's default is not a scalar: those calls are bound
        runs.append((a, b, c, d))
        return a
    for args in [(0,), (0, 1), (0, 1, "c"), (0, 1, "c", None), (1, 2, "x", 3)]:
        f(*args)
        assert f.check_call_in_cache(*args)  # the general path finds what was stored
    assert runs == [(0, 1, "c", None), (1, 2, "x", 3)]
    assert f.call(0, c="c", b=1) == (0, True)
    with pytest.raises(TypeError, match="missing a required argument"):
        f()
    with pytest.raises(TypeError, match="too many"):
        f(1, 2, 3, 4, 5)
    mem.close()
