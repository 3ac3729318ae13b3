"""A map as a :class:`pandas.DataFrame`: one row per track of ``embeddings.json``.

Every key of the document's tracks is a column, in the order of :data:`FRAME_COLUMNS`
(keys a newer songmap may add follow, in the order they first appear). A key a
track lacks — a map made before the key existed, a track with no trajectory — is
missing in its row: ``NaN`` for numbers, ``<NA>`` for ``cluster``, ``None`` for
text and lists. The columns' types do not depend on the map:

* ``file``, ``title``, ``category``, ``cluster_name``, ``artist``, ``album``, ``damaged``: text
  (pandas' ``str``; its Python storage in a column holding a name that is not valid
  UTF-8, kept exactly);
* ``duration_s``, ``x``, ``y``, ``trustworthiness``, ``continuity``: ``float64``;
* ``cluster`` (-1 for a track in no cluster), ``year``, ``track_number``,
  ``file_size``, ``file_mtime_ns``: nullable ``Int64``;
* ``added_after_training``: nullable ``boolean`` (true for a track ``songmap update``
  placed since the map was trained);
* ``neighbours`` (row numbers of the frame, nearest first), ``neighbour_distances``,
  ``path`` (``[[x, y], ...]``) and ``genre``: Python lists.

Everything else in the document — ``params``, ``clusters``, ``quality``,
``input_dir``, ``training``, ``skipped``, ``pairs``, ``songmap_version``,
``created`` — is on the frame's :attr:`~pandas.DataFrame.attrs` (``clusters`` is
``[]`` and ``quality`` ``{}`` for maps made before them). pandas is optional
(``songmap[data]``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from songmap._extras import import_extra

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FRAME_COLUMNS", "TEXT_COLUMNS", "map_frame"]

#: The columns of a map's frame, in order: the keys of ``embeddings.json``'s tracks.
FRAME_COLUMNS = (
    "file", "title", "category", "duration_s", "x", "y", "neighbours", "neighbour_distances",
    "cluster", "cluster_name", "trustworthiness", "continuity", "path",
    "artist", "album", "genre", "year", "track_number", "file_size", "file_mtime_ns", "added_after_training",
    "damaged",
)
#: The text columns (names and tags as the files and metadata spell them).
TEXT_COLUMNS = ("file", "title", "category", "cluster_name", "artist", "album", "damaged")
_FLOAT_COLUMNS = frozenset({"duration_s", "x", "y", "trustworthiness", "continuity"})
_INT_COLUMNS = frozenset({"cluster", "year", "track_number", "file_size", "file_mtime_ns"})
_LIST_COLUMNS = frozenset({"neighbours", "neighbour_distances", "path", "genre"})
#: Keys on ``attrs`` for every map, with their value for maps made before the key existed.
_ATTRS_DEFAULTS = {"params": {}, "clusters": [], "quality": {}}


def _float_or_nan(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def _column(pd, name: str, values: list[Any]):
    """One column of the frame, typed as the module docstring says whatever the values."""
    if name in _FLOAT_COLUMNS:
        return pd.array([_float_or_nan(value) for value in values], dtype="float64")
    if name in _INT_COLUMNS:
        return pd.array([value if isinstance(value, int) and not isinstance(value, bool) else None for value in values],
                        dtype="Int64")
    if name == "added_after_training":
        return pd.array([value if isinstance(value, bool) else None for value in values], dtype="boolean")
    if name in TEXT_COLUMNS:
        text = [None if value is None else str(value) for value in values]
        try:  # pandas 3's text dtype ("str", NaN for missing), on pandas 2.3 too
            return pd.array(text, dtype=pd.StringDtype(na_value=math.nan))
        except UnicodeEncodeError:
            # A name that is not UTF-8 (kept as \udcXX so it opens the file) cannot be held by pyarrow's storage.
            return pd.array(text, dtype=pd.StringDtype(storage="python", na_value=math.nan))
    if name in _LIST_COLUMNS:
        values = [value if isinstance(value, list) else None for value in values]
    if name in _LIST_COLUMNS or any(isinstance(value, (list, dict)) for value in values):
        # An object column keeps each cell a list (pd.array would take a list for a row of cells).
        column = pd.Series([None] * len(values), dtype=object)
        column[:] = values
        return column.array
    return pd.array(values)  # a key a newer songmap added: pandas infers its type


def map_frame(doc: dict[str, Any]) -> pd.DataFrame:
    """The map of an ``embeddings.json`` document as a data frame (see the module docstring).

    Parameters
    ----------
    doc : dict
        A validated embeddings document (:func:`songmap.report.documents.read_embeddings`).

    Returns
    -------
    pandas.DataFrame
        One row per track, in the document's order (so ``neighbours`` are row
        numbers), with the rest of the document on ``attrs``.

    Raises
    ------
    songmap._extras.MissingExtraError
        If pandas is not installed (``pip install 'songmap[data]'``).

    Examples
    --------
    >>> doc = {"input_dir": "/music", "params": {"preset": "seed"}, "skipped": [],
    ...        "tracks": [{"file": "a.wav", "title": "a", "category": None, "x": 0.5, "y": 1.0},
    ...                   {"file": "b.wav", "title": "b", "category": None, "x": 2.0, "y": -1.0}]}
    >>> frame = map_frame(doc)
    >>> frame[["file", "x", "y"]]
        file    x    y
    0  a.wav  0.5  1.0
    1  b.wav  2.0 -1.0
    >>> frame.attrs["params"], frame.attrs["clusters"]
    ({'preset': 'seed'}, [])
    """
    pd = import_extra("pandas", extra="data", purpose="a map as a data frame")
    tracks = doc["tracks"]
    names = list(FRAME_COLUMNS)
    for track in tracks:
        names += [key for key in track if key not in names]
    frame = pd.DataFrame({name: _column(pd, name, [track.get(name) for track in tracks]) for name in names},
                         index=pd.RangeIndex(len(tracks)))
    frame.attrs = {**_ATTRS_DEFAULTS, **{key: value for key, value in doc.items() if key != "tracks"}}
    return frame
