"""Why a file cannot be decoded, in the words users see.

Every refusal of a file is a :class:`DecodeError` whose message is the reason songmap reports:
the file is missing, not a regular file, empty or unreadable (:func:`check_readable`); FFmpeg
(PyAV) could not read it (:func:`pyav_errors`); it held no usable samples (:func:`usable_samples`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["DecodeError", "check_readable", "pyav_errors", "usable_samples"]


class DecodeError(Exception):
    """A file could not be decoded as audio; the message is the reason shown to users."""


def check_readable(path: Path) -> None:
    """Raise DecodeError with the reason when ``path`` is not a readable, non-empty regular file.

    Never opens the file, so a named pipe cannot block the run.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DecodeError("broken symbolic link (target not found)" if os.path.islink(path) else "file not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DecodeError("symbolic link loop") from None
        raise DecodeError(f"cannot read file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise DecodeError("is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise DecodeError("not a regular file (a named pipe, socket or device)")
    if st.st_size == 0:
        raise DecodeError("empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise DecodeError("cannot read file (permission denied)")


@contextlib.contextmanager
def pyav_errors() -> Iterator[None]:
    """Turn whatever PyAV raises inside the block into a DecodeError with the user's reason.

    PyAV raises many error types; all mean "not audio we can read", apart from the operating
    system's own errors, which keep their reason. A DecodeError raised inside passes unchanged.
    """
    from av.error import FFmpegError

    try:
        yield
    except DecodeError:
        raise
    except FFmpegError as exc:
        raise _ffmpeg_os_reason(exc) or DecodeError(f"not decodable audio ({_short(exc)})") from None
    except OSError as exc:
        raise _os_reason(exc) or DecodeError(f"not decodable audio ({_short(exc)})") from None
    except Exception:
        # PyAV met a stream it cannot describe (a damaged header: no codec, no layout); its
        # Python error (an AttributeError, a UnicodeDecodeError of a tag) would only puzzle users.
        raise DecodeError("not decodable audio (damaged or unsupported audio stream)") from None


def usable_samples(signals: list[np.ndarray]) -> list[np.ndarray]:
    """The decoded ``signals`` with non-finite samples replaced by 0, once they are known to be usable.

    A float file may hold NaN/inf; one bad sample must not turn a whole map into NaN.

    Parameters
    ----------
    signals : list of np.ndarray
        What was decoded of one file: the whole of it, or its windows.

    Returns
    -------
    list of np.ndarray
        The same signals, each unchanged when all its samples are finite.

    Raises
    ------
    DecodeError
        When the signals hold no samples, or none that is finite.
    """
    if not signals or all(len(y) == 0 for y in signals):
        raise DecodeError("empty: no audio samples")
    finite = [np.isfinite(y) for y in signals]
    if not any(f.any() for f in finite):
        raise DecodeError("no usable samples: every sample is NaN or infinite")
    return [y if f.all() else np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0) for y, f in zip(signals, finite)]


def _os_reason(exc: OSError) -> DecodeError | None:
    """The user-facing reason for an operating-system error met while decoding, or None."""
    if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
        return DecodeError("file not found")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return DecodeError("cannot read file (permission denied)")
    if isinstance(exc, OSError) and exc.errno == errno.EIO:
        return DecodeError("cannot read file (input/output error)")
    return None


def _ffmpeg_os_reason(exc: OSError) -> DecodeError | None:
    """The operating system's reason behind an FFmpeg error, or None when FFmpeg's errno is its own.

    FFmpeg reuses errnos for what its decoders find: a damaged AAC packet fails with EPERM
    ("Operation not permitted") from a readable file. Only the errnos of opening and reading a
    file (missing, access refused, an I/O error) are the operating system's.
    """
    if exc.errno == errno.EPERM:
        return DecodeError("not decodable audio (damaged audio data: the decoder refused it)")
    if exc.errno in (errno.ENOENT, errno.EACCES, errno.EIO):
        return _os_reason(OSError(exc.errno, exc.strerror))
    return None


def _short(exc: BaseException) -> str:
    # FFmpeg's errors are OSErrors whose str() carries an errno and the path; the reason is enough.
    text = getattr(exc, "strerror", None)
    text = text if isinstance(text, str) and text else str(exc)
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return _FFMPEG_REASONS.get(text, text)[:160]


# FFmpeg's words for the two commonest failures, in the user's terms.
_FFMPEG_REASONS = {
    "Invalid data found when processing input": "not a known audio format",
    "End of file": "the file ends early: a truncated download?",
}
