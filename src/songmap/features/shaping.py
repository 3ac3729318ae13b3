"""From a spectrogram of any length to the model's input of one shape.

How a mixed collection (0.5 s effects next to 10-minute tracks) becomes inputs
of one shape, as in the original notebooks but bounded:

1. The crop length is the ``crop_percentile``-th percentile of the collection's
   durations, clamped to ``[min_crop_s, max_crop_s]`` (default 1 s .. 30 s), so
   a library of long tracks does not turn into 10-minute inputs and a pack of
   blips does not turn into 30 ms inputs (:func:`crop_seconds`).
2. Shorter tracks are loop-padded by repeating their frames, longer ones
   cropped, so every spectrogram has the crop's number of frames
   (:func:`loop_pad_or_crop`).
3. The cropped spectrogram becomes a ``(n_mels, input_width)`` image
   (:func:`model_input`): its time axis average-pooled into ``time_bins``
   columns (representation ``"pooled"``, the notebooks'), or each band's
   modulation spectrum in ``modulation_bins`` columns (``"modulation"``, see
   :mod:`songmap.features.modulation`).
"""

from __future__ import annotations

import numpy as np

from songmap.features.modulation import modulation_spectrum

__all__ = [
    "REPRESENTATIONS",
    "crop_seconds",
    "loop_pad_or_crop",
    "pool_time",
    "model_input",
]

#: What the autoencoder reads: the time-pooled spectrogram (the notebooks'), each band's
#: modulation spectrum, or ("songwise") the mean over windows spread over the whole track of the
#: modulation spectrum with the tonal view under it (:mod:`songmap.features.windows`, made per
#: window from the audio, not here from one spectrogram).
REPRESENTATIONS = ("pooled", "modulation", "songwise")


def crop_seconds(durations, percentile: float = 75.0, min_crop_s: float = 1.0, max_crop_s: float = 30.0) -> float:
    """Length every track is loop-padded or cropped to.

    Parameters
    ----------
    durations : array_like
        Durations of the collection's tracks in seconds.
    percentile : float
        Percentile of the durations (the notebooks used 75).
    min_crop_s, max_crop_s : float
        Bounds, so that extreme collections still give inputs of a useful size.

    Returns
    -------
    float
        Crop length in seconds.
    """
    if not 0 <= percentile <= 100:
        raise ValueError(f"crop percentile must be between 0 and 100, got {percentile}")
    if min_crop_s <= 0 or max_crop_s < min_crop_s:
        raise ValueError("crop bounds must satisfy 0 < min_crop_s <= max_crop_s")
    durations = np.asarray(durations, dtype=np.float64)
    if durations.size == 0:
        raise ValueError("no durations to choose a crop length from")
    return float(np.clip(np.percentile(durations, percentile), min_crop_s, max_crop_s))


def loop_pad_or_crop(x: np.ndarray, length: int, axis: int = -1) -> np.ndarray:
    """Repeat ``x`` along ``axis`` until it is ``length`` long, or cut it there.

    Looping (rather than zero-padding) keeps a short jingle's texture over the
    whole input, as the original notebooks did.

    Parameters
    ----------
    x : np.ndarray
        Signal (1-D samples) or spectrogram (frames on ``axis``); must not be empty.
    length : int
        Target length along ``axis``.
    axis : int
        Axis to pad or crop.

    Returns
    -------
    np.ndarray
    """
    n = x.shape[axis]
    if n == 0:
        raise ValueError("cannot loop-pad an empty array")
    if length <= 0:
        raise ValueError("length must be positive")
    if n < length:
        reps = [1] * x.ndim
        reps[axis] = -(-length // n)
        x = np.tile(x, reps)
    return np.take(x, np.arange(length), axis=axis)


def pool_time(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Average a ``(bands, frames)`` array into ``n_bins`` equal time columns.

    Parameters
    ----------
    x : np.ndarray
        ``(bands, frames)`` with ``frames >= n_bins``, or fewer frames (then
        loop-padded to ``n_bins`` first).
    n_bins : int
        Number of output columns.

    Returns
    -------
    np.ndarray
        ``(bands, n_bins)`` float32.
    """
    if x.shape[1] < n_bins:
        x = loop_pad_or_crop(x, n_bins, axis=1)
    edges = np.linspace(0, x.shape[1], n_bins + 1).round().astype(int)
    sums = np.add.reduceat(x.astype(np.float64), edges[:-1], axis=1)
    return (sums / np.diff(edges)[None, :]).astype(np.float32)


def model_input(log_mel: np.ndarray, *, n_frames: int, representation: str, width: int) -> np.ndarray:
    """A track's model input: its spectrogram loop-padded/cropped to ``n_frames``, then
    time-pooled or turned into its modulation spectrum.

    Parameters
    ----------
    log_mel : np.ndarray
        ``(n_mels, frames)`` log-mel spectrogram.
    n_frames : int
        Frames of the crop (:func:`songmap.features.spectrogram.frames_for_seconds`).
    representation : {"pooled", "modulation"}
        See :data:`REPRESENTATIONS`.
    width : int
        Columns of the result: time bins or modulation bins.

    Returns
    -------
    np.ndarray
        ``(n_mels, width)`` float32.

    Examples
    --------
    >>> model_input(np.zeros((64, 100), np.float32), n_frames=200, representation="pooled", width=32).shape
    (64, 32)
    """
    if representation not in ("pooled", "modulation"):
        raise ValueError(f"representation must be pooled or modulation here (songwise inputs come from "
                         f"songmap.features.windows), got {representation!r}")
    cropped = loop_pad_or_crop(log_mel, n_frames, axis=1)
    if representation == "modulation":
        return modulation_spectrum(cropped, width)
    return pool_time(cropped, width)
