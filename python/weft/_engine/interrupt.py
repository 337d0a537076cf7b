"""Ctrl-C while weft runs: the call stops, KeyboardInterrupt is raised, the pool stays usable.

Python's own SIGINT handler stays in place (weft's C handler is installed only where
SIGINT has its default action, which it never has under Python). While a call made from
the main thread runs, Python's handler is asked to write each signal's number to a pipe
(signal.set_wakeup_fd); every call carries a progress callback, which weft invokes at
least every 50 ms as batches finish: it drains the pipe and, on a SIGINT, returns 1 so that
weft cancels the call (WEFT_ECANCELED). Python then runs its handler, which raises
KeyboardInterrupt in the caller. A task that runs on for seconds delays the stop until
it (or another batch) finishes, as in weft's C API.
"""
import itertools
import os
import signal
import threading

from . import ffi
from .progress import Progress  # noqa: F401  (weft.Progress, also from here)

_lock = threading.Lock()
_pipe = None
_depth = 0
_saved_fd = -1
_interrupts = 0        # SIGINTs seen while a call ran
_caught = threading.local()  # a KeyboardInterrupt raised inside a callback


def _drain():
    global _interrupts
    if _pipe is None:
        return
    try:
        data = os.read(_pipe[0], 512)
    except (BlockingIOError, InterruptedError, OSError):
        return
    if data and signal.SIGINT in data:
        _interrupts += data.count(signal.SIGINT)


def interrupts():
    _drain()
    return _interrupts


class Hook:
    """One call's progress hook: its Ctrl-C baseline and the user's callback, if any.
    weft's progress_user is the hook's token."""

    _tokens = itertools.count(1)

    def __init__(self, callback=None):
        if callback is not None and not callable(callback):
            raise TypeError(f"progress must be callable, got {callback!r}")
        self.callback = callback
        self.error = None
        self.start = interrupts()
        self.token = next(Hook._tokens)
        _hooks[self.token] = self

    def close(self):
        _hooks.pop(self.token, None)

    def raise_error(self):
        """The exception the user's callback raised (it stopped the call)."""
        if self.error is not None:
            error, self.error = self.error, None
            raise error


_hooks = {}


def _on_progress(progress, user):
    global _interrupts
    try:
        _drain()
        hook = _hooks.get(user)
        if hook is None:
            return 0
        if _interrupts > hook.start:
            return 1
        if hook.callback is not None and hook.error is None:
            p = progress.contents
            try:
                hook.callback(Progress(p.done, p.total, p.elapsed_s, p.remaining_s))
            except Exception as e:  # raising stops the call; the caller re-raises it
                hook.error = e
                return 1
        return 0
    except KeyboardInterrupt:
        # Python ran its handler inside this callback (we are on the main thread): stop
        # the call; the caller raises KeyboardInterrupt once weft returns.
        _interrupts += 1
        return 1
    except BaseException:  # a callback must never let an exception into C
        return 0


PROGRESS = ffi.PROGRESS_FN(_on_progress)


class watching:
    """Context for one blocking weft call: set_wakeup_fd on the main thread."""

    __slots__ = ("start", "active")

    def __enter__(self):
        global _pipe, _depth, _saved_fd
        self.active = threading.current_thread() is threading.main_thread()
        if self.active:
            with _lock:
                if _depth == 0:
                    if _pipe is None:
                        r, w = os.pipe()
                        os.set_blocking(r, False)
                        os.set_blocking(w, False)
                        _pipe = (r, w)
                    try:
                        _saved_fd = signal.set_wakeup_fd(_pipe[1], warn_on_full_buffer=False)
                    except ValueError:
                        self.active = False
                if self.active:
                    _depth += 1
        self.start = interrupts()
        return self

    def __exit__(self, *exc):
        global _depth
        if self.active:
            with _lock:
                _depth -= 1
                if _depth == 0:
                    signal.set_wakeup_fd(_saved_fd)
        return False

    def interrupted(self):
        return interrupts() > self.start


def raise_if_interrupted(watch, rc, hook=None):
    """After a call that returned rc: a cancel caused by Ctrl-C is KeyboardInterrupt, one
    caused by the progress callback's exception is that exception."""
    if rc == -6 and watch.interrupted():
        raise KeyboardInterrupt
    if rc == -6 and hook is not None:
        hook.raise_error()
