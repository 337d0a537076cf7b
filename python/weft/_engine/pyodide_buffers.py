"""Python objects as the one byte buffer of items weft's JavaScript API takes (Pyodide):
numpy rows, bytes-likes, lists of numbers or of equal-size bytes-likes; and where the
outputs go. Checks and messages follow the native engine's (buffers.py)."""
import array

from .. import errors
from .rows import item_layout

try:
    import numpy as np
except ImportError:  # numpy is optional (Pyodide loads it only when asked)
    np = None


def list_of_numbers(seq):
    if all(isinstance(x, int) and not isinstance(x, bool) for x in seq):
        return array.array("q", seq)
    return array.array("d", seq)


def rows(inputs, item_size):
    """(bytes view, item size, n) of numpy rows, a bytes-like, a list of numbers or a
    list of equal-size bytes-likes."""
    if np is not None and isinstance(inputs, np.ndarray):
        if inputs.ndim == 0:
            raise ValueError("inputs: a 0-d array has no rows; give an array of shape (n, ...)")
        if inputs.dtype.hasobject:
            raise TypeError(f"inputs: dtype {inputs.dtype} holds Python objects, not bytes")
        arr = np.ascontiguousarray(inputs)
        n = arr.shape[0]
        size = arr.nbytes // n if n else arr.itemsize
        if item_size is not None and item_size != size:
            raise ValueError(f"inputs: item_size={item_size} but each row has {size} bytes")
        return memoryview(arr).cast("B"), size, n
    if isinstance(inputs, (list, tuple)):
        if inputs and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                          for x in inputs):
            inputs = list_of_numbers(inputs)
        else:
            views = []
            for i, item in enumerate(inputs):
                try:
                    views.append(memoryview(item).cast("B") if memoryview(item).c_contiguous
                                 else memoryview(memoryview(item).tobytes()))
                except TypeError:
                    raise TypeError(f"inputs[{i}]: expected a bytes-like object or a number, "
                                    f"got {type(item).__name__}") from None
            sizes = {v.nbytes for v in views}
            if len(sizes) > 1:
                raise errors.NotSupportedError(
                    f"inputs: items of different sizes ({sorted(sizes)[:4]}...): weft's "
                    f"JavaScript API takes items of one size", code="WEFT_ENOSYS", errno=-9)
            size = sizes.pop() if sizes else (item_size or 0)
            return memoryview(b"".join(views)), size, len(views)
    try:
        view = memoryview(inputs)
    except TypeError:
        raise TypeError(f"inputs: expected a numpy array, a bytes-like object, a list of "
                        f"numbers or a list of bytes, got {type(inputs).__name__}") from None
    size, n = item_layout(view, item_size, "inputs")  # of the view as given (its rows)
    if not view.c_contiguous:
        view = memoryview(view.tobytes())  # a strided buffer: one copy, in row order
    return view.cast("B") if view.nbytes else memoryview(b""), size, n


def out_view(out, n, out_size):
    """(writable byte view of `out`, bytes per output) -- as native's writable_rows."""
    if np is not None and isinstance(out, np.ndarray):
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be a writable C-contiguous array")
        if out.shape[0] != n:
            raise ValueError(f"out has {out.shape[0]} rows but there are {n} inputs")
        size = out.nbytes // n if n else 0
        if out_size is not None and out_size != size:
            raise ValueError(f"out: out_size={out_size} but each row has {size} bytes")
        return memoryview(out).cast("B"), size
    try:
        view = memoryview(out)
    except TypeError:
        raise TypeError(f"out: expected a numpy array or a writable buffer, got "
                        f"{type(out).__name__}") from None
    if view.readonly:
        raise ValueError("out must be writable (got a read-only buffer)")
    if not view.c_contiguous:
        raise ValueError("out must be C-contiguous to be written in place")
    view = view.cast("B")
    if out_size is not None:
        if view.nbytes < n * out_size:
            raise ValueError(f"out is too small: {view.nbytes} bytes for {n} outputs of "
                             f"{out_size} bytes")
        return view[:n * out_size], out_size
    if n and view.nbytes % n:
        raise ValueError(f"out holds {view.nbytes} bytes: not a whole number of outputs for "
                         f"{n} inputs (pass out_size)")
    return view, (view.nbytes // n if n else 0)


def decoder(out_dtype, out_shape):
    if out_dtype is None:
        return lambda raw: raw
    if np is None:
        raise TypeError("out_dtype needs numpy (in Pyodide: await pyodide.loadPackage('numpy')); "
                        "without it pass out= a writable buffer or out_size=")
    dtype = np.dtype(out_dtype)
    shape = (out_shape,) if isinstance(out_shape, int) else tuple(out_shape)

    def decode(raw):
        value = np.frombuffer(raw, dtype=dtype).reshape(shape)
        return value[()] if shape == () else value.copy()
    return decode


def out_size_of(out_dtype, out_shape, default):
    if out_dtype is None:
        return default
    if np is None:
        decoder(out_dtype, out_shape)  # raises the clear error
    shape = (out_shape,) if isinstance(out_shape, int) else tuple(out_shape)
    count = 1
    for d in shape:
        count *= d
    return np.dtype(out_dtype).itemsize * count
