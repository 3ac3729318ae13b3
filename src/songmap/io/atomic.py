"""Every atomic write of songmap: a crash leaves the old file or the new one, never half.

Bytes and text (:func:`atomic_write_bytes`, :func:`atomic_write_text`), sound
files written block by block (:func:`write_sound`, :func:`atomic_write_sound`).
Whole output folders are staged and committed by :mod:`songmap.report.outdir`.
A failed write raises :class:`~songmap.io.oserrors.WriteError` naming ``path``, the
file the caller asked for, never the temporary file beside it.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from songmap._checkpoints import checkpoint
from songmap.io.oserrors import writing

__all__ = [
    "SOUND_BLOCK_FRAMES",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_sound",
    "encode_sound",
    "write_sound",
]

#: Frames per libsndfile write: one large write of a long OGG crashes libsndfile 1.2.2.
SOUND_BLOCK_FRAMES = 16384

# Major format and subtype of each extension songmap writes sound files in.
_SOUND_FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".aiff": ("AIFF", "PCM_16"),
}


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which would race with other threads.
_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary name beside ``path``; renamed over ``path`` when the block ends without error.

    The temporary file is unique (``mkstemp``), gets the mode a plain ``open()``
    would give, and is removed when the block raises; an OSError (a full disk, a
    read-only folder) comes out as a :class:`~songmap.io.oserrors.WriteError` on ``path``.

    Examples
    --------
    >>> with atomic_path("out/model.safetensors") as tmp:   # doctest: +SKIP
    ...     save_file(tensors, str(tmp))
    """
    path = Path(path)
    with writing(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            yield Path(tmp)
            # mkstemp makes the file private (0600); give it the mode a plain open() would have.
            os.chmod(tmp, 0o666 & ~_UMASK)
            checkpoint(f"replacing:{path.name}")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _sound_format(path: str | os.PathLike, fmt: str | None, subtype: str | None) -> tuple[str, str]:
    default = _SOUND_FORMATS.get(Path(path).suffix.lower(), ("WAV", "PCM_16"))
    fmt = (fmt or default[0]).upper()
    if subtype is None:
        subtype = next((s for f, s in _SOUND_FORMATS.values() if f == fmt), "PCM_16")
    return fmt, subtype


def write_sound(
    target, y: np.ndarray, sample_rate: int, *, fmt: str | None = None, subtype: str | None = None
) -> None:
    """Write float audio to ``target`` (a path or a binary file object), :data:`SOUND_BLOCK_FRAMES` at a time.

    Parameters
    ----------
    target : str, os.PathLike or file object
        Where to write; the format follows the extension of a path
        (``.wav``/``.flac``/``.aiff`` 16-bit PCM, ``.ogg`` Vorbis) unless ``fmt`` is given.
    y : np.ndarray
        ``(frames,)`` or ``(frames, channels)`` samples in [-1, 1].
    sample_rate : int
    fmt, subtype : str, optional
        libsndfile major format and subtype (``"FLAC"``, ``"PCM_16"``, ...).
    """
    import soundfile as sf

    frames = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    name = target if isinstance(target, (str, os.PathLike)) else ""
    fmt, subtype = _sound_format(name, fmt, subtype)
    destination = str(target) if isinstance(target, (str, os.PathLike)) else target
    with sf.SoundFile(destination, "w", sample_rate, frames.shape[1], format=fmt, subtype=subtype) as f:
        for start in range(0, len(frames), SOUND_BLOCK_FRAMES):
            f.write(frames[start : start + SOUND_BLOCK_FRAMES])


def encode_sound(y: np.ndarray, sample_rate: int, *, fmt: str, subtype: str | None = None) -> bytes:
    """:func:`write_sound` into memory: the encoded file's bytes."""
    buffer = io.BytesIO()
    write_sound(buffer, y, sample_rate, fmt=fmt, subtype=subtype)
    return buffer.getvalue()


def atomic_write_sound(
    path: str | os.PathLike, y: np.ndarray, sample_rate: int, *, fmt: str | None = None, subtype: str | None = None
) -> None:
    """:func:`write_sound` to a temporary name beside ``path``, then renamed over it.

    Encoded in memory first: libsndfile reports a full disk as "System error", without the
    errno that tells the user what happened; a plain write of the bytes keeps it.
    """
    fmt, subtype = _sound_format(path, fmt, subtype)
    atomic_write_bytes(path, encode_sound(y, sample_rate, fmt=fmt, subtype=subtype))
