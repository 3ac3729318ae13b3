"""Model inputs of a set of files, one row per file: read from the files' features into an unlinked
memory-mapped file, and their normalisation."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from songmap.features.cache import FeatureCache
from songmap.features.parallel import iter_features
from songmap.features.shaping import model_input
from songmap.features.spectrogram import FeatureParams, frames_for_seconds
from songmap.features.tonal import PITCH_CLASSES
from songmap.features.windows import WindowSpec
from songmap.io.decode import probe
from songmap.io.decode_errors import DecodeError
from songmap.io.oserrors import check_free_space, writing
from songmap.mapper.progress import Progress

__all__ = [
    "InputRows", "probe_durations", "collect_inputs", "collect_windows", "describe_inputs", "input_normalisation",
    "normalisation_statistics", "block_normalisation",
]


class InputRows:
    """Model inputs of a set of files, one row per file, in a memory-mapped temporary file.

    Rows are written as each file's features arrive, and training and encoding
    read them back a batch at a time, so the mapper's own memory does not grow
    with the number of tracks: the rows live in the operating system's page
    cache, which it can write out and drop. The file is unlinked as soon as it
    is made (POSIX), so nothing is left behind, not even after a kill. Its blocks
    are allocated when it is made (``posix_fallocate``): a write into a mapped page
    the file system has no room for would kill the process with SIGBUS, so a full
    disk must be found here, as a :class:`~songmap.io.oserrors.WriteError`.

    Parameters
    ----------
    n_rows : int
        Files that may have a row.
    row_shape : tuple of int
        ``(n_mels, input_width)``.
    folder : str or os.PathLike, optional
        Where the file is made (the feature cache's folder: on disk, where
        there is room for features); default: the system's temporary folder.
    """

    def __init__(self, n_rows: int, row_shape: tuple[int, ...], folder: str | os.PathLike | None = None):
        try:
            if folder is not None:
                Path(folder).mkdir(parents=True, exist_ok=True)
            self._file = tempfile.TemporaryFile(prefix="songmap-inputs-", dir=folder)
        except OSError:  # a read-only cache folder only costs where the rows go
            folder = None
            self._file = tempfile.TemporaryFile(prefix="songmap-inputs-")
        # np.memmap cannot map an empty file: a collection with no decodable file still gets one row.
        shape = (max(n_rows, 1), *row_shape)
        try:
            self._allocate(int(np.prod(shape)) * np.dtype(np.float32).itemsize, folder or tempfile.gettempdir())
            self.array = np.memmap(self._file, dtype=np.float32, mode="r+", shape=shape)
        except BaseException:
            self._file.close()
            raise
        self.durations = np.full(n_rows, np.nan)
        #: Damage notes of files that were damaged but decoded, by row (file index).
        self.damage: dict[int, str] = {}
        self.filled = np.zeros(n_rows, dtype=bool)
        #: Indices of the files that have a row, and those rows (set by :meth:`compact`).
        self.order = np.zeros(0, dtype=np.int64)
        self.rows = self.array[:0]

    def _allocate(self, size: int, folder: str | os.PathLike) -> None:
        what = "the model inputs"
        check_free_space(folder, size, path=folder, what=what)
        with writing(folder, what):
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(self._file.fileno(), 0, size)
            else:  # Windows: no SIGBUS to fear, a failed page write raises there
                self._file.truncate(size)

    def put(self, row: int, values: np.ndarray, duration_s: float, damage: str = "") -> None:
        self.array[row] = values
        self.durations[row] = duration_s
        if damage:
            self.damage[row] = damage
        self.filled[row] = True

    def compact(self) -> None:
        """Move the filled rows to the front, in file order: ``rows[k]`` is file ``order[k]``."""
        self.order = np.flatnonzero(self.filled)
        for k, i in enumerate(self.order):
            if k != i:  # i > k: the row it overwrites has been moved already (or was never filled)
                self.array[k] = self.array[i]
        self.rows = self.array[: len(self.order)]

    def close(self) -> None:
        self.array = self.rows = None  # the mapping goes when the last view of it does
        self._file.close()

    def __enter__(self) -> InputRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _fail(path: Path, reason: str, on_error: str, skipped: list[tuple[Path, str]]) -> None:
    if on_error == "raise":
        raise ValueError(f"cannot map {str(path)!r}: {reason}")
    skipped.append((path, reason))


def probe_durations(paths: Sequence[Path], *, on_error: str, skipped: list[tuple[Path, str]]) -> dict[int, float]:
    """Header durations of the decodable files (index -> seconds).

    A file that cannot be opened raises ValueError (``on_error="raise"``) or is
    added to ``skipped`` with the reason (``"skip"``).
    """
    durations: dict[int, float] = {}
    for i, path in enumerate(paths):
        try:
            info = probe(path)
        except DecodeError as exc:
            _fail(path, str(exc), on_error, skipped)
            continue
        # 0 means the header does not say (some streams); decoding will tell whether it is empty.
        durations[i] = info.duration_s
    return durations


def collect_inputs(
    paths: Sequence[Path],
    durations: dict[int, float],
    *,
    params: FeatureParams,
    crop_s: float,
    representation: str,
    row_shape: tuple[int, int],
    windows: WindowSpec | None,
    cache_dir: str | os.PathLike | None,
    jobs: int,
    scheduler: str | None,
    on_error: str,
    skipped: list[tuple[Path, str]],
    progress: Progress | None = None,
    augmented: InputRows | None = None,
    copied: np.ndarray | None = None,
) -> InputRows:
    """Each decodable file's model input: an :class:`InputRows` (compacted) over ``paths``.

    Each spectrogram is reduced to its small model input as it arrives and written to
    the rows: memory does not grow by a spectrogram, nor even by an input, per track.
    With ``augmented`` (rows of ``(augment, height, width)``), the augmented copies of
    the files ``copied`` are written there too, row ``j`` for file ``copied[j]``, compacted
    in the same way (``augmented.order`` then indexes ``copied``).

    Parameters
    ----------
    paths : sequence of Path
        The files; only those with a duration (:func:`probe_durations`) are read.
    durations : dict of int to float
        Header durations by index into ``paths``.
    params : FeatureParams
        Spectrogram parameters.
    crop_s : float
        Crop length in seconds (the window length for "songwise").
    representation : {"pooled", "modulation", "songwise"}
        What each row holds: the mean of the track's window images ("songwise"),
        else the cropped spectrogram's :func:`~songmap.features.shaping.model_input`.
    row_shape : tuple of int
        ``(height, width)`` of a row.
    windows : WindowSpec, optional
        The windows "songwise" reads (None for the other representations).
    cache_dir : str or os.PathLike, optional
        Feature cache folder, also where the rows' file is made.
    jobs : int
        Processes that extract features.
    scheduler : str, optional
        Dask scheduler to send feature extraction to.
    on_error : {"skip", "raise"}
        What a file whose features fail does: join ``skipped``, or raise ValueError.
    skipped : list of (Path, str)
        Where skipped files and their reasons are added.
    progress : Progress, optional
        Told of each file as its features are ready.
    augmented : InputRows, optional
        Rows for the augmented copies, one per file of ``copied``.
    copied : np.ndarray, optional
        Sorted indices into ``paths`` of the files whose copies are made (default: all).
    """
    indices = list(durations)
    if augmented is not None and copied is None:
        copied = np.arange(len(paths))
    copy_row = {} if augmented is None else {int(i): j for j, i in enumerate(copied)}
    n_frames = frames_for_seconds(crop_s, params)
    cache = FeatureCache(cache_dir) if cache_dir is not None else None
    store = InputRows(len(paths), row_shape, cache_dir)
    try:
        results = iter_features([paths[i] for i in indices], params, crop_s, cache=cache, jobs=jobs, scheduler=scheduler,
                                windows=windows,
                                copied=None if augmented is None else [k for k, i in enumerate(indices) if i in copy_row])
        failed = {}
        for done, (k, features, reason) in enumerate(results, start=1):
            row = indices[k]
            if features is None:
                failed[row] = reason
            elif representation == "songwise":  # the mean of the track's window images
                values = features.summary()
            else:
                values = model_input(features.log_mel, n_frames=n_frames, representation=representation, width=row_shape[1])
            if features is not None:
                store.put(row, values, features.duration_s, features.damage)
                if row in copy_row:
                    augmented.put(copy_row[row], features.augmented, features.duration_s)
            if progress is not None:
                progress.audio_seconds += durations[row]
                if progress.on_file is not None:
                    progress.on_file(done, len(indices), paths[row])
        for row in sorted(failed):
            _fail(paths[row], failed[row], on_error, skipped)
        store.compact()
        if augmented is not None:
            augmented.compact()
    except BaseException:
        store.close()
        raise
    return store


def collect_windows(
    paths: Sequence[Path], *, params: FeatureParams, crop_s: float, windows: WindowSpec, cache_dir: str | os.PathLike | None
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Each file's "songwise" window images: per path ``(starts, images)`` of its non-silent windows, or None.

    The images are read through the feature cache in ``cache_dir`` (when there is one), in this process.
    """
    cache = FeatureCache(cache_dir) if cache_dir is not None else None
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(paths)
    for k, features, _reason in iter_features(paths, params, crop_s, cache=cache, jobs=1, windows=windows):
        if features is not None:
            out[k] = (features.starts[features.used], features.images[features.used])
    return out


def describe_inputs(representation: str, *, n_mels: int, width: int, max_windows: int) -> str:
    """Human description of the normalised model inputs of ``representation``, stored next to quality figures."""
    if representation == "songwise":
        return (f"whole-song modulation spectra ({n_mels} mel bands) and tonal view ({PITCH_CLASSES} rows) x "
                f"{width} bins, mean of up to {max_windows} windows, each view centred per row "
                "and scaled to equal total variance, flattened")
    if representation == "modulation":
        return (f"modulation spectra ({n_mels} mel bands x {width} modulation bins), "
                "centred per band, one scale, flattened")
    return (f"time-pooled log-mel ({n_mels} mel bands x {width} time bins), "
            "standardised per band, flattened")


def input_normalisation(
    inputs: np.ndarray, *, representation: str, n_mels: int, tonal_weight: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The normalisation of a collection's model inputs of ``representation``: per-row mean and spread.

    "songwise" inputs stack two views, each given the same total variance (``tonal_weight`` times it for
    the tonal view; :func:`block_normalisation`); modulation spectra get one spread for all bands and
    pooled spectrograms one per band (:func:`normalisation_statistics`).
    """
    if representation == "songwise":
        weight = 1.0 if tonal_weight is None else float(tonal_weight)
        return block_normalisation(inputs, blocks=[int(n_mels), PITCH_CLASSES], weights=[1.0, weight])
    return normalisation_statistics(inputs, one_scale=representation == "modulation")


def normalisation_statistics(inputs: np.ndarray, *, one_scale: bool, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and spread of model inputs, read ``block`` rows at a time (two passes, float64 sums).

    Parameters
    ----------
    inputs : np.ndarray
        ``(n, n_mels, width)``, e.g. an :class:`InputRows` memory map.
    one_scale : bool
        One spread for every band (modulation spectra): scaling each band to
        unit variance would blow up the quiet ones, where a noise bed under the
        music would then weigh as much as the music. Otherwise each band's own
        spread (pooled spectrograms).
    block : int
        Rows read at a time.

    Returns
    -------
    mean, std : np.ndarray
        ``(n_mels,)`` float32 each; spreads are at least 1e-3, so bands that are
        silent in every track do not blow up.
    """
    n, n_mels, width = inputs.shape
    total = np.zeros(n_mels)
    for start in range(0, n, block):
        total += inputs[start : start + block].sum(axis=(0, 2), dtype=np.float64)
    mean = (total / (n * width)).astype(np.float32)
    squares = np.zeros(n_mels)
    for start in range(0, n, block):
        centred = inputs[start : start + block] - mean[None, :, None]
        squares += np.square(centred, dtype=np.float64).sum(axis=(0, 2))
    if one_scale:
        spread = float(np.sqrt(squares.sum() / (n * n_mels * width)))
        return mean, np.full(n_mels, max(spread, 1e-3), dtype=np.float32)
    return mean, np.maximum(np.sqrt(squares / (n * width)), 1e-3).astype(np.float32)


def block_normalisation(
    inputs: np.ndarray, *, blocks: list[int], weights: list[float] | None = None, block: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and one spread per block of rows, scaled so that every block weighs alike.

    The whole-song input stacks two views in one image: the modulation spectrum
    (``n_mels`` rows) over the tonal block (12 rows). Distances (and the
    autoencoder's reconstruction error) add up over values, so with one spread
    for all rows the view with more values, or the larger spread, would swamp the
    other. Here each block ``b`` of ``R_b`` rows is divided by the spread that
    gives it the same **total variance** over the collection (the sum of its
    values' variances over the tracks) as the first block has values: the first block gets unit variance per value (as
    :func:`normalisation_statistics` with ``one_scale`` does), a block with
    ``R_b`` rows gets ``R_0 / R_b`` per value, so on average each view adds the
    same amount to a squared distance between two tracks.

    Parameters
    ----------
    inputs : np.ndarray
        ``(n, rows, width)``, e.g. an :class:`InputRows` memory map.
    blocks : list of int
        Row counts of the blocks, top to bottom; they sum to ``rows``.
    weights : list of float, optional
        Total variance of each block relative to the first's (default: all 1, equal weight).
    block : int
        Input rows (tracks) read at a time.

    Returns
    -------
    mean, std : np.ndarray
        ``(rows,)`` float32 each; the rows of one block share their spread (at least 1e-3).
    """
    n, rows, width = inputs.shape
    if sum(blocks) != rows or min(blocks) < 1:
        raise ValueError(f"blocks {blocks} do not split {rows} rows")
    mean, _ = normalisation_statistics(inputs, one_scale=True, block=block)
    # Each value's own variance over the tracks (what a distance between two tracks sees), in float64.
    sums = np.zeros((rows, width))
    for start in range(0, n, block):
        sums += inputs[start : start + block].sum(axis=0, dtype=np.float64)
    value_mean = sums / n
    squares = np.zeros((rows, width))
    for start in range(0, n, block):
        squares += np.square(inputs[start : start + block] - value_mean[None], dtype=np.float64).sum(axis=0)
    weights = [1.0] * len(blocks) if weights is None else [float(w) for w in weights]
    if len(weights) != len(blocks) or min(weights) <= 0:
        raise ValueError(f"need one positive weight per block, got {weights}")
    edges = np.cumsum([0, *blocks])
    target = blocks[0] * width  # total variance each block is given (unit variance per value of the first)
    std = np.empty(rows, dtype=np.float32)
    for lo, hi, weight in zip(edges[:-1], edges[1:], weights):
        total = squares[lo:hi].sum() / n  # the block's total variance over the tracks
        std[lo:hi] = max(float(np.sqrt(total / (target * weight))), 1e-3)
    return mean, std
