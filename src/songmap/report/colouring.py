"""What a map can be coloured by: the tracks' groups by category, genre, artist, album, decade or
cluster, or bins of a continuous value (duration, the map's trust), each with its colours.

map.png (``songmap map --colour-by``) and the map page's "Colour by" list both take their groups and
colours from here, so the two always agree. A continuous value is shown as a sequential scale in up
to :data:`CONTINUOUS_BINS` bins of equal counts (quantiles), so its legend can filter like any other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from songmap.report.palette import UNCATEGORISED_COLOUR, category_colours, sequential_colours

__all__ = ["COLOUR_KEYS", "CONTINUOUS_BINS", "Colouring", "check_colour_key", "colourings", "colouring", "default_colour_key"]

#: Every key a map can be coloured by, in the order the page lists them.
COLOUR_KEYS = ("category", "genre", "artist", "album", "decade", "cluster", "duration", "trust")
CONTINUOUS_BINS = 6
_LABELS = {"category": "Category", "genre": "Genre", "artist": "Artist", "album": "Album", "decade": "Decade",
           "cluster": "Cluster", "duration": "Duration", "trust": "Trust (trustworthiness)"}
_NONE_LABELS = {"category": "uncategorised", "genre": "no genre", "artist": "no artist", "album": "no album",
                "decade": "no year", "cluster": "in no cluster", "duration": "unknown", "trust": "unknown"}


@dataclass
class Colouring:
    """The tracks' groups under one colour key.

    Attributes
    ----------
    key, label : str
        The key (:data:`COLOUR_KEYS`) and its name for people.
    names : list of str
        The groups, in legend order (sorted names; bins from low to high).
    colours : list of str
        ``#rrggbb`` of each group.
    codes : list of int
        Each track's group (an index into ``names``), -1 for a track without a value.
    none_label, none_colour : str
        Legend entry of tracks without a value.
    edges : list of float or None
        For a continuous key, the bins' edges (``len(names) + 1``, ascending): a value ``v`` is
        in the bin of the number of inner edges ``<= v``.
    """

    key: str
    label: str
    names: list[str]
    colours: list[str]
    codes: list[int]
    none_label: str
    none_colour: str = UNCATEGORISED_COLOUR
    edges: list[float] | None = None

    def group_of(self, index: int) -> tuple[str, str]:
        """The group name and colour of track ``index``."""
        code = self.codes[index]
        return (self.none_label, self.none_colour) if code < 0 else (self.names[code], self.colours[code])


def check_colour_key(key: str) -> str:
    """``key`` when it is one of :data:`COLOUR_KEYS`; else a ValueError saying which are.

    Examples
    --------
    >>> check_colour_key("genre")
    'genre'
    """
    if key not in COLOUR_KEYS:
        raise ValueError(f"cannot colour by {key!r}: choose one of {', '.join(COLOUR_KEYS)}")
    return key


def _value(track: dict, key: str):
    """Track's value under a discrete key, or None."""
    if key == "genre":
        genres = track.get("genre") or []
        return str(genres[0]) if isinstance(genres, list) and genres else None  # the first genre colours
    if key == "decade":
        year = track.get("year")
        return f"{year // 10 * 10}s" if isinstance(year, int) and not isinstance(year, bool) else None
    if key == "cluster":
        return track.get("cluster_name") or None
    value = track.get(key)
    return str(value) if value not in (None, "") else None


def _number(track: dict, key: str) -> float | None:
    value = track.get("duration_s" if key == "duration" else "trustworthiness")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _bin_label(low: float, high: float, key: str) -> str:
    if key == "duration":
        return f"{_clock(low)}–{_clock(high)}"
    return f"{low:.2f}–{high:.2f}"


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def colouring(tracks: list[dict], key: str) -> Colouring | None:
    """The groups of ``tracks`` (embeddings.json entries) under ``key``, or None when no track has a value.

    Examples
    --------
    >>> c = colouring([{"genre": ["Rock", "Pop"]}, {"genre": []}], "genre")
    >>> c.names, c.codes
    (['Rock'], [0, -1])
    """
    if check_colour_key(key) in ("duration", "trust"):
        import numpy as np  # here, not at the top: the CLI's options import this module's keys

        values = [_number(t, key) for t in tracks]
        known = np.array([v for v in values if v is not None])
        if len(np.unique(known)) < 2:
            return None
        edges = np.unique(np.quantile(known, np.linspace(0, 1, min(CONTINUOUS_BINS, len(np.unique(known))) + 1)))
        names = [_bin_label(lo, hi, key) for lo, hi in zip(edges[:-1], edges[1:])]
        inner = edges[1:-1]
        codes = [-1 if v is None else int(np.searchsorted(inner, v, side="right")) for v in values]
        return Colouring(key, _LABELS[key], names, sequential_colours(len(names)), codes, _NONE_LABELS[key],
                         edges=[float(e) for e in edges])
    values = [_value(t, key) for t in tracks]
    names = sorted({v for v in values if v is not None})
    if not names:
        return None
    colours = category_colours(names)
    index_of = {name: k for k, name in enumerate(names)}
    return Colouring(key, _LABELS[key], names, [colours[n] for n in names],
                     [-1 if v is None else index_of[v] for v in values], _NONE_LABELS[key])


def colourings(tracks: list[dict]) -> dict[str, Colouring]:
    """Every colouring of ``tracks`` that some track has a value for, by key, in :data:`COLOUR_KEYS` order.

    Category is always there (all tracks "uncategorised" without metadata), so a map always has one.
    """
    found = {key: colouring(tracks, key) for key in COLOUR_KEYS}
    if found["category"] is None:
        found["category"] = Colouring("category", _LABELS["category"], [], [], [-1] * len(tracks), _NONE_LABELS["category"])
    return {key: c for key, c in found.items() if c is not None}


def default_colour_key(available: dict[str, Colouring]) -> str:
    """What a map is coloured by unless asked: its categories, else its genres, artists or albums
    (the first that tells at least two groups apart), else its clusters, else categories."""
    for key in ("category", "genre", "artist", "album", "cluster"):
        c = available.get(key)
        if c is not None and len(c.names) + (1 if -1 in c.codes else 0) >= 2:
            return key
    return "category"
