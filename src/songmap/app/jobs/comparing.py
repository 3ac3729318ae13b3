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

__all__ = ["COMPARE_METHODS", "CompareResult", "compare_folder", "seed_summary"]

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
    seeds: Sequence[int] | None = None,
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
    seeds : sequence of int, optional
        Run every method once per seed (the features once): ``quality.json``'s
        ``methods``, ``tracks`` and ``pair_kinds`` are the first seed's, as
        without seeds, and it gains ``"seeds"``, ``"by_seed"`` (``{seed:
        {"methods", "pair_kinds"}}``) and ``"summary"`` (the same figures as
        ``{"median", "min", "max"}`` over the seeds, :func:`seed_summary`).
        Default: the mapper's seed alone, and none of these keys.
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
        Unknown method, no methods, an empty ``seeds``, fewer than 2 decodable files.
    """
    methods = list(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in COMPARE_METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be some of {', '.join(COMPARE_METHODS)}, got {', '.join(methods) or 'none'}")
    seed_list = [int(mapper.seed)] if seeds is None else list(dict.fromkeys(int(s) for s in seeds))
    if not seed_list:
        raise ValueError("seeds must name at least one seed")
    job = prepare_folder(input_dir, out_dir, metadata_path=metadata_path, categories=categories, pairs_path=pairs_path,
                         file_column=file_column, category_column=category_column)
    fitted = mapper_for_job(mapper, job.out_dir, progress, **({} if "ae" in methods else {"epochs": 1}))
    collection = job.collection
    with OutputStaging(job.out_dir) as staging:
        runs: dict[int, _SeedRun] = {}
        # The first seed is fitted last, so that the mapper returned is fitted at it. The features are
        # computed by the first fit and read from the cache by the others; the tracks measured and
        # their reference space are the same at every seed.
        for seed in seed_list[1:] + seed_list[:1]:
            fitted.set_params(seed=seed)
            runs[seed] = _run_methods(fitted, collection, job.pairs, methods, on_method, next(iter(runs.values()), None))
        first = runs[seed_list[0]]
        reasons = dict(fitted.skipped_)
        document = quality_document(
            job.input_dir,
            reference_space=fitted.reference_space_name,
            params={**fitted.params_, "crop_seconds": round(float(fitted.crop_seconds_), 3)},
            features_seconds=max(first.fit_seconds - first.results["ae"]["seconds"], 0.0) if "ae" in methods else first.fit_seconds,
            methods=first.results,
            tracks=[
                {"file": f, "category": c, **{name: [float(v) for v in first.maps[name][k]] for name in methods}}
                for k, (f, c) in enumerate(zip(first.files, first.categories))
            ],
            skipped=[{"file": collection.relative(p), "reason": reasons[p]} for p in collection.files if p in reasons],
        )
        if job.pairs:
            document["pair_kinds"] = first.pair_kinds
        if seeds is not None:
            by_seed = {str(seed): runs[seed].figures(bool(job.pairs)) for seed in seed_list}
            document.update(seeds=seed_list, by_seed=by_seed, summary=seed_summary(list(by_seed.values())))
        json.dumps(document, allow_nan=False)  # fail here, not half-way through writing, on a NaN
        _, known_pairs = pair_rows(first.files, job.pairs or [])
        plot_comparison(first.maps, first.categories, staging.path / "compare.png", first.results, known_pairs,
                        title=f"{job.input_dir.resolve().name}: {len(first.files)} tracks")
        write_json_document(staging.path / QUALITY_FILENAME, document)
        written = staging.commit(["compare.png", QUALITY_FILENAME])
    return CompareResult(document, job.out_dir, collection, fitted, first.maps, written)


@dataclass
class _SeedRun:
    """The maps of one seed and their figures."""

    rows: np.ndarray
    files: list[str]
    categories: list
    reference: np.ndarray
    maps: dict[str, np.ndarray]
    results: dict[str, dict]
    pair_kinds: dict[str, dict] | None
    fit_seconds: float

    def figures(self, with_pairs: bool) -> dict:
        """What ``quality.json`` keeps of this seed in ``by_seed``."""
        return {"methods": self.results, **({"pair_kinds": self.pair_kinds} if with_pairs else {})}


def _run_methods(fitted: SongMapper, collection: Collection, pairs, methods: list[str], on_method,
                 earlier: _SeedRun | None) -> _SeedRun:
    """Fit ``fitted`` (at its seed), run the baselines at the same seed and measure every map.

    The tracks measured and their reference space come from an ``earlier`` seed's run when there is
    one: the features and their normalisation do not depend on the seed.
    """
    if on_method is not None:
        on_method("ae" if "ae" in methods else "features")
    started = time.perf_counter()
    fitted.fit(collection.files)
    fit_seconds = time.perf_counter() - started

    if earlier is None:
        mapped = np.flatnonzero(np.all(np.isfinite(fitted.embedding_), axis=1))
        reference, usable = reference_features(fitted, [collection.files[i] for i in mapped])
        rows = mapped[usable]
        files = [collection.relative(collection.files[i]) for i in rows]
        track_categories = [collection.category(collection.files[i]) for i in rows]
    else:
        rows, files, track_categories, reference = earlier.rows, earlier.files, earlier.categories, earlier.reference

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
        quality = map_quality(reference, maps[name], files=files, categories=track_categories, pairs=pairs)
        results[name] = {**quality, "seconds": round(seconds[name], 3)}
    pair_kinds = {
        space: pair_kind_summary(pair_ranks(files, points, pairs, ignore_copies=True))
        for space, points in {"features": reference, **maps}.items()
    } if pairs else None
    return _SeedRun(rows, files, track_categories, reference, maps, results, pair_kinds, fit_seconds)


#: Numbers of a seed's figures that count things rather than measure the map: not summarised.
_COUNTS = frozenset({"n_tracks", "n_pairs", "knn_category_k", "sampled"})


def seed_summary(figures: list[dict]) -> dict:
    """Median, minimum and maximum over seeds of every number in ``figures`` (dicts of one structure).

    Nested dicts are summarised key by key; lists (the pairs of one seed), counts and figures that
    are None at some seed are left out.

    Examples
    --------
    >>> seed_summary([{"ae": {"t": 0.9}}, {"ae": {"t": 0.8}}, {"ae": {"t": 0.95}}])
    {'ae': {'t': {'median': 0.9, 'min': 0.8, 'max': 0.95}}}
    """
    summary: dict = {}
    for key, value in figures[0].items():
        values = [f.get(key) for f in figures]
        if isinstance(value, dict) and all(isinstance(v, dict) for v in values):
            summary[key] = seed_summary(values)
        elif key not in _COUNTS and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            summary[key] = {"median": round(float(np.median(values)), 4), "min": min(values), "max": max(values)}
    return summary
