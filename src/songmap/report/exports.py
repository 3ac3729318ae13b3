"""A map in the formats of neighbouring tools: the notebooks' embeddings file, a plain TSV.

``songmap export`` writes them from ``embeddings.json`` (one owner per format, here):

* ``notebooks``: the file the original notebooks' visualising notebook reads, a JSON
  object from each track's spectrogram file name (its path with ``.npy`` for the audio
  extension, ``25. Black Mist.npy``) to its ``[x, y]``::

      {"25. Black Mist.npy": [0.412, -1.203], "26. Black Mist (Storm).npy": [0.398, -1.187]}

* ``tsv``: a header ``file<TAB>x<TAB>y`` and one row per track (the file relative to the
  input folder, names kept exactly; for spreadsheets and other viewers).

Both are written atomically; coordinates are the exact floats of ``embeddings.json``.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import PurePosixPath

from songmap.io.atomic import atomic_write_text
from songmap.io.text import display_text
from songmap.report.documents import write_json_document

__all__ = [
    "EXPORT_FILENAMES",
    "EXPORT_FORMATS",
    "notebooks_embeddings",
    "notebooks_key",
    "write_embeddings_tsv",
    "write_notebooks_embeddings",
]

#: Formats of ``songmap export``, in the order the help lists them.
EXPORT_FORMATS = ("notebooks", "tsv")
#: The file each format is written to in the output folder unless ``--output`` names another.
EXPORT_FILENAMES = {"notebooks": "embeddings-notebooks.json", "tsv": "embeddings.tsv"}


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
