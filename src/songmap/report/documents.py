"""The documents songmap writes and reads: ``embeddings.json`` / ``embeddings.csv`` and ``quality.json``.

``embeddings.json`` format (version 1, stable; new keys may be added)::

    {
      "songmap_version": "0.1.0",
      "format_version": 1,
      "created": "2026-11-25T10:00:00+00:00",     # UTC, ISO 8601
      "input_dir": "/absolute/path/of/INPUT_DIR",
      "params": {...},                              # everything SongMapper was fitted with,
                                                    # plus "crop_seconds" it chose
      "training": {"epochs_run", "best_epoch", "best_loss", "stopped_early"},
      "tracks": [{"file", "title", "category", "duration_s", "x", "y",
                  "artist", "album", "genre", "year", "track_number",
                  "neighbours", "neighbour_distances", "cluster", "cluster_name",
                  "trustworthiness", "continuity"}, ...],
      "clusters": [{"id", "name", "size", "category", "centre"}, ...],
      "skipped": [{"file", "reason"}, ...],
      "pairs": [{"a", "b", "kind", "distance", "rank_a_to_b", "rank_b_to_a", "median_nn_distance"}]
    }

``file`` is relative to ``input_dir`` with forward slashes; ``category`` is null
when metadata has none; ``pairs`` is present when ``INPUT_DIR/pairs.csv`` is.

Added for libraries (documents written before them lack these keys): ``artist``
and ``album`` (string or null), ``genre`` (a list of strings, maybe empty),
``year`` and ``track_number`` (int or null), from the file's tags overridden
cell by cell by metadata.csv (:meth:`songmap.io.collection.Collection.describe`);
``title`` is the tag's when metadata has none. ``colour_by`` (top level, only when
``songmap map --colour-by`` gave one) is what map.png and the page are first coloured by.
``file_size`` and ``file_mtime_ns`` (ints) stamp each track's file, ``added_after_training``
(true, else absent) marks a track ``songmap update`` placed since training, and ``scan`` (top
level) holds the folder's read options (:mod:`songmap.app.jobs.updating`). ``damaged`` (a
string, else absent) says what was damaged in a file mapped from the part that decodes.

Added for listening (:mod:`songmap.evaluation.listening`; documents written
before them lack these keys and stay valid): ``neighbours`` are the indices into
``tracks`` of a track's ``min(10, n - 1)`` nearest tracks in the model's feature
space, nearest first, with their Euclidean ``neighbour_distances`` (4 decimals);
``cluster`` is its cluster id or -1, ``cluster_name`` that cluster's name or null
(:mod:`songmap.evaluation.clusters`); ``trustworthiness``/``continuity`` are its
own figures at ``k = min(10, (n - 1) // 2)`` or null (:mod:`songmap.evaluation.trust`).
``clusters[].centre`` is the index into ``tracks`` of the cluster's most central track.

Added for whole songs (maps of the ``songwise`` representation only): ``path``
is the track's trajectory, ``[[x, y], ...]``, one point per window of the song
in playing order (:meth:`songmap.mapper.SongMapper.transform_windows`); a track
whose windows are all silent has none.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from songmap._version import __version__
from songmap.io.atomic import atomic_write_bytes, atomic_write_text
from songmap.io.text import display_text

__all__ = [
    "EMBEDDINGS_FILENAME",
    "EMBEDDINGS_FORMAT_VERSION",
    "QUALITY_FILENAME",
    "TRACK_COLUMNS",
    "embeddings_document",
    "csv_cell",
    "is_finite_number",
    "quality_document",
    "write_json_document",
    "write_embeddings_json",
    "write_embeddings_csv",
    "read_embeddings",
    "validate_embeddings",
]

EMBEDDINGS_FILENAME = "embeddings.json"
QUALITY_FILENAME = "quality.json"
EMBEDDINGS_FORMAT_VERSION = 1
#: Columns of ``embeddings.csv``; those after ``y`` are empty for maps written before they existed.
#: ``genre`` is the list joined by :data:`GENRE_JOINER`.
TRACK_COLUMNS = ("file", "title", "category", "duration_s", "x", "y", "cluster", "cluster_name", "trustworthiness", "continuity",
                 "artist", "album", "genre", "year", "track_number")
GENRE_JOINER = "; "


def embeddings_document(
    input_dir: str | os.PathLike,
    tracks: list[dict],
    skipped: list[dict],
    params: dict,
    training: dict | None = None,
    pairs: list[dict] | None = None,
) -> dict:
    """Assemble the ``embeddings.json`` document (see the module docstring for the format)."""
    doc = {
        "songmap_version": __version__,
        "format_version": EMBEDDINGS_FORMAT_VERSION,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "input_dir": str(Path(input_dir).resolve()),
        "params": params,
        "training": training or {},
        "tracks": tracks,
        "skipped": skipped,
    }
    if pairs is not None:
        doc["pairs"] = pairs
    return doc


def quality_document(
    input_dir: str | os.PathLike,
    *,
    reference_space: str,
    params: dict,
    features_seconds: float,
    methods: dict[str, dict],
    tracks: list[dict],
    skipped: list[dict],
) -> dict:
    """Assemble ``quality.json`` of ``songmap compare`` (format in docs/outputs.md, "quality.json and compare.png").

    ``methods`` maps each method to its quality figures and ``seconds``;
    ``tracks`` holds ``file``, ``category`` and each method's ``[x, y]``.
    """
    return {
        "songmap_version": __version__,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "input_dir": str(Path(input_dir).resolve()),
        "reference_space": reference_space,
        "n_tracks": len(tracks),
        "params": params,
        # Decoding, log-mel, crop/pool and normalisation: shared by every method, not in their "seconds".
        "features_seconds": round(float(features_seconds), 3),
        "methods": methods,
        "tracks": tracks,
        "skipped": skipped,
    }


def write_json_document(path: str | os.PathLike, doc: dict) -> None:
    """Write a document as UTF-8 JSON (non-ASCII kept readable), atomically.

    A file name that is not valid UTF-8 keeps its exact bytes as ``\\udcXX`` escapes
    (``json.loads`` gives back the name that opens the file).
    """
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8", "backslashreplace"))


def write_embeddings_json(path: str | os.PathLike, doc: dict) -> None:
    """Write an ``embeddings.json`` document (:func:`write_json_document`)."""
    write_json_document(path, doc)


def is_finite_number(value: Any) -> bool:
    """A JSON number that is finite (not a bool, NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_embeddings(doc: Any, source: str = EMBEDDINGS_FILENAME) -> None:
    """Check that ``doc`` has the shape of an ``embeddings.json`` document.

    Only what the map page and the server rely on is checked: ``input_dir`` is a
    string and every track has a non-empty ``file`` and finite ``x``/``y``.

    Parameters
    ----------
    doc
        The parsed document.
    source
        Name used in error messages (usually the file path).

    Raises
    ------
    ValueError
        With a one-line message naming the first problem found.
    """
    if not isinstance(doc, dict):
        raise ValueError(f"{source}: expected a JSON object at the top level")
    if not isinstance(doc.get("input_dir"), str) or not doc["input_dir"]:
        raise ValueError(f"{source}: 'input_dir' must be a non-empty string")
    tracks = doc.get("tracks")
    if not isinstance(tracks, list):
        raise ValueError(f"{source}: 'tracks' must be a list")
    for index, track in enumerate(tracks):
        if not isinstance(track, dict):
            raise ValueError(f"{source}: tracks[{index}] must be an object")
        if not isinstance(track.get("file"), str) or not track["file"]:
            raise ValueError(f"{source}: tracks[{index}].file must be a non-empty string")
        for axis in ("x", "y"):
            if not is_finite_number(track.get(axis)):
                raise ValueError(f"{source}: tracks[{index}].{axis} must be a finite number")


def read_embeddings(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate ``embeddings.json``: the one reader of the file (CLI, page and server).

    Parameters
    ----------
    path
        A songmap output folder, or the document's own path.

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    FileNotFoundError
        If the file does not exist (the message says how to create it).
    ValueError
        If the file is not valid JSON or not an embeddings document.
    """
    path = Path(path)
    out_dir = path
    if path.is_dir() or path.name != EMBEDDINGS_FILENAME:
        path = path / EMBEDDINGS_FILENAME
    else:
        out_dir = path.parent
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(
            f"{path} not found: run `songmap map INPUT_DIR --out {out_dir}` first"
        ) from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text: {error.reason}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    validate_embeddings(doc, source=str(path))
    return doc


def csv_cell(value):
    """A value as a CSV cell a spreadsheet shows as it is (shared by every CSV songmap writes).

    Text is made showable (:func:`songmap.io.text.display_text`) and text that a
    spreadsheet would run as a formula gets a leading apostrophe; None is empty.
    """
    # A cell starting with = + - @ (or tab/CR) is run as a formula by spreadsheets; a leading
    # apostrophe makes it text. Numbers are written as numbers, so negative coordinates stay numeric.
    if isinstance(value, str):
        value = display_text(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def write_embeddings_csv(path: str | os.PathLike, tracks: list[dict]) -> None:
    """Write one row per track with columns :data:`TRACK_COLUMNS` (UTF-8, header, ``,``), atomically."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRACK_COLUMNS)
    for track in tracks:
        cells = {**track, "genre": GENRE_JOINER.join(track.get("genre") or []) or None}
        writer.writerow([csv_cell(cells.get(column)) for column in TRACK_COLUMNS])
    atomic_write_text(path, buffer.getvalue())
