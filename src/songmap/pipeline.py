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

from songmap.audio import DecodeError, decode, probe, resample
from songmap.collection import Collection, scan_collection
from songmap.features import crop_seconds
from songmap.mapping import Progress, SongMapper
from songmap.outputs import (
    embeddings_document,
    plot_duration_histogram,
    plot_map,
    write_embeddings_csv,
    write_embeddings_json,
)
from songmap.quality import pair_report, read_pairs

__all__ = ["MapResult", "map_folder", "TrackInfo", "inspect_folder", "ConvertResult", "convert_folder", "OUTPUT_NAMES"]

#: Files ``map_folder`` writes into the output folder (plus the ``cache/`` folder).
OUTPUT_NAMES = ("embeddings.json", "embeddings.csv", "map.png", "map.html", "model.pt")


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


def map_folder(
    input_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    mapper: SongMapper,
    metadata_path: str | os.PathLike | None = None,
    categories: list[str] | None = None,
    pairs_path: str | os.PathLike | None = None,
) -> MapResult:
    """Map every audio file of ``input_dir`` and write the outputs into ``out_dir``.

    Parameters
    ----------
    input_dir : str or os.PathLike
        Folder of songs (walked recursively; never written to).
    out_dir : str or os.PathLike
        Output folder (created). ``mapper.cache_dir`` defaults to ``out_dir/cache``.
    mapper : SongMapper
        Unfitted mapper with the wanted parameters; ``on_error`` is set to "skip".
    metadata_path, categories
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
    mapper.fit(collection.files)

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
    doc = embeddings_document(input_dir, tracks, skipped, params, training, report)

    from songmap.page import write_map_page  # the page module is the largest; load it only when writing

    written = []
    mapper.save(out_dir / "model.pt")
    written.append(out_dir / "model.pt")
    write_embeddings_csv(out_dir / "embeddings.csv", tracks)
    written.append(out_dir / "embeddings.csv")
    plot_map(tracks, out_dir / "map.png", title=input_dir.resolve().name)
    written.append(out_dir / "map.png")
    written.append(write_map_page(out_dir, doc))
    # embeddings.json last: its presence means the rest of the folder is complete.
    write_embeddings_json(out_dir / "embeddings.json", doc)
    written.append(out_dir / "embeddings.json")
    return MapResult(doc, out_dir, collection, mapper, written)


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
    collection = scan_collection(input_dir, metadata_path)
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
