"""What an operating-system error means to the user: the one place that reads an ``errno``.

A failed write becomes a :class:`WriteError` naming the file the user asked for (never
songmap's temporary name for it); :func:`os_error_line` is the one line any OSError is
reported with; :func:`check_free_space` refuses a write of known size before it starts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["WriteError", "writing", "os_error_line", "os_reason", "is_out_of_space", "check_free_space", "human_bytes"]

# The storage itself refuses: more space, a quota or a writable mount is the cure, not a retry.
_STORAGE_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EFBIG: "file too large for the file system",
}
_ACCESS_REASONS = {errno.EACCES: "permission denied", errno.EPERM: "permission denied"}


def os_reason(exc: OSError) -> str:
    """The reason of ``exc`` in a user's words: ``"no space left on device"``, ``"permission denied"``, ..."""
    if exc.errno in _STORAGE_REASONS:
        return _STORAGE_REASONS[exc.errno]
    if exc.errno in _ACCESS_REASONS:
        return _ACCESS_REASONS[exc.errno]
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


def is_out_of_space(exc: BaseException) -> bool:
    """Whether ``exc`` says the storage is full or over quota."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class WriteError(OSError):
    """Writing ``path`` failed: ``"<reason> while writing <what> (<path>)"``, ``path`` being the user's name.

    Keeps the errno of the failure (``exc.errno``), so callers can tell a full disk
    from a permission problem; pickles whole, so it crosses process pools.
    """

    def __init__(self, error_number: int | None, reason: str, path: str | os.PathLike, what: str | None = None,
                 detail: str | None = None):
        super().__init__(error_number, reason, str(path))
        self.reason, self.path, self.what, self.detail = reason, Path(path), what, detail

    def __str__(self) -> str:
        target = f"{self.what} ({self.path})" if self.what else str(self.path)
        return f"{self.reason} while writing {target}" + (f": {self.detail}" if self.detail else "")

    def __reduce__(self):
        return type(self), (self.errno, self.reason, self.path, self.what, self.detail)

    def renamed(self, path: str | os.PathLike, what: str | None = None) -> WriteError:
        """The same failure, naming ``path`` (and ``what``) instead."""
        return WriteError(self.errno, self.reason, path, what or self.what, self.detail)


@contextlib.contextmanager
def writing(path: str | os.PathLike, what: str | None = None) -> Iterator[None]:
    """Report any OSError inside the block as a :class:`WriteError` on ``path``."""
    try:
        yield
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(exc.errno, os_reason(exc), path, what) from exc


def os_error_line(exc: OSError) -> str:
    """The one line an OSError is reported with: its reason and the file it concerns."""
    if isinstance(exc, WriteError):
        return str(exc)
    if exc.errno is None:  # raised by songmap with a whole sentence
        return str(exc)
    reason = os_reason(exc)
    return f"{reason}: {exc.filename}" if exc.filename else reason


def human_bytes(n: float) -> str:
    """``1536000`` -> ``"1.5 MB"`` (decimal units, as ``df -H`` prints them)."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_free_space(folder: str | os.PathLike, needed: int, *, path: str | os.PathLike, what: str) -> None:
    """Raise a :class:`WriteError` (ENOSPC) saying how much is needed when ``folder`` has less than ``needed`` bytes free.

    A folder whose free space cannot be read (gone, a special file system) passes:
    the write itself will then tell.
    """
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < needed:
        raise WriteError(errno.ENOSPC, _STORAGE_REASONS[errno.ENOSPC], path, what,
                         f"needs {human_bytes(needed)}, {human_bytes(free)} free")
