"""The ``compare`` job: the autoencoder, PCA, t-SNE and UMAP on the same features, each map measured."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from songmap.app.jobs.common import mapper_for_job, prepare_folder
from songmap.evaluation.baselines import BASELINES, import_baseline
from songmap.evaluation.quality import map_quality, pair_kind_summary, pair_ranks, pair_rows, reference_features
from songmap.io.collection import Collection
from songmap.mapper import Progress
from songmap.report.documents import QUALITY_FILENAME, quality_document, write_json_document
from songmap.report.outdir import OutputStaging
from songmap.report.plots import plot_comparison

if TYPE_CHECKING:  # SongMapper imports scikit-learn (a second); placing songs runs these modules' imports too
    from songmap.mapper.estimator import SongMapper

__all__ = ["COMPARE_METHODS", "CompareResult", "compare_folder"]

#: Methods ``songmap compare`` knows, in the order they are run and drawn.
COMPARE_METHODS = ("ae", "pca", "tsne", "umap")


@dataclass
class CompareResult:
    """What :func:`compare_folder` did: the ``quality.json`` document and the files written."""

    document: dict
    out_dir: Path
    collection: Collection
    #: The fitted mapper (a copy of the one passed in).
    mapper: SongMapper
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)


def compare_folder(
    input_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    mapper: SongMapper,
    methods: Sequence[str] = COMPARE_METHODS,
    *,
    metadata_path: str | os.PathLike | None = None,
    categories: list[str] | None = None,
    pairs_path: str | os.PathLike | None = None,
    file_column: str | None = None,
    category_column: str | None = None,
    progress: Progress | None = None,
    on_method: Callable[[str], None] | None = None,
) -> CompareResult:
    """Map ``input_dir`` with the autoencoder and the usual baselines, and measure every map.

    All methods see the same features: the fitted mapper's reference space
    (:meth:`SongMapper.features_for`, the normalised model inputs, flattened),
    and every map is measured against it (:func:`songmap.evaluation.quality.map_quality`).
    ``quality.json`` and ``compare.png`` are staged and then moved into
    ``out_dir`` together, as ``map`` does with its outputs.

    With known pairs, ``quality.json`` also has ``"pair_kinds"``: for the
    reference space itself (``"features"``: can the features tell the pair
    apart at all?) and for each method's map, the pair ranks summarised per
    kind of pair, counting only tracks of other music (a song's other copies,
    joined to it through pairs, do not count: ``pair_ranks(..., ignore_copies=True)``;
    :func:`songmap.evaluation.quality.pair_kind_summary`:
    ``{"features" | method: {kind: {"n_pairs", "median_rank_a_to_b",
    "median_rank_b_to_a", "median_rank", "share_rank_1", "share_rank_le_5", "worst_rank"}}}``).

    Parameters
    ----------
    input_dir, out_dir : str or os.PathLike
        Folder of songs (never written to) and output folder (created; its
        ``cache/`` holds the features unless ``mapper.cache_dir`` is set).
    mapper : SongMapper
        Unfitted mapper: its parameters define the features and the
        autoencoder; it is not changed (a copy is fitted). Without ``"ae"`` in
        ``methods`` the copy is trained for a single epoch, which is only
        needed to fix the crop length and the normalisation of the reference space.
    methods : sequence of str
        Any of ``"ae"``, ``"pca"``, ``"tsne"``, ``"umap"``.
    metadata_path, categories, pairs_path, file_column, category_column
        As for :func:`songmap.app.jobs.map_folder` (pairs default to ``input_dir/pairs.csv``).
    progress : Progress, optional
        Callbacks for the features and the training.
    on_method : callable, optional
        ``on_method(name)`` before each method runs (progress display).

    Returns
    -------
    CompareResult

    Raises
    ------
    ValueError
        Unknown method, no methods, fewer than 2 decodable files.
    """
    methods = list(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in COMPARE_METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be some of {', '.join(COMPARE_METHODS)}, got {', '.join(methods) or 'none'}")
    job = prepare_folder(input_dir, out_dir, metadata_path=metadata_path, categories=categories, pairs_path=pairs_path,
                         file_column=file_column, category_column=category_column)
    fitted = mapper_for_job(mapper, job.out_dir, progress, **({} if "ae" in methods else {"epochs": 1}))
    collection = job.collection
    with OutputStaging(job.out_dir) as staging:
        if on_method is not None:
            on_method("ae" if "ae" in methods else "features")
        started = time.perf_counter()
        fitted.fit(collection.files)
        fit_seconds = time.perf_counter() - started

        mapped = np.flatnonzero(np.all(np.isfinite(fitted.embedding_), axis=1))
        reference, usable = reference_features(fitted, [collection.files[i] for i in mapped])
        rows = mapped[usable]
        files = [collection.relative(collection.files[i]) for i in rows]
        track_categories = [collection.category(collection.files[i]) for i in rows]

        maps: dict[str, np.ndarray] = {}
        seconds: dict[str, float] = {}
        for name in methods:
            if name == "ae":
                maps[name] = fitted.embedding_[rows]
                seconds[name] = float(fitted.training_seconds_)
                continue
            if on_method is not None:
                on_method(name)
            import_baseline(name)
            started = time.perf_counter()
            maps[name] = BASELINES[name](reference, seed=int(fitted.seed))
            seconds[name] = time.perf_counter() - started

        results = {}
        for name in methods:
            quality = map_quality(reference, maps[name], files=files, categories=track_categories, pairs=job.pairs)
            results[name] = {**quality, "seconds": round(seconds[name], 3)}
        reasons = dict(fitted.skipped_)
        document = quality_document(
            job.input_dir,
            reference_space=fitted.reference_space_name,
            params={**fitted.params_, "crop_seconds": round(float(fitted.crop_seconds_), 3)},
            features_seconds=max(fit_seconds - float(fitted.training_seconds_), 0.0),
            methods=results,
            tracks=[
                {"file": f, "category": c, **{name: [float(v) for v in maps[name][k]] for name in methods}}
                for k, (f, c) in enumerate(zip(files, track_categories))
            ],
            skipped=[{"file": collection.relative(p), "reason": reasons[p]} for p in collection.files if p in reasons],
        )
        if job.pairs:
            document["pair_kinds"] = {
                space: pair_kind_summary(pair_ranks(files, points, job.pairs, ignore_copies=True))
                for space, points in {"features": reference, **maps}.items()
            }
        json.dumps(document, allow_nan=False)  # fail here, not half-way through writing, on a NaN
        _, known_pairs = pair_rows(files, job.pairs or [])
        plot_comparison(maps, track_categories, staging.path / "compare.png", results, known_pairs,
                        title=f"{job.input_dir.resolve().name}: {len(rows)} tracks")
        write_json_document(staging.path / QUALITY_FILENAME, document)
        written = staging.commit(["compare.png", QUALITY_FILENAME])
    return CompareResult(document, job.out_dir, collection, fitted, maps, written)
