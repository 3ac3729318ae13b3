"""Playlists of ``songmap path`` and ``songmap playlist``: M3U8 and XSPF for players, CSV for spreadsheets.

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

* **XSPF** (XML Shareable Playlist Format, version 1): UTF-8 XML; per track a
  ``<location>`` (a URI: the same location as in M3U8, percent-encoded, relative
  to the playlist's folder or an absolute ``file://`` URI), ``<title>``,
  ``<creator>`` (artist), ``<album>`` and ``<duration>`` in milliseconds, where
  known. The playlist's ``<annotation>`` is songmap's marker line.

* With ``relative_to`` (``--relative-to ~/Music``), M3U8 and XSPF locations are
  relative to that folder instead of the playlist's: the paths a media server
  that imports playlists from its library (Navidrome, Jellyfin) resolves against
  the library's root. Every track must lie inside it.

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
import xml.etree.ElementTree as ET
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
    "write_xspf",
    "xspf_text",
    "write_playlist",
    "is_songmap_playlist",
]

#: Columns of a playlist CSV.
PLAYLIST_COLUMNS = ("order", "file", "title", "category", "duration_s", "x", "y", "cluster_name")
#: The extensions a playlist may be written with, and the format each one means.
PLAYLIST_EXTENSIONS = {".m3u8": "m3u8", ".m3u": "m3u8", ".xspf": "xspf", ".csv": "csv"}
_XSPF_NAMESPACE = "http://xspf.org/ns/0/"
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


def _locations(tracks: list[dict], input_dir: str | os.PathLike, base: str | os.PathLike, inside: bool) -> list[str]:
    """Each track's :func:`m3u8_location` against ``base``; with ``inside``, every track must lie in ``base``."""
    locations = [m3u8_location(Path(input_dir) / track["file"], base) for track in tracks]
    if inside:
        outside = [t["file"] for t, loc in zip(tracks, locations) if loc.startswith(("../", "file:")) or loc == ".."]
        if outside:
            raise ValueError(f"{outside[0]} is not inside --relative-to {base} ({len(outside)} track(s) are not)")
    return locations


def _seconds(track: dict) -> float | None:
    duration = track.get("duration_s")
    return float(duration) if isinstance(duration, (int, float)) and duration == duration else None


def m3u8_text(tracks: list[dict], *, input_dir: str | os.PathLike, playlist_dir: str | os.PathLike, name: str,
              relative_to: str | os.PathLike | None = None) -> str:
    """The M3U8 text of ``tracks`` (``file`` relative to ``input_dir``, ``title``, ``duration_s``), locations
    relative to ``relative_to`` when given, else to ``playlist_dir``."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(name)}", f"{_MARKER} {__version__} playlist"]
    base = relative_to if relative_to is not None else playlist_dir
    for track, location in zip(tracks, _locations(tracks, input_dir, base, relative_to is not None)):
        seconds = _seconds(track)
        title = _one_line(track.get("title") or Path(track["file"]).stem)
        lines.append(f"#EXTINF:{-1 if seconds is None else round(seconds)},{title}")
        lines.append(location)
    return "\n".join(lines) + "\n"


def write_m3u8(path: str | os.PathLike, tracks: list[dict], *, input_dir: str | os.PathLike, name: str,
               relative_to: str | os.PathLike | None = None) -> None:
    """Write ``tracks`` as an M3U8 playlist at ``path`` (locations relative to its folder or ``relative_to``), atomically."""
    path = Path(path)
    atomic_write_text(path, m3u8_text(tracks, input_dir=input_dir, playlist_dir=path.parent, name=name, relative_to=relative_to))


def xspf_text(tracks: list[dict], *, input_dir: str | os.PathLike, playlist_dir: str | os.PathLike, name: str,
              relative_to: str | os.PathLike | None = None) -> str:
    """The XSPF document of ``tracks`` (see the module docstring), written with :mod:`xml.etree.ElementTree`."""
    ET.register_namespace("", _XSPF_NAMESPACE)

    def child(parent, tag: str, text: str | None = None):
        node = ET.SubElement(parent, f"{{{_XSPF_NAMESPACE}}}{tag}")
        if text is not None:
            node.text = text
        return node

    playlist = ET.Element(f"{{{_XSPF_NAMESPACE}}}playlist", version="1")
    child(playlist, "title", _one_line(name))
    child(playlist, "annotation", f"{_MARKER} {__version__} playlist")
    track_list = child(playlist, "trackList")
    base = relative_to if relative_to is not None else playlist_dir
    for track, location in zip(tracks, _locations(tracks, input_dir, base, relative_to is not None)):
        entry = child(track_list, "track")
        # A location is a URI: a relative path is percent-encoded (a file:// URI already is).
        child(entry, "location", location if location.startswith("file:") else quote(location, safe="/"))
        child(entry, "title", _one_line(track.get("title") or Path(track["file"]).stem))
        for tag, key in (("creator", "artist"), ("album", "album")):
            if isinstance(track.get(key), str) and track[key].strip():
                child(entry, tag, _one_line(track[key]))
        seconds = _seconds(track)
        if seconds is not None:
            child(entry, "duration", str(round(seconds * 1000)))
    ET.indent(playlist)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(playlist, encoding="unicode") + "\n"


def write_xspf(path: str | os.PathLike, tracks: list[dict], *, input_dir: str | os.PathLike, name: str,
               relative_to: str | os.PathLike | None = None) -> None:
    """Write ``tracks`` as an XSPF playlist at ``path``, atomically."""
    path = Path(path)
    atomic_write_text(path, xspf_text(tracks, input_dir=input_dir, playlist_dir=path.parent, name=name, relative_to=relative_to))


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


def write_playlist(path: str | os.PathLike, tracks: list[dict], *, input_dir: str | os.PathLike, name: str,
                   relative_to: str | os.PathLike | None = None) -> str:
    """Write ``tracks`` in the format of ``path``'s extension (:data:`PLAYLIST_EXTENSIONS`); returns the format.

    ``relative_to`` makes M3U8 and XSPF locations relative to that folder (ignored for CSV, whose
    ``file`` column is always relative to the map's input folder).

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
    elif kind == "xspf":
        write_xspf(path, tracks, input_dir=input_dir, name=name, relative_to=relative_to)
    else:
        write_m3u8(path, tracks, input_dir=input_dir, name=name, relative_to=relative_to)
    return kind


def is_songmap_playlist(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a playlist songmap wrote (so it may be replaced without ``--force``).

    An M3U8 with songmap's comment as its third line, an XSPF whose annotation (its fourth line)
    is that comment, or a CSV whose header is exactly :data:`PLAYLIST_COLUMNS`.
    """
    try:
        with open(path, encoding="utf-8") as f:
            head = [f.readline().rstrip("\n") for _ in range(4)]
    except (OSError, UnicodeDecodeError):
        return False
    if head[0].startswith("<?xml"):
        return head[3].strip().startswith(f"<annotation>{_MARKER} ")
    if head[0] == "#EXTM3U":
        return head[2].startswith(_MARKER + " ")
    return head[0] == ",".join(PLAYLIST_COLUMNS)
