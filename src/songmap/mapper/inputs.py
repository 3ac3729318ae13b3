"""Model inputs of a set of files, one row per file, in an unlinked memory-mapped file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["InputRows", "normalisation_statistics"]


class InputRows:
    """Model inputs of a set of files, one row per file, in a memory-mapped temporary file.

    Rows are written as each file's features arrive, and training and encoding
    read them back a batch at a time, so the mapper's own memory does not grow
    with the number of tracks: the rows live in the operating system's page
    cache, which it can write out and drop. The file is unlinked as soon as it
    is made (POSIX), so nothing is left behind, not even after a kill.

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
            self._file = tempfile.TemporaryFile(prefix="songmap-inputs-")
        # np.memmap cannot map an empty file: a collection with no decodable file still gets one row.
        self.array = np.memmap(self._file, dtype=np.float32, mode="w+", shape=(max(n_rows, 1), *row_shape))
        self.durations = np.full(n_rows, np.nan)
        self.filled = np.zeros(n_rows, dtype=bool)
        #: Indices of the files that have a row, and those rows (set by :meth:`compact`).
        self.order = np.zeros(0, dtype=np.int64)
        self.rows = self.array[:0]

    def put(self, row: int, values: np.ndarray, duration_s: float) -> None:
        self.array[row] = values
        self.durations[row] = duration_s
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
