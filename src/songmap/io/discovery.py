"""Finding audio: the one list of audio extensions, and files that are audio by their content.

A file counts as audio by its extension or, whatever its extension, by its first bytes; finding
files and serving them both read :data:`AUDIO_CONTENT_TYPES`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["AUDIO_CONTENT_TYPES", "AUDIO_EXTENSIONS", "find_audio_files", "looks_like_audio"]

#: MIME type of each extension that marks a file as audio without looking inside it (the one
#: list of audio extensions: finding files and serving them both read it). Files with other
#: extensions are still taken when their first bytes say they are audio.
AUDIO_CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".wave": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".flac": "audio/flac",
    ".opus": "audio/opus",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".mp4": "audio/mp4",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".aifc": "audio/aiff",
    ".wma": "audio/x-ms-wma",
    ".webm": "audio/webm",
}
AUDIO_EXTENSIONS = frozenset(AUDIO_CONTENT_TYPES)

# Extensions that are certainly not audio; skipping them avoids sniffing every
# cover image and text file of a music folder.
_NOT_AUDIO_EXTENSIONS = frozenset(
    {
        ".csv", ".txt", ".md", ".json", ".html", ".htm", ".png", ".jpg", ".jpeg",
        ".gif", ".bmp", ".pdf", ".cue", ".log", ".m3u", ".m3u8", ".pls", ".nfo",
        ".xml", ".py", ".pt", ".npy", ".npz", ".db", ".ini", ".sfv", ".lrc",
    }
)


def looks_like_audio(path: str | os.PathLike) -> bool:
    """Tell from the first bytes of a file whether it is an audio container.

    Parameters
    ----------
    path : str or os.PathLike
        File to look at.

    Returns
    -------
    bool
        True for RIFF/WAVE, Ogg, FLAC, AIFF, MP3 (ID3 tag or MPEG frame sync),
        ADTS AAC and MP4/M4A (``ftyp`` box).
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    if len(head) < 4:
        return False
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"RF64"):
        return True
    if head[:4] in (b"OggS", b"fLaC", b"RF64") or head[:3] == b"ID3":
        return True
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return True
    if head[4:8] == b"ftyp":
        return True
    # MPEG audio frame sync (mp3) or ADTS (aac): 11 set bits.
    return head[0] == 0xFF and (head[1] & 0xE0) == 0xE0


def find_audio_files(
    folder: str | os.PathLike,
    exclude: str | os.PathLike | None = None,
    errors: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """Walk a folder recursively and list the files that are, or claim to be, audio.

    A file counts when its extension is an audio extension (so that a broken
    ``.mp3``, a dangling link or a named pipe called ``.wav`` is reported rather
    than silently ignored) or when its content starts like an audio container
    whatever its extension. Hidden files and folders (``.DS_Store``, macOS
    ``._name`` companions, ``.git``) are left out.

    Parameters
    ----------
    folder : str or os.PathLike
        Folder to walk. Symbolic links to folders are not followed (no loops).
    exclude : str or os.PathLike, optional
        A folder inside ``folder`` to leave out, e.g. songmap's own output folder.
    errors : list, optional
        Receives ``(folder, reason)`` for each subfolder that could not be read.

    Returns
    -------
    list of pathlib.Path
        Sorted paths.
    """
    root = Path(folder)
    excluded = Path(exclude).resolve() if exclude is not None else None
    found: list[Path] = []

    def on_error(exc: OSError) -> None:
        if errors is not None and exc.filename is not None:
            errors.append((Path(exc.filename), f"cannot read folder ({exc.strerror or exc})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        if excluded is not None and Path(dirpath).resolve() == excluded:
            dirnames[:] = []
            continue
        # Hidden folders (.git, .cache, songmap caches) are never part of a collection.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            suffix = path.suffix.lower()
            if not path.is_file():
                # A dangling or looping link, a pipe or a device named like audio: reported, never opened here.
                if suffix in AUDIO_EXTENSIONS and not path.is_dir():
                    found.append(path)
                continue
            if suffix in AUDIO_EXTENSIONS or (suffix not in _NOT_AUDIO_EXTENSIONS and looks_like_audio(path)):
                found.append(path)
    return sorted(found)
