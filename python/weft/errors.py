"""Exceptions: one WeftError subclass per error code of weft's C error table.

Every engine raises these, so code catching weft.TaskError works the same in CPython and
in Pyodide. Attributes follow weft's JavaScript API: .code is the code's name
('WEFT_ETASK'), .errno its number (-5), .index the failing item (or -1), .task its name
(or ''), .message the task's own message (or weft's explanation), .status what the task
returned.
"""


class WeftError(Exception):
    code = "WEFT_UNKNOWN"
    errno = 0

    def __init__(self, message, *, code=None, errno=None, index=-1, task="", status=0):
        super().__init__(message)
        if code is not None:
            self.code = code
        if errno is not None:
            self.errno = errno
        self.message = message
        self.index = index
        self.task = task
        self.status = status

    def __str__(self):
        where = ""
        if self.task and self.index >= 0:
            where = f"task '{self.task}' at item {self.index}: "
        elif self.task:
            where = f"task '{self.task}': "
        elif self.index >= 0:
            where = f"item {self.index}: "
        return f"{where}{self.message} ({self.code})"


def _define(name, code, errno, *bases, doc):
    cls = type(name, (WeftError,) + bases, {"code": code, "errno": errno, "__doc__": doc})
    cls.__module__ = __name__
    return cls


InvalidArgumentError = _define("InvalidArgumentError", "WEFT_EINVAL", -1, ValueError,
                               doc="invalid argument")
OutOfMemoryError = _define("OutOfMemoryError", "WEFT_ENOMEM", -2, MemoryError,
                           doc="out of memory")
UnknownTaskError = _define("UnknownTaskError", "WEFT_ENOTASK", -3, LookupError,
                           doc="no task is registered under that name")
UnknownBackendError = _define("UnknownBackendError", "WEFT_ENOBACKEND", -4, ValueError,
                              doc="no backend is registered under that name")
TaskError = _define("TaskError", "WEFT_ETASK", -5, doc="a task failed")
CancelledError = _define("CancelledError", "WEFT_ECANCELED", -6, doc="the call was cancelled")
OutputSizeError = _define("OutputSizeError", "WEFT_EOUTSIZE", -7,
                          doc="a task wrote an output of the wrong size")
EnvironmentValueError = _define("EnvironmentValueError", "WEFT_ENV", -8, ValueError,
                                doc="an environment variable has a value weft does not accept")
NotSupportedError = _define("NotSupportedError", "WEFT_ENOSYS", -9,
                            doc="not supported on this platform")
SystemCallError = _define("SystemCallError", "WEFT_ESYS", -10, doc="a system call failed")
ConfigError = _define("ConfigError", "WEFT_ECONFIG", -11, doc="configuration stack misuse")
WeftTimeoutError = _define("WeftTimeoutError", "WEFT_ETIMEDOUT", -12, TimeoutError,
                           doc="timed out")
NotFoundError = _define("NotFoundError", "WEFT_ENOTFOUND", -13, LookupError,
                        doc="no such cache entry or checkpoint")
CorruptError = _define("CorruptError", "WEFT_ECORRUPT", -14, doc="stored data failed its checksum")
ForeignFolderError = _define("ForeignFolderError", "WEFT_EFOREIGN", -15,
                             doc="the folder holds files but is not a weft cache")
CrashedError = _define("CrashedError", "WEFT_ECRASHED", -16,
                       doc="a worker process died while running a task")

BY_CODE = {cls.code: cls for cls in (
    InvalidArgumentError, OutOfMemoryError, UnknownTaskError, UnknownBackendError, TaskError,
    CancelledError, OutputSizeError, EnvironmentValueError, NotSupportedError, SystemCallError,
    ConfigError, WeftTimeoutError, NotFoundError, CorruptError, ForeignFolderError,
    CrashedError)}


def error_for(code_name, errno, message, index=-1, task="", status=0):
    """The exception for a code name from the C table; an unknown one gives WeftError."""
    cls = BY_CODE.get(code_name, WeftError)
    return cls(message, code=code_name, errno=errno, index=index, task=task, status=status)

__all__ = ["WeftError", "error_for"] + sorted(c.__name__ for c in BY_CODE.values())
