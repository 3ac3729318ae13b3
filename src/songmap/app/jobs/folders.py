"""Jobs on a folder of songs that need no model: ``inspect`` (headers, durations) and ``convert`` (to WAV/FLAC)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from songmap.app.jobs.common import excluded_output
from songmap.features.shaping import crop_seconds
from songmap.io.atomic import atomic_write_sound
from songmap.io.collection import Collection, scan_collection
from songmap.io.decode import decode, probe, resample
from songmap.io.decode_errors import DecodeError
from songmap.io.oserrors import check_free_space, writing
from songmap.mapper import PRESETS
from songmap.report.plots import plot_duration_histogram

__all__ = ["TrackInfo", "InspectResult", "inspect_folder", "ConvertResult", "convert_folder"]

# Bytes a WAV or FLAC file needs beyond its samples (headers, FLAC frame overhead on silence).
_HEADER_ROOM = 64 * 1024


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


@dataclass
class InspectResult:
    """What :func:`inspect_folder` found."""

    collection: Collection
    #: One per audio file; ``problem`` says why a file would be skipped.
    rows: list[TrackInfo]
    #: The crop length ``map`` would use (None when no file has a duration).
    crop_s: float | None
    #: The percentile ``crop_s`` was taken at.
    crop_percentile: float
    #: Category (``"(none)"`` without one, ``"all"`` last) -> durations of its usable files.
    durations_by_category: dict[str, list[float]]
    #: The histogram written, if one was asked for and there were durations.
    histogram: Path | None = None


def inspect_folder(
    input_dir: str | os.PathLike,
    *,
    metadata_path: str | os.PathLike | None = None,
    crop_percentile: float | None = None,
    min_crop_s: float = 1.0,
    max_crop_s: float = 30.0,
    histogram_path: str | os.PathLike | None = None,
    ignore_case: bool = False,
    file_column: str | None = None,
    category_column: str | None = None,
) -> InspectResult:
    """Read every file's header: the notebooks' look at formats, lengths and categories.

    Parameters
    ----------
    input_dir : str or os.PathLike
        Folder of songs.
    metadata_path, ignore_case, file_column, category_column
        See :func:`songmap.io.collection.scan_collection`.
    crop_percentile : float, optional
        Percentile ``map`` would crop at; default that of the default preset.
    min_crop_s, max_crop_s : float
        Bounds of the crop length.
    histogram_path : str or os.PathLike, optional
        Write a histogram of the durations here (PNG; its folder is created).

    Raises
    ------
    ValueError
        No audio files in ``input_dir``.
    """
    if crop_percentile is None:
        crop_percentile = PRESETS["default"]["crop_percentile"]
    collection = scan_collection(input_dir, metadata_path, ignore_case=ignore_case,
                                 file_column=file_column, category_column=category_column)
    if not collection.files:
        raise ValueError(f"no audio files found in {input_dir}")
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
    good = [r for r in rows if r.problem is None]
    groups: dict[str, list[float]] = {}
    for r in good:
        groups.setdefault(r.category or "(none)", []).append(r.duration_s or 0.0)
    groups["all"] = [r.duration_s or 0.0 for r in good]
    histogram = None
    if histogram_path is not None and durations:
        histogram = Path(histogram_path)
        histogram.parent.mkdir(parents=True, exist_ok=True)
        timed = [r for r in good if r.duration_s]
        plot_duration_histogram([r.duration_s for r in timed], [r.category for r in timed], crop_s, histogram)
    return InspectResult(collection, rows, crop_s, float(crop_percentile), groups, histogram)


@dataclass
class ConvertResult:
    """What :func:`convert_folder` did: written, kept (target existed) and failed files."""

    written: list[Path] = field(default_factory=list)
    existing: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def convert_folder(
    input_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    audio_format: str = "wav",
    sample_rate: int | None = None,
    force: bool = False,
    on_file: Callable[[int, int, Path], None] | None = None,
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

    Raises
    ------
    songmap.io.oserrors.WriteError
        When a file cannot be written (a full disk, checked before each file and
        saying how much it needs; a read-only or unwritable folder): every later file
        would fail alike. The files written so far are complete.
    """
    audio_format = audio_format.lower()
    if audio_format not in ("wav", "flac"):
        raise ValueError(f"format must be wav or flac, got {audio_format!r}")
    if sample_rate is not None and not 1000 <= sample_rate <= 384000:
        raise ValueError(f"sample rate must be between 1000 and 384000 Hz, got {sample_rate}")
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input folder not found: {input_dir}")
    collection = scan_collection(input_dir, exclude=excluded_output(input_dir, output_dir))
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
                with writing(target):
                    target.parent.mkdir(parents=True, exist_ok=True)
                # 16-bit PCM: the size is known before encoding (FLAC is smaller, never larger).
                check_free_space(target.parent, y.size * 2 + _HEADER_ROOM, path=target, what=None)
                atomic_write_sound(target, np.clip(y, -1.0, 1.0), rate, fmt=audio_format.upper(), subtype="PCM_16")
                result.written.append(target)
            except DecodeError as exc:
                result.failed.append((path, str(exc)))
        if on_file is not None:
            on_file(done, len(collection.files), path)
    return result
