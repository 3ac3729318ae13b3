"""Whole jobs built from the stages: map a folder, inspect it, convert it.

The CLI is a thin layer over these functions; they take explicit parameters,
report progress through callbacks and return what they did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from songmap._checkpoints import checkpoint
from songmap._fileio import display_text
from songmap.audio import DecodeError, decode, probe, resample
from songmap.collection import Collection, scan_collection
from songmap.features import crop_seconds
from songmap.mapping import Progress, SongMapper
from songmap.outdir import OutputStaging
from songmap.outputs import (
    embeddings_document,
    plot_duration_histogram,
    plot_map,
    write_embeddings_csv,
    write_embeddings_json,
)
from songmap.quality import map_quality, pair_report, read_pairs, trustworthiness_sample

__all__ = [
    "MapResult",
    "map_folder",
    "TrackInfo",
    "inspect_folder",
    "ConvertResult",
    "convert_folder",
    "OUTPUT_NAMES",
    "CompareResult",
    "compare_folder",
    "COMPARE_METHODS",
    "fitted_map_quality",
]

#: Files ``map_folder`` writes into the output folder (plus the ``cache/`` folder).
OUTPUT_NAMES = ("embeddings.json", "embeddings.csv", "map.png", "map.html", "model.safetensors")


def _is_inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


@dataclass
class MapResult:
    """What :func:`map_folder` did."""

    document: dict
    out_dir: Path
    collection: Collection
    mapper: SongMapper
    written: list[Path] = field(default_factory=list)
    #: messages about an interrupted earlier run whose outputs were completed first
    recovered: list[str] = field(default_factory=list)


def map_folder(
    input_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    mapper: SongMapper,
    metadata_path: str | os.PathLike | None = None,
    categories: list[str] | None = None,
    pairs_path: str | os.PathLike | None = None,
    ignore_case: bool = False,
) -> MapResult:
    """Map every audio file of ``input_dir`` and write the outputs into ``out_dir``.

    The outputs replace the previous ones all at once (see :mod:`songmap.outdir`):
    a run that is interrupted at any moment leaves ``out_dir`` as it was, or
    complete. Finished features stay in the cache for the next run.

    Parameters
    ----------
    input_dir : str or os.PathLike
        Folder of songs (walked recursively; never written to).
    out_dir : str or os.PathLike
        Output folder (created). ``mapper.cache_dir`` defaults to ``out_dir/cache``.
    mapper : SongMapper
        Unfitted mapper with the wanted parameters; ``on_error`` is set to "skip".
    metadata_path, categories, ignore_case
        See :func:`songmap.collection.scan_collection`.
    pairs_path : str or os.PathLike, optional
        Pairs CSV to report; by default ``input_dir/pairs.csv`` when it exists.

    Returns
    -------
    MapResult

    Raises
    ------
    FileNotFoundError, NotADirectoryError, MetadataError, ValueError
        Bad input (one-line messages), including fewer than 2 decodable files.
    """
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"output path exists and is not a folder: {out_dir}")
    exclude = out_dir if _is_inside(out_dir, input_dir) and input_dir.resolve() != out_dir.resolve() else None
    collection = scan_collection(input_dir, metadata_path, categories, exclude=exclude, ignore_case=ignore_case)
    if not collection.files:
        raise ValueError(f"no audio files found in {input_dir}")
    if pairs_path is None and (input_dir / "pairs.csv").is_file():
        pairs_path = input_dir / "pairs.csv"
    pairs = read_pairs(pairs_path) if pairs_path is not None else None

    # The staging folder is made before the long part, so an unwritable --out fails at once.
    with OutputStaging(out_dir) as staging:
        if mapper.cache_dir is None:
            mapper.cache_dir = out_dir / "cache"
        mapper.on_error = "skip"
        _fit_with_checkpoints(mapper, collection.files)
        checkpoint("trained")
        doc, tracks = _document(input_dir, collection, mapper, pairs)

        from songmap.page import local_audio_urls, render_map_page  # the page module is large; load it only now

        names = ["model.safetensors", "embeddings.csv", "map.png", "map.html", "embeddings.json"]
        mapper.save(staging.path / "model.safetensors")
        write_embeddings_csv(staging.path / "embeddings.csv", tracks)
        plot_map(tracks, staging.path / "map.png", title=display_text(input_dir.resolve().name))
        # Audio URLs are relative to where the page will be, not to the staging folder.
        html = render_map_page(doc, local_audio_urls(doc, out_dir))
        (staging.path / "map.html").write_bytes(html.encode("utf-8"))
        write_embeddings_json(staging.path / "embeddings.json", doc)
        # embeddings.json is moved last: its presence means the rest of the folder is complete.
        written = staging.commit(names)
    return MapResult(doc, out_dir, collection, mapper, written, staging.recovered)


def _fit_with_checkpoints(mapper: SongMapper, files: list[Path]) -> None:
    """``mapper.fit(files)``, passing the interruption tests' ``features:N`` checkpoints."""
    original = mapper.progress
    hooks = original if original is not None else Progress()
    user_on_file = hooks.on_file

    def on_file(done: int, total: int, path: Path) -> None:
        if user_on_file is not None:
            user_on_file(done, total, path)
        checkpoint(f"features:{done}")

    # The same Progress object, so whatever the mapper records on it stays visible to its owner.
    hooks.on_file = on_file
    mapper.progress = hooks
    try:
        mapper.fit(files)
    finally:
        hooks.on_file = user_on_file
        mapper.progress = original


def _document(input_dir: Path, collection: Collection, mapper: SongMapper, pairs) -> tuple[dict, list[dict]]:
    """The embeddings document of a fitted mapper, and its tracks."""
    tracks, skipped = [], []
    reasons = {path: reason for path, reason in mapper.skipped_}
    for i, path in enumerate(collection.files):
        rel = collection.relative(path)
        if path in reasons:
            skipped.append({"file": rel, "reason": reasons[path]})
            continue
        x, y = mapper.embedding_[i]
        tracks.append(
            {
                "file": rel,
                "title": collection.title(path),
                "category": collection.category(path),
                "duration_s": round(float(mapper.durations_[i]), 3),
                "x": float(x),
                "y": float(y),
            }
        )
    params = mapper.get_params()
    params["crop_seconds"] = round(float(mapper.crop_seconds_), 3)
    training = {
        "epochs_run": len(mapper.training_.losses),
        "best_epoch": mapper.training_.best_epoch + 1,
        "best_loss": float(mapper.training_.best_loss),
        "stopped_early": mapper.training_.stopped_early,
    }
    report = None
    if pairs is not None:
        points = np.array([[t["x"], t["y"]] for t in tracks])
        report = pair_report([t["file"] for t in tracks], points, pairs)
    # Folders that could not be read are listed too: their files are missing from the map.
    skipped += [{"file": rel, "reason": reason} for rel, reason in collection.unreadable]
    doc = embeddings_document(input_dir, tracks, skipped, params, training, report)
    doc["quality"] = fitted_map_quality(collection, mapper, pairs)
    return doc, tracks


def _reference_space(mapper: SongMapper, files: list[Path]) -> np.ndarray:
    """``mapper.features_for(files)`` without moving the caller's progress bars (it reads the cache again)."""
    hooks = mapper.progress
    mapper.progress = None
    try:
        return mapper.features_for(files)
    finally:
        mapper.progress = hooks


def fitted_map_quality(collection: Collection, mapper: SongMapper, pairs: list[dict] | None = None) -> dict:
    """Quality figures of the map a fitted mapper made of ``collection`` (``embeddings.json`` "quality").

    Measured against :meth:`SongMapper.features_for` (the normalised model
    inputs, flattened) of the mapped tracks; see :func:`songmap.quality.map_quality`.
    """
    rows = [i for i, row in enumerate(mapper.embedding_) if np.all(np.isfinite(row))]
    # Only the rows trustworthiness is measured on are read back (all of them up to 2000 tracks).
    sample = trustworthiness_sample(len(rows))
    reference = _reference_space(mapper, [collection.files[rows[k]] for k in sample])
    # A file that changed or vanished since fitting has no reference row: leave it out of those figures.
    usable = np.array([k for k, row in enumerate(reference) if np.all(np.isfinite(row))], dtype=np.int64)
    quality = map_quality(
        reference[usable],
        mapper.embedding_[rows],
        files=[collection.relative(collection.files[i]) for i in rows],
        categories=[collection.category(collection.files[i]) for i in rows],
        pairs=pairs,
        reference_rows=sample[usable],
    )
    return {"reference_space": reference_space_name(mapper), **quality}


def reference_space_name(mapper: SongMapper) -> str:
    """Human description of :meth:`SongMapper.features_for`'s space, stored next to the figures."""
    if mapper.representation == "modulation":
        return (f"modulation spectra ({mapper.n_mels} mel bands x {mapper.input_width} modulation bins), "
                "centred per band, one scale, flattened")
    return f"time-pooled log-mel ({mapper.n_mels} mel bands x {mapper.input_width} time bins), standardised per band, flattened"


#: Methods ``songmap compare`` knows, in the order they are run and drawn.
COMPARE_METHODS = ("ae", "pca", "tsne", "umap")


@dataclass
class CompareResult:
    """What :func:`compare_folder` did: the ``quality.json`` document and the files written."""

    document: dict
    out_dir: Path
    collection: Collection
    mapper: SongMapper
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)


def compare_folder(
    input_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    mapper: SongMapper,
    methods: tuple[str, ...] | list[str] = COMPARE_METHODS,
    metadata_path: str | os.PathLike | None = None,
    categories: list[str] | None = None,
    pairs_path: str | os.PathLike | None = None,
    on_method=None,
) -> CompareResult:
    """Map ``input_dir`` with the autoencoder and the usual baselines, and measure every map.

    All methods see the same features: the fitted mapper's reference space
    (:meth:`SongMapper.features_for`, the normalised model inputs, flattened),
    and every map is measured against it (:func:`songmap.quality.map_quality`).
    Writes ``quality.json`` and ``compare.png`` into ``out_dir``.

    Parameters
    ----------
    input_dir, out_dir : str or os.PathLike
        Folder of songs (never written to) and output folder (created; its
        ``cache/`` holds the features unless ``mapper.cache_dir`` is set).
    mapper : SongMapper
        Unfitted mapper: its parameters define the features and the
        autoencoder. Without ``"ae"`` in ``methods`` it is trained for a
        single epoch, which is only needed to fix the crop length and the
        per-band normalisation of the reference space.
    methods : sequence of str
        Any of ``"ae"``, ``"pca"``, ``"tsne"``, ``"umap"``.
    metadata_path, categories, pairs_path
        As for :func:`map_folder` (pairs default to ``input_dir/pairs.csv``).
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
    import json
    import time
    from datetime import datetime, timezone

    from songmap import __version__
    from songmap.baselines import BASELINES, import_baseline
    from songmap.comparison import plot_comparison
    from songmap.outputs import write_embeddings_json

    methods = list(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in COMPARE_METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be some of {', '.join(COMPARE_METHODS)}, got {', '.join(methods) or 'none'}")
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"output path exists and is not a folder: {out_dir}")
    exclude = out_dir if _is_inside(out_dir, input_dir) and input_dir.resolve() != out_dir.resolve() else None
    collection = scan_collection(input_dir, metadata_path, categories, exclude=exclude)
    if not collection.files:
        raise ValueError(f"no audio files found in {input_dir}")
    if pairs_path is None and (input_dir / "pairs.csv").is_file():
        pairs_path = input_dir / "pairs.csv"
    pairs = read_pairs(pairs_path) if pairs_path is not None else None

    out_dir.mkdir(parents=True, exist_ok=True)
    if mapper.cache_dir is None:
        mapper.cache_dir = out_dir / "cache"
    mapper.on_error = "skip"
    if "ae" not in methods:
        mapper.set_params(epochs=1)
    if on_method is not None:
        on_method("ae" if "ae" in methods else "features")
    started = time.perf_counter()
    mapper.fit(collection.files)
    fit_seconds = time.perf_counter() - started

    mapped = [i for i, row in enumerate(mapper.embedding_) if np.all(np.isfinite(row))]
    reference = _reference_space(mapper, [collection.files[i] for i in mapped])
    usable = [k for k, row in enumerate(reference) if np.all(np.isfinite(row))]
    rows = [mapped[k] for k in usable]
    reference = reference[usable]
    files = [collection.relative(collection.files[i]) for i in rows]
    track_categories = [collection.category(collection.files[i]) for i in rows]

    maps: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for name in methods:
        if name == "ae":
            maps[name] = mapper.embedding_[rows]
            seconds[name] = float(mapper.training_seconds_)
            continue
        if on_method is not None:
            on_method(name)
        import_baseline(name)
        started = time.perf_counter()
        maps[name] = BASELINES[name](reference, seed=int(mapper.seed))
        seconds[name] = time.perf_counter() - started

    results = {}
    for name in methods:
        quality = map_quality(reference, maps[name], files=files, categories=track_categories, pairs=pairs)
        results[name] = {**quality, "seconds": round(seconds[name], 3)}
    params = mapper.get_params()
    params["crop_seconds"] = round(float(mapper.crop_seconds_), 3)
    reasons = {path: reason for path, reason in mapper.skipped_}
    document = {
        "songmap_version": __version__,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "input_dir": str(input_dir.resolve()),
        "reference_space": reference_space_name(mapper),
        "n_tracks": len(rows),
        "params": params,
        # Decoding, log-mel, crop/pool and normalisation: shared by every method, not in their "seconds".
        "features_seconds": round(max(fit_seconds - float(mapper.training_seconds_), 0.0), 3),
        "methods": results,
        "tracks": [
            {"file": f, "category": c, **{name: [float(v) for v in maps[name][k]] for name in methods}}
            for k, (f, c) in enumerate(zip(files, track_categories))
        ],
        "skipped": [{"file": collection.relative(p), "reason": reasons[p]} for p in collection.files if p in reasons],
    }
    json.dumps(document, allow_nan=False)  # fail here, not half-way through writing, on a NaN
    index = {f: k for k, f in enumerate(files)}
    index.update({Path(f).name: k for k, f in enumerate(files)})
    pair_rows = [(index[p["a"]], index[p["b"]]) for p in pairs or [] if p["a"] in index and p["b"] in index]
    plot_comparison(maps, track_categories, out_dir / "compare.png", results, pair_rows,
                    title=f"{input_dir.resolve().name}: {len(rows)} tracks")
    write_embeddings_json(out_dir / "quality.json", document)
    return CompareResult(document, out_dir, collection, mapper, maps, [out_dir / "compare.png", out_dir / "quality.json"])


@dataclass
class TrackInfo:
    """One row of :func:`inspect_folder`'s table."""

    file: str
    category: str | None
    format: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    duration_s: float | None = None
    problem: str | None = None


def inspect_folder(
    input_dir: str | os.PathLike,
    metadata_path: str | os.PathLike | None = None,
    crop_percentile: float = 75.0,
    min_crop_s: float = 1.0,
    max_crop_s: float = 30.0,
    histogram_path: str | os.PathLike | None = None,
    ignore_case: bool = False,
) -> tuple[Collection, list[TrackInfo], float | None]:
    """Read every file's header: the notebooks' look at formats, lengths and categories.

    Returns
    -------
    collection : Collection
    rows : list of TrackInfo
        One per audio file; ``problem`` says why a file would be skipped.
    crop_s : float or None
        The crop length ``map`` would use (None when no file has a duration).
    """
    collection = scan_collection(input_dir, metadata_path, ignore_case=ignore_case)
    rows = []
    for path in collection.files:
        row = TrackInfo(collection.relative(path), collection.category(path))
        try:
            info = probe(path)
            row.format, row.sample_rate, row.channels, row.duration_s = info.format, info.sample_rate, info.channels, info.duration_s
            if info.frames == 0:
                row.problem = "empty: no audio samples"
        except DecodeError as exc:
            row.problem = str(exc)
        rows.append(row)
    durations = [r.duration_s for r in rows if r.problem is None and r.duration_s]
    crop_s = crop_seconds(durations, crop_percentile, min_crop_s, max_crop_s) if durations else None
    if histogram_path is not None and durations:
        good = [r for r in rows if r.problem is None and r.duration_s]
        plot_duration_histogram([r.duration_s for r in good], [r.category for r in good], crop_s, histogram_path)
    return collection, rows, crop_s


@dataclass
class ConvertResult:
    """What :func:`convert_folder` did: written, kept (target existed) and failed files."""

    written: list[Path] = field(default_factory=list)
    existing: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def convert_folder(
    input_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    audio_format: str = "wav",
    sample_rate: int | None = None,
    force: bool = False,
    on_file=None,
) -> ConvertResult:
    """Convert every audio file of ``input_dir`` to WAV or FLAC under ``output_dir``, mirroring the tree.

    Parameters
    ----------
    input_dir, output_dir : str or os.PathLike
        Source and destination folders; a target that would be one of the
        source files is refused even with ``force``.
    audio_format : {"wav", "flac"}
        Output format, 16-bit PCM, channels kept.
    sample_rate : int, optional
        Resample to this rate (soxr); by default keep each file's rate.
    force : bool
        Overwrite existing targets; otherwise they are kept and reported.
    on_file : callable, optional
        ``on_file(done, total, path)`` progress callback.
    """
    audio_format = audio_format.lower()
    if audio_format not in ("wav", "flac"):
        raise ValueError(f"format must be wav or flac, got {audio_format!r}")
    if sample_rate is not None and not 1000 <= sample_rate <= 384000:
        raise ValueError(f"sample rate must be between 1000 and 384000 Hz, got {sample_rate}")
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    exclude = output_dir if _is_inside(output_dir, input_dir) and input_dir.resolve() != output_dir.resolve() else None
    collection = scan_collection(input_dir, exclude=exclude)
    sources = {p.resolve() for p in collection.files}
    result = ConvertResult()
    for done, path in enumerate(collection.files, start=1):
        target = output_dir / Path(collection.relative(path)).with_suffix("." + audio_format)
        if target.resolve() in sources:
            result.failed.append((path, "target would overwrite an input file"))
        elif target.exists() and not force:
            result.existing.append(target)
        else:
            try:
                y, native_sr, _ = decode(path)
                rate = native_sr
                if sample_rate is not None and sample_rate != native_sr:
                    y = np.stack([resample(y[:, c], native_sr, sample_rate) for c in range(y.shape[1])], axis=1)
                    rate = sample_rate
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_audio_atomic(target, np.clip(y, -1.0, 1.0), rate, audio_format)
                result.written.append(target)
            except DecodeError as exc:
                result.failed.append((path, str(exc)))
            except OSError as exc:
                result.failed.append((path, f"cannot write {target}: {exc.strerror or exc}"))
        if on_file is not None:
            on_file(done, len(collection.files), path)
    return result


def _write_audio_atomic(target: Path, y: np.ndarray, sample_rate: int, audio_format: str, block: int = 65536) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with sf.SoundFile(str(tmp), "w", sample_rate, y.shape[1], format=audio_format.upper(), subtype="PCM_16") as f:
            # Block writes: libsndfile 1.2.2 crashes on some very large single writes.
            for start in range(0, len(y), block):
                f.write(y[start : start + block])
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
