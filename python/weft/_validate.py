"""Argument checks shared by every engine: bad input fails in Python, before any work."""


def n_jobs(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"n_jobs must be an int (-1 for all CPUs, -2 all but one, or N > 0), "
                        f"got {type(value).__name__} {value!r}")
    if value == 0:
        raise ValueError("n_jobs=0 is not allowed: use -1 for all CPUs, -2 for all but one, "
                         "or a positive count")
    return value


def backend(value):
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TypeError(f"backend must be a name such as 'threads', 'processes' or "
                        f"'sequential', got {value!r}")
    return value


def positive_int(value, name, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{name} must be a non-negative int, got {value!r}")
    return value


def options(backend_=None, n_jobs_=None, batch_size=None, verbose=None, retries=None,
            task_timeout=None, timeout=None, progress=None):
    """The per-call options as a dict of checked values (progress only when given)."""
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {progress!r}")
    extra = {"progress": progress} if progress is not None else {}
    return dict(extra, backend=backend(backend_), n_jobs=n_jobs(n_jobs_),
                batch_size=positive_int(batch_size, "batch_size"),
                verbose=None if verbose is None else int(verbose),
                retries=positive_int(retries, "retries"),
                task_timeout=None if task_timeout is None else float(task_timeout),
                timeout=None if timeout is None else float(timeout))
