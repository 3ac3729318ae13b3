"""Playlists of ``songmap path`` and ``songmap playlist``: M3U8 for players, CSV for spreadsheets.

* **M3U8** (also written for ``.m3u``): UTF-8 without BOM, ``\\n`` line ends::

      #EXTM3U
      #PLAYLIST:Path from Moonlit Meadow to Boss Rush
      # songmap 0.1.0 playlist
      #EXTINF:61,Moonlit Meadow
      ../soundtrack/Moonlit Meadow.ogg

  Each track is ``#EXTINF:<whole seconds, rounded; -1 unknown>,<title>`` and its
  location *relative to the playlist's folder* with forward slashes, so the
  playlist and the music can move together; VLC, mpv, foobar2000 and ffmpeg read
  these as paths (spaces, ``#``, ``%`` and emoji kept as they are; a path that
  would start with ``#`` is written ``./#...`` so it is not read as a comment).
  A file name that is not valid UTF-8, or that holds a control character (a
  line break would end the line), is written as an absolute ``file://`` URI with
  its bytes percent-encoded (RFC 8089), which VLC and mpv open; ffmpeg's
  ``file:`` protocol does not decode percent escapes, so it cannot open those
  lines. The third line is a comment players skip, by which songmap knows a
  playlist it wrote (:func:`is_songmap_playlist`).

* **CSV**: UTF-8, header :data:`PLAYLIST_COLUMNS`, one row per track in order
  (``order`` from 1; ``file`` relative to the map's input folder as in
  ``embeddings.json``; text cells as in ``embeddings.csv``).

Both are written atomically (:mod:`songmap.io.atomic`).
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

from songmap._version import __version__
from songmap.io.atomic import atomic_write_text
from songmap.io.text import display_text
from songmap.report.documents import csv_cell

__all__ = [
    "PLAYLIST_COLUMNS",
    "PLAYLIST_EXTENSIONS",
    "m3u8_location",
    "m3u8_text",
    "read_m3u8",
    "write_m3u8",
    "write_playlist_csv",
    "write_playlist",
    "is_songmap_playlist",
]

#: Columns of a playlist CSV.
PLAYLIST_COLUMNS = ("order", "file", "title", "category", "duration_s", "x", "y", "cluster_name")
#: The extensions a playlist may be written with, and the format each one means.
PLAYLIST_EXTENSIONS = {".m3u8": "m3u8", ".m3u": "m3u8", ".csv": "csv"}
_MARKER = "# songmap"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def m3u8_location(audio: str | os.PathLike, playlist_dir: str | os.PathLike) -> str:
    """How a playlist in ``playlist_dir`` names the file ``audio`` (see the module docstring).

    Examples
    --------
    >>> m3u8_location("/music/in/a b.ogg", "/music/lists")
    '../in/a b.ogg'
    >>> m3u8_location("/music/#1.ogg", "/music")
    './#1.ogg'
    >>> m3u8_location("/music/caf\\udce9.ogg", "/x")
    'file:///music/caf%E9.ogg'
    """
    audio = os.path.abspath(audio)
    if not _is_utf8(audio) or _CONTROL.search(audio):
        return "file://" + quote(os.fsencode(audio), safe="/")
    try:
        relative = os.path.relpath(audio, os.path.abspath(playlist_dir)).replace(os.sep, "/")
    except ValueError:  # Windows: another drive has no relative path
        return Path(audio).as_uri()
    return "./" + relative if relative.startswith("#") else relative


def _one_line(text: str) -> str:
    return " ".join(display_text(str(text)).split())


def m3u8_text(tracks: list[dict], *, input_dir: str | os.PathLike, playlist_dir: str | os.PathLike, name: str) -> str:
    """The M3U8 text of ``tracks`` (``file`` relative to ``input_dir``, ``title``, ``duration_s``)."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(name)}", f"{_MARKER} {__version__} playlist"]
    for track in tracks:
        duration = track.get("duration_s")
        seconds = round(duration) if isinstance(duration, (int, float)) and duration == duration else -1
        title = _one_line(track.get("title") or Path(track["file"]).stem)
        lines.append(f"#EXTINF:{seconds},{title}")
        lines.append(m3u8_location(Path(input_dir) / track["file"], playlist_dir))
    return "\n".join(lines) + "\n"


def write_m3u8(path: str | os.PathLike, tracks: list[dict], *, input_dir: str | os.PathLike, name: str) -> None:
    """Write ``tracks`` as an M3U8 playlist at ``path`` (locations relative to its folder), atomically."""
    path = Path(path)
    atomic_write_text(path, m3u8_text(tracks, input_dir=input_dir, playlist_dir=path.parent, name=name))


def read_m3u8(path: str | os.PathLike) -> list[tuple[int, str, Path]]:
    """Read an extended M3U(8) playlist: ``(seconds, title, file)`` per entry, files resolved.

    Relative locations are resolved against the playlist's folder; ``file://``
    URIs are percent-decoded to the exact bytes of the name. The tests read
    songmap's playlists back with it; it accepts any extended M3U.

    Raises
    ------
    ValueError
        When the file does not start with ``#EXTM3U`` or an entry lacks ``#EXTINF``.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].lstrip("\ufeff") != "#EXTM3U":
        raise ValueError(f"{path} is not an extended M3U playlist (no #EXTM3U first line)")
    entries, info = [], None
    for line in lines[1:]:
        if line.startswith("#EXTINF:"):
            seconds, _, title = line[len("#EXTINF:") :].partition(",")
            info = (int(float(seconds)), title)
        elif line.startswith("#") or not line.strip():
            continue
        else:
            if info is None:
                raise ValueError(f"{path}: {line!r} has no #EXTINF line before it")
            if line.startswith("file://"):
                file = Path(os.fsdecode(unquote_to_bytes(line[len("file://") :])))
            else:
                file = path.parent / line
            entries.append((info[0], info[1], file))
            info = None
    return entries


def write_playlist_csv(path: str | os.PathLike, tracks: list[dict]) -> None:
    """Write ``tracks`` in order with columns :data:`PLAYLIST_COLUMNS` (UTF-8, header), atomically."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PLAYLIST_COLUMNS)
    for order, track in enumerate(tracks, start=1):
        writer.writerow([order, *(csv_cell(track.get(column)) for column in PLAYLIST_COLUMNS[1:])])
    atomic_write_text(path, buffer.getvalue())


def write_playlist(path: str | os.PathLike, tracks: list[dict], *, input_dir: str | os.PathLike, name: str) -> str:
    """Write ``tracks`` in the format of ``path``'s extension (:data:`PLAYLIST_EXTENSIONS`); returns the format.

    Raises
    ------
    ValueError
        For any other extension.
    """
    kind = PLAYLIST_EXTENSIONS.get(Path(path).suffix.lower())
    if kind is None:
        raise ValueError(f"a playlist is written as {', '.join(PLAYLIST_EXTENSIONS)}, not {Path(path).name!r}")
    if kind == "csv":
        write_playlist_csv(path, tracks)
    else:
        write_m3u8(path, tracks, input_dir=input_dir, name=name)
    return kind


def is_songmap_playlist(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a playlist songmap wrote (so it may be replaced without ``--force``).

    An M3U8 with songmap's comment as its third line, or a CSV whose header is
    exactly :data:`PLAYLIST_COLUMNS`.
    """
    try:
        with open(path, encoding="utf-8") as f:
            head = [f.readline().rstrip("\n") for _ in range(3)]
    except (OSError, UnicodeDecodeError):
        return False
    if head[0] == "#EXTM3U":
        return head[2].startswith(_MARKER + " ")
    return head[0] == ",".join(PLAYLIST_COLUMNS)
