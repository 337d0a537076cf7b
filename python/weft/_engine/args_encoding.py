"""weft's canonical args encoding (docs/cache-format.md), written in Python for calls whose
arguments are all small scalars, so that a cached call hands weft every argument in one
ctypes call (weft_memory_call_encoded) instead of one per argument: a ctypes call costs
more than the hit itself. The bytes are exactly what weft_args_* + weft_args_encode make,
so keys do not change (tests/python/test_args_encoding.py compares them with weft's own).

Layout: "WFA1", u32 count, then per argument in bytewise name order, 8-byte aligned:
u16 name_len, u8 type, u8 ndim (0), u32 0, u64 payload size | name, NUL, zero pad |
payload (strings: + NUL), zero pad.
"""
import struct

from .ffi import ARG_BOOL, ARG_BYTES, ARG_F64, ARG_I64, ARG_STRING, ARGS_MAX_NAME
_HEAD = struct.Struct("<HBBIQ")
_I64 = struct.Struct("<q").pack
_F64 = struct.Struct("<d").pack
_ZEROS = bytes(8)


def _pad8(n):
    return (n + 7) & ~7


class _Name:
    """One argument's name with what does not depend on its value, made once."""

    __slots__ = ("length", "padded", "i64", "f64", "true", "false")

    def __init__(self, name):
        raw = name.encode()
        self.length = len(raw)
        self.padded = raw + bytes(_pad8(len(raw) + 1) - len(raw))
        self.i64 = _HEAD.pack(len(raw), ARG_I64, 0, 0, 8) + self.padded
        self.f64 = _HEAD.pack(len(raw), ARG_F64, 0, 0, 8) + self.padded
        bool_head = _HEAD.pack(len(raw), ARG_BOOL, 0, 0, 1) + self.padded
        self.true = bool_head + b"\x01" + bytes(7)
        self.false = bool_head + bytes(8)


def scalar_encoder(names, defaults=()):
    """A ScalarEncoder for these argument names, or None when weft's args cannot hold one
    of them (the calls then go the general way, which says why)."""
    if any(not n or len(n.encode()) > ARGS_MAX_NAME for n in names):
        return None
    return ScalarEncoder(names, defaults)


class ScalarEncoder:
    """The encoding of one function's calls: `names` in the function's order, `defaults`
    the values of the last len(defaults) of them when not given. encode(args), args its
    values in that order (all of them, or all but some defaults), gives the bytes, or None
    when the number of args does not fit or a value is not an int in int64, a float, a
    bool, a str without NUL or bytes (the caller then adds them one by one)."""

    def __init__(self, names, defaults=()):
        keyed = sorted((n.encode(), i) for i, n in enumerate(names))  # bytewise: strcmp
        self._order = tuple((i, _Name(names[i])) for _, i in keyed)
        self._start = b"WFA1" + struct.pack("<I", len(names))
        self._count = len(names)
        self._defaults = tuple(defaults)
        self._required = len(names) - len(self._defaults)

    def encode(self, args):
        values = args
        if len(args) != self._count:
            if not self._required <= len(args) < self._count:
                return None
            values = args + self._defaults[len(args) - self._required:]
        parts = [self._start]
        for i, name in self._order:
            v = values[i]
            t = type(v)  # exact types: subclasses (IntEnum, ...) go the general way
            if t is int:
                try:
                    parts += (name.i64, _I64(v))
                except struct.error:  # beyond int64: pickled, the general way
                    return None
            elif t is float:
                parts += (name.f64, _F64(v))
            elif t is bool:
                parts.append(name.true if v else name.false)
            elif t is str:
                if "\0" in v:
                    return None
                raw = v.encode("utf-8", "surrogatepass")
                parts += (_HEAD.pack(name.length, ARG_STRING, 0, 0, len(raw)), name.padded, raw,
                          _ZEROS[:_pad8(len(raw) + 1) - len(raw)])
            elif t is bytes:
                parts += (_HEAD.pack(name.length, ARG_BYTES, 0, 0, len(v)), name.padded, v,
                          _ZEROS[:_pad8(len(v)) - len(v)])
            else:
                return None
        return b"".join(parts)
