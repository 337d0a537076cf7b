"""weft.Progress: what a progress callback receives, in every engine."""
import collections


class Progress(collections.namedtuple("Progress", "done total elapsed_s remaining_s")):
    """What a progress callback receives: items done, the total (0 while unknown),
    seconds elapsed, an estimate of the seconds left (negative while unknown)."""
