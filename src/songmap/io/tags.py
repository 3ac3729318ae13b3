"""The tags embedded in audio files: title, artist, album, genre, year, track number and the cover.

Tags are read with tinytag (MIT licence, read-only, pure Python): it reads
ID3v1/ID3v2.2-2.4 (mp3, and ID3 chunks in wav and aiff), Vorbis comments (ogg,
opus, flac), MP4 atoms (m4a) and RIFF INFO (wav), and gives every field as a
list, so multi-value frames stay apart. mutagen reads more but is GPL; PyAV's
container metadata, already a dependency, opens a decoder for every file and
joins multi-value fields into one string.

Tags are the user's, and often broken (truncated frames, wrong sizes, text in
another encoding than declared): a file whose tags cannot be read gets no tags
and a reason, never an exception, and is still mapped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from songmap.io.text import display_text

__all__ = ["TrackTags", "read_tags", "read_cover", "split_genres", "parse_year", "parse_track_number"]

_CONTROL = re.compile("[\x00-\x1f\x7f]")
#: Longest text kept from one tag value: tags are shown on a hover card, not read as documents.
MAX_TAG_CHARACTERS = 1000


@dataclass
class TrackTags:
    """What a file's tags say (None or empty where they say nothing).

    Attributes
    ----------
    title, artist, album : str or None
        The first value of each field.
    genre : list of str
        Every genre value, in tag order, without duplicates.
    year : int or None
        The year of the date field (``2005``, ``2005-04-01``).
    track_number : int or None
        The track number (``3`` of ``3/12``).
    problem : str or None
        Why the tags could not be read, when they could not.
    """

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: list[str] = field(default_factory=list)
    year: int | None = None
    track_number: int | None = None
    problem: str | None = None


def split_genres(values: list[str], separators: str = "") -> list[str]:
    """Genre values split at any of ``separators``, stripped, without empty or repeated names.

    Examples
    --------
    >>> split_genres(["Rock;Pop", "Rock"])
    ['Rock;Pop', 'Rock']
    >>> split_genres(["Rock;Pop", "Rock"], ";")
    ['Rock', 'Pop']
    """
    names: list[str] = []
    for value in values:
        parts = re.split("[" + re.escape(separators) + "]", value) if separators else [value]
        for part in parts:
            part = _clean(part)
            if part and part not in names:
                names.append(part)
    return names


def parse_year(value: str | None) -> int | None:
    """The year a date tag starts with (``1999``, ``1999-05-01``, ``1999/05``), or None.

    Examples
    --------
    >>> parse_year("1999-05-01"), parse_year("circa 1999"), parse_year("")
    (1999, None, None)
    """
    match = re.match(r"\s*(\d{4})(?!\d)", value or "")
    return int(match.group(1)) if match else None


def parse_track_number(value: str | None) -> int | None:
    """The track number of a track tag (``3``, ``03``, ``3/12``), or None.

    Examples
    --------
    >>> parse_track_number("03/12"), parse_track_number("A1")
    (3, None)
    """
    match = re.match(r"\s*(\d{1,6})\s*(?:/|$)", value or "")
    return int(match.group(1)) if match else None


def read_tags(path: str | os.PathLike, *, genre_separators: str = "") -> TrackTags:
    """Read the tags of one audio file.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file.
    genre_separators : str
        Characters that separate genres inside one value (e.g. ``";/"``); by
        default none, so ``AC/DC`` or ``Drum & Bass`` stay one name. Values of a
        multi-value field are always separate genres.

    Returns
    -------
    TrackTags
        Empty with a ``problem`` when the tags cannot be read; empty without
        one for a format that carries no tags tinytag reads.

    Examples
    --------
    >>> read_tags("song.mp3").artist  # doctest: +SKIP
    'Jens Erler'
    """
    from tinytag import TinyTag, UnsupportedFormatError

    try:
        tags = TinyTag.get(os.fspath(path), duration=False).as_dict()
    except UnsupportedFormatError:
        return TrackTags()
    except Exception as error:  # noqa: BLE001 - any broken tag (tinytag raises many kinds) only loses the tags
        return TrackTags(problem=f"unreadable tags ({_clean(str(error)) or type(error).__name__})")
    first = {name: _first(tags.get(name)) for name in ("title", "artist", "album", "year", "track")}
    return TrackTags(
        title=first["title"],
        artist=first["artist"],
        album=first["album"],
        genre=split_genres(_values(tags.get("genre")), genre_separators),
        year=parse_year(first["year"]),
        track_number=parse_track_number(first["track"]),
    )


def read_cover(path: str | os.PathLike) -> tuple[bytes, str] | None:
    """The embedded front cover (or any picture) of a file, as ``(bytes, MIME type)``, or None.

    Broken or missing pictures give None.
    """
    from tinytag import TinyTag

    try:
        images = TinyTag.get(os.fspath(path), duration=False, image=True).images
    except Exception:  # noqa: BLE001 - a broken picture is no picture
        return None
    image = images.front_cover or images.any
    if image is None or not image.data:
        return None
    # Tags often declare no type or a wrong one; the bytes say what a browser will show.
    mime = _sniff_image(image.data)
    return (image.data, mime) if mime else None


def _sniff_image(data: bytes) -> str | None:
    """MIME type of picture bytes by their signature (tags often declare none or a wrong one)."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _values(value) -> list[str]:
    """A tinytag field (a list, a value or None) as a list of strings."""
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _first(value) -> str | None:
    """The first non-empty value of a tinytag field, cleaned, or None."""
    for text in _values(value):
        text = _clean(text)
        if text:
            return text
    return None


def _clean(text: str) -> str:
    """Tag text as shown: printable (:func:`songmap.io.text.display_text`), stripped, at most a thousand characters."""
    return display_text(_CONTROL.sub(" ", text)).strip()[:MAX_TAG_CHARACTERS]
