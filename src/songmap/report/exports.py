"""A map in the formats of neighbouring tools: the notebooks' embeddings file, a plain TSV, parquet.

``songmap export`` writes them from ``embeddings.json`` (one owner per format, here):

* ``notebooks``: the file the original notebooks' visualising notebook reads, a JSON
  object from each track's spectrogram file name (its path with ``.npy`` for the audio
  extension, ``25. Black Mist.npy``) to its ``[x, y]``::

      {"25. Black Mist.npy": [0.412, -1.203], "26. Black Mist (Storm).npy": [0.398, -1.187]}

* ``tsv``: a header ``file<TAB>x<TAB>y`` and one row per track (the file relative to the
  input folder, names kept exactly; for spreadsheets and other viewers).

* ``parquet``: the map's data frame (:func:`songmap.report.frames.map_frame`), its
  ``attrs`` kept as pandas keeps them, plus a ``neighbors`` column in the shape
  embedding-atlas reads (``embedding-atlas map.parquet --x x --y y --neighbors neighbors``):
  ``{"ids": [...], "distances": [...]}``, the ids zero-based row numbers. Maps made
  before tracks had neighbours have no ``neighbors`` column. Needs pandas and pyarrow
  (``songmap[data]``).

All are written atomically; coordinates are the exact floats of ``embeddings.json``.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from songmap._extras import import_extra
from songmap.io.atomic import atomic_path, atomic_write_text
from songmap.io.text import display_text
from songmap.report.documents import write_json_document
from songmap.report.frames import TEXT_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXPORT_FILENAMES",
    "EXPORT_FORMATS",
    "ATLAS_NEIGHBOURS_COLUMN",
    "atlas_neighbours",
    "notebooks_embeddings",
    "notebooks_key",
    "write_embeddings_tsv",
    "write_map_parquet",
    "write_notebooks_embeddings",
]

#: Formats of ``songmap export``, in the order the help lists them.
EXPORT_FORMATS = ("notebooks", "tsv", "parquet")
#: The file each format is written to in the output folder unless ``--output`` names another.
EXPORT_FILENAMES = {"notebooks": "embeddings-notebooks.json", "tsv": "embeddings.tsv", "parquet": "map.parquet"}
#: The parquet column of neighbours as embedding-atlas reads them (its spelling, its shape).
ATLAS_NEIGHBOURS_COLUMN = "neighbors"


def notebooks_key(file: str) -> str:
    """The notebooks' key of a track: its relative path with ``.npy`` for its extension.

    Examples
    --------
    >>> notebooks_key("25. Black Mist.mp3")
    '25. Black Mist.npy'
    >>> notebooks_key("effects/Boom.wav")
    'effects/Boom.npy'
    """
    return str(PurePosixPath(file).with_suffix(".npy"))


def notebooks_embeddings(tracks: list[dict]) -> tuple[dict[str, list[float]], dict[str, list[str]]]:
    """The notebooks' embeddings object of ``tracks`` and the keys several tracks would share.

    Two files differing only by extension (``a.wav`` and ``a.mp3``) have one key:
    the first track keeps it, and the returned dict lists each such key with
    all its files (the first one exported).
    """
    embeddings: dict[str, list[float]] = {}
    files: dict[str, list[str]] = {}
    for track in tracks:
        key = notebooks_key(track["file"])
        files.setdefault(key, []).append(track["file"])
        embeddings.setdefault(key, [float(track["x"]), float(track["y"])])
    return embeddings, {key: names for key, names in files.items() if len(names) > 1}


def write_notebooks_embeddings(path: str | os.PathLike, tracks: list[dict]) -> dict[str, list[str]]:
    """Write the notebooks' embeddings file of ``tracks`` (UTF-8 JSON), atomically.

    Returns the keys several tracks share (see :func:`notebooks_embeddings`).
    """
    embeddings, shared = notebooks_embeddings(tracks)
    write_json_document(path, embeddings)
    return shared


def write_embeddings_tsv(path: str | os.PathLike, tracks: list[dict]) -> None:
    """Write ``file<TAB>x<TAB>y`` with a header, one row per track (UTF-8, ``\\n``), atomically.

    A name that is not valid UTF-8 is written with a replacement character; a
    name holding a tab, quote or line break is quoted as CSV readers expect.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(["file", "x", "y"])
    for track in tracks:
        writer.writerow([display_text(track["file"]), repr(float(track["x"])), repr(float(track["y"]))])
    atomic_write_text(path, buffer.getvalue())


def atlas_neighbours(frame: pd.DataFrame) -> list[dict[str, list] | None]:
    """Each row's ``neighbours`` and ``neighbour_distances`` as embedding-atlas's ``{"ids", "distances"}``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"neighbours": [[1], None], "neighbour_distances": [[0.25], None]})
    >>> atlas_neighbours(frame)
    [{'ids': [1], 'distances': [0.25]}, None]
    """
    return [
        None if ids is None else {"ids": [int(i) for i in ids], "distances": [float(d) for d in distances]}
        for ids, distances in zip(frame["neighbours"], frame["neighbour_distances"])
    ]


def write_map_parquet(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Write a map's frame as parquet for pandas and embedding-atlas, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    frame : pandas.DataFrame
        :func:`songmap.report.frames.map_frame` of the map; not changed.

    Notes
    -----
    Parquet text is UTF-8, so a name that is not (its bytes kept as ``\\udcXX``
    escapes) is written with a replacement character, as in the TSV.
    ``pandas.read_parquet`` gives back ``frame`` with its ``attrs``, the list cells as
    NumPy arrays, and the ``neighbors`` column added when the map has neighbours.
    """
    import_extra("pyarrow", extra="data", purpose="the parquet export")
    table = frame.copy()
    for name in TEXT_COLUMNS:
        # Through object and back: map() on a column of only missing text would make it float.
        table[name] = table[name].astype(object).map(display_text, na_action="ignore").astype(frame[name].dtype)
    if table["neighbours"].notna().any():
        table[ATLAS_NEIGHBOURS_COLUMN] = atlas_neighbours(table)
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, engine="pyarrow", index=False)
