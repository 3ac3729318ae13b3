"""The ``map`` job (and ``demo``, which maps a synthesized soundtrack): a folder in, an output folder out."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from songmap._checkpoints import checkpoint
from songmap.app.jobs.common import Prepared, mapper_for_job, prepare_folder
from songmap.evaluation.listening import listening_keys
from songmap.evaluation.quality import fitted_map_quality, pair_report
from songmap.io.atomic import atomic_write_bytes
from songmap.io.collection import Collection
from songmap.io.text import display_text
from songmap.mapper import Progress
from songmap.mapper.persistence import MODEL_FILE
from songmap.report.colouring import check_colour_key
from songmap.report.documents import (
    EMBEDDINGS_FILENAME,
    embeddings_document,
    write_embeddings_csv,
    write_embeddings_json,
)
from songmap.report.outdir import OutputStaging
from songmap.report.plots import plot_map

if TYPE_CHECKING:  # SongMapper imports scikit-learn (a second); placing songs runs these modules' imports too
    import pandas as pd

    from songmap.mapper.estimator import SongMapper

__all__ = ["MapResult", "map_folder", "demo", "file_stamp", "map_document", "write_map_outputs"]


@dataclass
class MapResult:
    """What :func:`map_folder` did."""

    document: dict
    out_dir: Path
    collection: Collection
    #: The fitted mapper (a copy of the one passed in, which stays unfitted).
    mapper: SongMapper
    written: list[Path] = field(default_factory=list)
    #: messages about an interrupted earlier run whose outputs were completed first
    recovered: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The map as a data frame, the same as ``songmap.read_map(out_dir)`` gives (needs ``songmap[data]``).

        Examples
        --------
        >>> result = map_folder("my songs", "my-map", SongMapper())  # doctest: +SKIP
        >>> result.frame()[["title", "category", "x", "y"]].head()  # doctest: +SKIP
        """
        from songmap.report.frames import map_frame

        return map_frame(self.document)


def _with_checkpoints(progress: Progress | None) -> Progress:
    """Progress hooks that also pass the interruption tests' ``features:N`` checkpoints."""
    progress = progress if progress is not None else Progress()
    hooks = Progress(on_epoch=progress.on_epoch)

    def on_file(done: int, total: int, path: Path) -> None:
        progress.audio_seconds = hooks.audio_seconds
        if progress.on_file is not None:
            progress.on_file(done, total, path)
        checkpoint(f"features:{done}")

    hooks.on_file = on_file
    return hooks


def map_folder(
    input_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    mapper: SongMapper,
    *,
    metadata_path: str | os.PathLike | None = None,
    categories: list[str] | None = None,
    pairs_path: str | os.PathLike | None = None,
    ignore_case: bool = False,
    file_column: str | None = None,
    category_column: str | None = None,
    genre_separators: str = "",
    colour_by: str | None = None,
    progress: Progress | None = None,
) -> MapResult:
    """Map every audio file of ``input_dir`` and write the outputs into ``out_dir``.

    The outputs replace the previous ones all at once (see :mod:`songmap.report.outdir`):
    a run that is interrupted at any moment leaves ``out_dir`` as it was, or
    complete. Finished features stay in the cache for the next run.

    Parameters
    ----------
    input_dir : str or os.PathLike
        Folder of songs (walked recursively; never written to).
    out_dir : str or os.PathLike
        Output folder (created). Features are cached in ``out_dir/cache`` unless
        ``mapper.cache_dir`` is set.
    mapper : SongMapper
        Unfitted mapper with the wanted parameters. It is not changed: a copy is
        fitted (files that cannot be decoded are skipped) and returned.
    metadata_path, categories, ignore_case, file_column, category_column, genre_separators
        See :func:`songmap.io.collection.scan_collection`.
    colour_by : str, optional
        What map.png and map.html are first coloured by
        (:data:`songmap.report.colouring.COLOUR_KEYS`; default: categories, else genres, artists,
        albums or clusters); kept in embeddings.json as ``colour_by``.
    pairs_path : str or os.PathLike, optional
        Pairs CSV to report; by default ``input_dir/pairs.csv`` when it exists.
    progress : Progress, optional
        Callbacks for progress bars; its ``audio_seconds`` is kept up to date.

    Returns
    -------
    MapResult

    Raises
    ------
    FileNotFoundError, NotADirectoryError, MetadataError, ValueError
        Bad input (one-line messages), including fewer than 2 decodable files.
    """
    if colour_by is not None:
        check_colour_key(colour_by)  # before the long part
    job = prepare_folder(input_dir, out_dir, metadata_path=metadata_path, categories=categories,
                         pairs_path=pairs_path, ignore_case=ignore_case,
                         file_column=file_column, category_column=category_column,
                         genre_separators=genre_separators)
    fitted = mapper_for_job(mapper, job.out_dir, _with_checkpoints(progress))
    scan = {"metadata": None if metadata_path is None else str(Path(metadata_path).resolve()), "categories": categories,
            "ignore_case": ignore_case, "file_column": file_column, "category_column": category_column,
            "genre_separators": genre_separators}
    # The staging folder is made before the long part, so an unwritable --out fails at once.
    with OutputStaging(job.out_dir) as staging:
        fitted.fit(job.collection.files)
        checkpoint("trained")
        doc, tracks = map_document(job, fitted)
        doc["scan"] = scan
        if colour_by is not None:
            doc["colour_by"] = colour_by
        written = write_map_outputs(staging, job, fitted, doc, tracks, with_model=True)
    return MapResult(doc, job.out_dir, job.collection, fitted, written, staging.recovered)


def write_map_outputs(staging: OutputStaging, job: Prepared, mapper: SongMapper, doc: dict, tracks: list[dict], *,
                      with_model: bool) -> list[Path]:
    """Write a map's outputs into ``staging`` and commit them (the model too ``with_model``); returns what was written."""
    from songmap.web.page import local_audio_urls, render_map_page  # the page module is large; load it only now
    from songmap.web.placing import page_model

    names = [MODEL_FILE] if with_model else []
    if with_model:
        mapper.save(staging.path / MODEL_FILE)
    write_embeddings_csv(staging.path / "embeddings.csv", tracks)
    plot_map(tracks, staging.path / "map.png", title=display_text(job.input_dir.resolve().name), colour_by=doc.get("colour_by"))
    # Audio URLs are relative to where the page will be, not to the staging folder.
    html = render_map_page(doc, local_audio_urls(doc, job.out_dir), page_model(mapper))
    atomic_write_bytes(staging.path / "map.html", html.encode("utf-8"))  # a failure names the file
    write_embeddings_json(staging.path / EMBEDDINGS_FILENAME, doc)
    # embeddings.json is moved last: its presence means the rest of the folder is complete.
    return staging.commit([*names, "embeddings.csv", "map.png", "map.html", EMBEDDINGS_FILENAME])


def file_stamp(path: Path) -> tuple[int | None, int | None]:
    """A file's size and modification time in nanoseconds (None, None when it cannot be read):
    how ``songmap update`` tells a changed file."""
    try:
        stat = path.stat()
    except OSError:
        return None, None
    return stat.st_size, stat.st_mtime_ns


def map_document(job: Prepared, mapper: SongMapper) -> tuple[dict, list[dict]]:
    """The embeddings document of a fitted mapper (``embedding_``, ``durations_`` and ``skipped_``
    row for row with ``job.collection.files``), and its tracks."""
    collection = job.collection
    tracks, skipped = [], []
    reasons = {path: reason for path, reason in mapper.skipped_}
    for i, path in enumerate(collection.files):
        rel = collection.relative(path)
        if path in reasons:
            skipped.append({"file": rel, "reason": reasons[path]})
            continue
        x, y = mapper.embedding_[i]
        described = collection.describe(path)
        size, mtime_ns = file_stamp(path)
        tracks.append(
            {
                "file": rel,
                "title": described.pop("title"),
                "category": collection.category(path),
                "duration_s": round(float(mapper.durations_[i]), 3),
                "x": float(x),
                "y": float(y),
                **described,
                "file_size": size,
                "file_mtime_ns": mtime_ns,
            }
        )
        if damage := getattr(mapper, "damaged_", {}).get(i):
            tracks[-1]["damaged"] = damage  # mapped from the part that decodes
    params = {**mapper.params_, "crop_seconds": round(float(mapper.crop_seconds_), 3)}
    training = {
        "epochs_run": len(mapper.training_.losses),
        "best_epoch": mapper.training_.best_epoch + 1,
        "best_loss": float(mapper.training_.best_loss),
        "stopped_early": mapper.training_.stopped_early,
    }
    report = None
    if job.pairs is not None:
        points = np.array([[t["x"], t["y"]] for t in tracks])
        report = pair_report([t["file"] for t in tracks], points, job.pairs)
    # Folders that could not be read are listed too: their files are missing from the map.
    skipped += [{"file": rel, "reason": reason} for rel, reason in collection.unreadable]
    doc = embeddings_document(job.input_dir, tracks, skipped, params, training, report)
    # The reference features of every mapped track, read once: quality, neighbours, trust and clusters
    # (and, on "songwise" maps, from the same read, where each window lands).
    mapped = [collection.files[i] for i in np.flatnonzero(np.all(np.isfinite(mapper.embedding_), axis=1))]
    if mapper.representation_ == "songwise":
        reference, windows = mapper.features_and_windows(mapped)
    else:
        reference, windows = mapper.features_for(mapped), None
    doc["quality"] = fitted_map_quality(collection, mapper, job.pairs, reference=reference)
    keys, doc["clusters"] = listening_keys(
        features=reference,
        points=np.array([[t["x"], t["y"]] for t in tracks]).reshape(-1, 2),
        titles=[t["title"] for t in tracks],
        categories=[t["category"] for t in tracks],
    )
    for track, extra in zip(tracks, keys):
        track.update(extra)
    if windows is not None:
        _add_trajectories(tracks, windows)
    return doc, tracks


def _add_trajectories(tracks: list[dict], windows: list) -> None:
    """Give each track its ``path``: where each of its windows lands, in the order they play
    (``windows``: :meth:`SongMapper.transform_windows` of the tracks).

    The windows' images are in the feature cache that fitting filled, so this
    costs one NumPy encoder pass, not a second decode.
    """
    for track, placed in zip(tracks, windows):
        if placed is not None:
            track["path"] = [[round(float(x), 6), round(float(y), 6)] for x, y in placed[1]]


def demo(
    out_dir: str | os.PathLike, mapper: SongMapper, *, progress: Progress | None = None
) -> tuple[list[Path], MapResult]:
    """Synthesize the demo soundtrack into ``out_dir/soundtrack`` (seeded by ``mapper.seed``) and map it.

    Returns the synthesized files and the map's :class:`MapResult`.
    """
    from songmap.demo import synthesize_soundtrack

    soundtrack = Path(out_dir) / "soundtrack"
    paths = synthesize_soundtrack(soundtrack, seed=int(mapper.seed))
    return paths, map_folder(soundtrack, out_dir, mapper, progress=progress)
