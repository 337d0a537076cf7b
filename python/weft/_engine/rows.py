"""How a flat buffer splits into items: one rule for both engines (native and Pyodide)."""


def item_layout(view, item_size, what):
    """(item size in bytes, item count) of a C-contiguous memoryview: rows of an array,
    or `item_size`-byte items when given; a 0-d view is one item."""
    if item_size is not None:
        if not isinstance(item_size, int) or item_size <= 0:
            raise ValueError(f"{what}: item_size must be a positive int, got {item_size!r}")
        if view.nbytes % item_size:
            raise ValueError(f"{what}: {view.nbytes} bytes is not a whole number of "
                             f"{item_size}-byte items")
        return item_size, view.nbytes // item_size
    if view.ndim == 0:
        return view.nbytes, 1
    n = view.shape[0]
    return (view.nbytes // n if n else view.itemsize), n
