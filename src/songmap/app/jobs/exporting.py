"""The ``export`` job: a map's ``embeddings.json`` in the format of a neighbouring tool."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from songmap.app.jobs.common import finish_interrupted_map
from songmap.report.documents import EMBEDDINGS_FILENAME, read_embeddings
from songmap.report.exports import (
    EXPORT_FILENAMES,
    EXPORT_FORMATS,
    write_embeddings_tsv,
    write_map_parquet,
    write_notebooks_embeddings,
)
from songmap.report.frames import map_frame

__all__ = ["EXPORT_FORMATS", "ExportResult", "export_map"]


@dataclass
class ExportResult:
    """What :func:`export_map` wrote."""

    path: Path
    format: str
    #: Tracks written.
    tracks: int
    #: Notebooks format: key -> files sharing it (``a.wav``, ``a.mp3``); only the first is in the file.
    shared_keys: dict[str, list[str]] = field(default_factory=dict)
    #: Notes about an interrupted ``map`` whose outputs were completed first.
    recovered: list[str] = field(default_factory=list)


def export_map(
    out_dir: str | os.PathLike,
    export_format: str = "notebooks",
    *,
    output: str | os.PathLike | None = None,
    force: bool = False,
) -> ExportResult:
    """Write the map in ``out_dir`` (its ``embeddings.json``) as ``export_format``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder of ``songmap map``.
    export_format : {"notebooks", "tsv", "parquet"}
        ``notebooks``: the original notebooks' embeddings file (``{"<stem>.npy": [x, y]}``);
        ``tsv``: ``file<TAB>x<TAB>y``; ``parquet``: the map's data frame, for pandas and
        embedding-atlas (see :mod:`songmap.report.exports`; needs ``songmap[data]``).
    output : str or os.PathLike, optional
        Where to write; by default ``out_dir/embeddings-notebooks.json``,
        ``out_dir/embeddings.tsv`` or ``out_dir/map.parquet``, which export owns and
        replaces on every run.
    force : bool
        Replace an existing ``output`` file. Without it an existing file other
        than the default one is refused: it may be the user's own.

    Raises
    ------
    ValueError
        Unknown format, an existing ``output`` without ``force``, ``output``
        naming a folder or ``embeddings.json`` itself.
    FileNotFoundError
        No ``embeddings.json`` in ``out_dir`` (the message says how to make one).
    songmap._extras.MissingExtraError
        ``parquet`` without pandas and pyarrow (``pip install 'songmap[data]'``).

    Examples
    --------
    >>> export_map("my-map", "parquet").path  # doctest: +SKIP
    PosixPath('my-map/map.parquet')
    """
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, got {export_format!r}")
    out_dir = Path(out_dir)
    recovered = finish_interrupted_map(out_dir)
    doc = read_embeddings(out_dir)
    default = out_dir / EXPORT_FILENAMES[export_format]
    target = Path(output) if output is not None else default
    if target.is_dir():
        raise ValueError(f"--output is a folder, not a file: {target}")
    if target.name == EMBEDDINGS_FILENAME and target.resolve().parent == out_dir.resolve():
        raise ValueError(f"--output would replace the map itself: {target}")
    if target.exists() and not force and target.resolve() != default.resolve():
        raise ValueError(f"{target} exists: use --force to replace it")
    # Without pandas this fails here, before anything is made.
    frame = map_frame(doc) if export_format == "parquet" else None
    target.parent.mkdir(parents=True, exist_ok=True)
    shared: dict[str, list[str]] = {}
    if export_format == "notebooks":
        shared = write_notebooks_embeddings(target, doc["tracks"])
    elif export_format == "parquet":
        write_map_parquet(target, frame)
    else:
        write_embeddings_tsv(target, doc["tracks"])
    return ExportResult(target, export_format, len(doc["tracks"]), shared, recovered)
