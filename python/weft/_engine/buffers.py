"""Python objects as rows of bytes: numpy arrays (any dtype, structured ones included),
objects with the buffer protocol (bytes, bytearray, memoryview, array.array), lists of
bytes-likes. No copy where the memory is already C-contiguous; numpy is optional.
"""
import ctypes

from .rows import item_layout

try:
    import numpy as np
except ImportError:  # numpy is optional
    np = None


def is_ndarray(x):
    return np is not None and isinstance(x, np.ndarray)


class Rows:
    """n items of `size` bytes each at `address`; `keep` holds the memory alive."""

    __slots__ = ("address", "size", "n", "keep")

    def __init__(self, address, size, n, keep):
        self.address, self.size, self.n, self.keep = address, size, n, keep


def _address_of_buffer(view, writable):
    """Address of a C-contiguous memoryview's first byte, without copying."""
    if view.nbytes == 0:
        return 0, view
    if not view.readonly:
        holder = (ctypes.c_char * view.nbytes).from_buffer(view.cast("B") if view.ndim != 1 or
                                                           view.format != "B" else view)
        return ctypes.addressof(holder), holder
    if writable:
        raise ValueError("out must be writable (got a read-only buffer)")
    if isinstance(view.obj, bytes) and view.nbytes == len(view.obj):
        return ctypes.cast(ctypes.c_char_p(view.obj), ctypes.c_void_p).value, view.obj
    if np is not None:
        arr = np.frombuffer(view, dtype=np.uint8)
        return arr.ctypes.data, arr
    copy = bytes(view)  # read-only memory that is not a bytes object: one copy
    return ctypes.cast(ctypes.c_char_p(copy), ctypes.c_void_p).value, copy


def rows(obj, item_size=None, what="inputs", writable=False):
    """Rows of a numpy array (axis 0) or of a buffer: a memoryview's first dimension, or
    chunks of item_size bytes."""
    if is_ndarray(obj):
        if obj.ndim == 0:
            raise ValueError(f"{what}: a 0-d array has no rows; give an array of shape (n, ...)")
        if writable:
            if not obj.flags.c_contiguous:
                raise ValueError(f"{what} must be C-contiguous to be written in place")
            if not obj.flags.writeable:
                raise ValueError(f"{what} must be writable")
        elif not obj.flags.c_contiguous:
            obj = np.ascontiguousarray(obj)  # a strided view: one copy, into rows
        if obj.dtype.hasobject:
            raise TypeError(f"{what}: dtype {obj.dtype} holds Python objects, not bytes")
        n = obj.shape[0]
        size = obj.nbytes // n if n else obj.itemsize
        if item_size is not None and item_size != size:
            raise ValueError(f"{what}: item_size={item_size} but each row has {size} bytes")
        return Rows(obj.ctypes.data if obj.nbytes else 0, size, n, obj)
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(f"{what}: expected a numpy array, a bytes-like object or a list of "
                        f"bytes, got {type(obj).__name__}") from None
    if not view.c_contiguous and writable:
        raise ValueError(f"{what} must be C-contiguous to be written in place")
    size, n = item_layout(view, item_size, what)  # of the view as given (its rows)
    if not view.c_contiguous:
        view = memoryview(view.tobytes())  # a strided buffer: one copy, in row order
    address, keep = _address_of_buffer(view, writable)
    return Rows(address, size, n, (obj, keep))


def is_bytes_list(obj):
    return isinstance(obj, (list, tuple))


def bytes_items(seq):
    """A list of bytes-likes as a weft_bytes array (borrowed where possible)."""
    from .ffi import Bytes
    arr = (Bytes * len(seq))()
    keep = []
    for i, item in enumerate(seq):
        try:
            view = memoryview(item)
        except TypeError:
            raise TypeError(f"inputs[{i}]: expected a bytes-like object, got "
                            f"{type(item).__name__}") from None
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        address, holder = _address_of_buffer(view, False)
        keep.append(holder)
        arr[i].data = address or None
        arr[i].size = view.nbytes
    return arr, keep


def writable_rows(out, n, out_size=None, what="out"):
    """Where n outputs go: a numpy array's rows, or a writable buffer cut into n parts."""
    r = rows(out, what=what, writable=True)
    if is_ndarray(out):
        if r.n != n:
            raise ValueError(f"{what} has {r.n} rows but there are {n} inputs")
        if out_size is not None and out_size != r.size:
            raise ValueError(f"{what}: out_size={out_size} but each row has {r.size} bytes")
        return r
    total = r.size * r.n
    if out_size is not None:
        if total < n * out_size:
            raise ValueError(f"{what} is too small: {total} bytes for {n} outputs of "
                             f"{out_size} bytes")
        r.size, r.n = out_size, n
        return r
    if n and total % n:
        raise ValueError(f"{what} holds {total} bytes: not a whole number of outputs for "
                         f"{n} inputs (pass out_size)")
    r.size, r.n = (total // n if n else 0), n
    return r
