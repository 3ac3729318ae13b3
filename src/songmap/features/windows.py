"""Whole songs through a bounded number of windows (representation ``"songwise"``).

The ``"modulation"`` input reads each track's first 30 s: a live cut that
starts later, or a song whose intro sounds nothing like the rest, lands
elsewhere than the song. Here a track is read through up to ``max_windows``
windows of ``window_s`` seconds at evenly spaced offsets, first at 0 and last
ending at the track's end (:func:`window_starts`), each decoded by seeking
(:func:`songmap.io.windowed.load_windows`), so an hour-long file costs its windows,
not its hour. A track no longer than one window is one window, loop-padded as
the crop is.

Each window gives its modulation image (:mod:`songmap.features.modulation`)
and its tonal block (:mod:`songmap.features.tonal`), stacked into one
``(n_mels + 12, n_bins)`` image (:class:`WindowedFeatures`); the track's
input is their mean (:meth:`WindowedFeatures.summary`), and the per-window
images stay in the cache, so each window can be placed on the map too.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace

import numpy as np

from songmap.features.augment import apply_chain, chain_rngs, draw_chain
from songmap.features.modulation import envelope_modulation_spectrum
from songmap.features.shaping import loop_pad_or_crop
from songmap.features.spectrogram import (
    MIN_SECONDS,
    SILENCE_DBFS,
    FeatureParams,
    failures_as_decode_errors,
    frames_for_seconds,
    mel_envelopes_from_power,
    power_spectrogram,
)
from songmap.features.tonal import PITCH_CLASSES, tonal_view
from songmap.io.decode_errors import DecodeError
from songmap.io.windowed import load_windows

__all__ = ["WindowSpec", "WindowedFeatures", "window_starts", "extract_windows", "SILENT_WINDOW_DB"]

#: A window more than this many dB under the track's loudest window is silence (a fade, a
#: hidden-track gap) and is left out of the mean, unless every window is.
SILENT_WINDOW_DB = 50.0


@dataclass(frozen=True)
class WindowSpec:
    """Which windows of a track are read, and the size of each window's image.

    Attributes
    ----------
    window_s : float
        Length of each window in seconds (the mapper's crop length).
    max_windows : int
        Most windows per track.
    n_bins : int
        Modulation (and tonal) bands: the image's columns.
    augment : int
        Augmented copies of each track (:mod:`songmap.features.augment`): each
        window is also heard through ``augment`` random recording chains, and
        each copy's mean image is kept (:attr:`WindowedFeatures.augmented`); 0: none.
    augment_seed : int
        Seed of the chains (with each file's name).
    """

    window_s: float
    max_windows: int = 8
    n_bins: int = 16
    augment: int = 0
    augment_seed: int = 0

    def __post_init__(self) -> None:
        if not self.window_s > 0:
            raise ValueError(f"window length must be positive, got {self.window_s}")
        if int(self.max_windows) < 1:
            raise ValueError(f"max_windows must be at least 1, got {self.max_windows}")
        if int(self.n_bins) < 4:
            raise ValueError(f"n_bins must be at least 4, got {self.n_bins}")
        if int(self.augment) < 0:
            raise ValueError(f"augment must be 0 or more, got {self.augment}")

    def key(self) -> str:
        """Stable text form for cache keys (with a version of the window features' definition: bump it
        when :mod:`songmap.features.tonal` or the window images change, so old entries are recomputed).
        The augmentation settings are part of it only when there are augmented copies, so the clean
        images keep the key they had before augmentation existed."""
        fields = asdict(self)
        if int(self.augment) == 0:
            del fields["augment"], fields["augment_seed"]
        else:  # and the version of the recording chains (songmap.features.augment)
            fields["chains"] = 2
        # 6: single-precision modulation spectra and the banded mel product (images within 2e-6 of 5's)
        return json.dumps({"windows": 6, **fields}, sort_keys=True)

    def clean(self) -> WindowSpec:
        """The same windows without augmented copies."""
        return replace(self, augment=0, augment_seed=0)


@dataclass
class WindowedFeatures:
    """A track's per-window images.

    Attributes
    ----------
    images : np.ndarray
        ``(n_windows, n_mels + 12, n_bins)`` float32: each window's modulation
        image with its tonal block under it.
    starts : np.ndarray
        ``(n_windows,)`` start of each window in seconds.
    used : np.ndarray
        ``(n_windows,)`` bool: False for windows of silence, left out of the summary.
    duration_s : float
        Duration of the whole file.
    augmented : np.ndarray or None
        ``(augment, n_mels + 12, n_bins)`` float32: each augmented copy's model
        input, :meth:`summary` plus the change its recording chain made to one
        of the track's windows (drawn with the chain), or None.
    damage : str
        What was damaged in a file that still decoded ("" for an intact one).
    """

    images: np.ndarray
    starts: np.ndarray
    used: np.ndarray
    duration_s: float
    augmented: np.ndarray | None = None
    damage: str = ""

    def summary(self) -> np.ndarray:
        """The track's model input: the mean image of its (non-silent) windows, ``(n_mels + 12, n_bins)``."""
        return self.images[self.used].mean(axis=0, dtype=np.float64).astype(np.float32)


def window_starts(duration_s: float, *, window_s: float, max_windows: int) -> np.ndarray:
    """Evenly spaced window starts covering a track, at most ``max_windows`` of them.

    Parameters
    ----------
    duration_s : float
        Length of the track.
    window_s : float
        Length of a window.
    max_windows : int
        Most windows.

    Returns
    -------
    np.ndarray
        float64 starts in seconds: ``[0]`` for a track no longer than a window;
        otherwise ``min(max_windows, ceil(duration / window))`` starts from 0 to
        ``duration - window`` (the last window ends with the track).

    Examples
    --------
    >>> window_starts(95.0, window_s=30.0, max_windows=8).tolist()
    [0.0, 21.666666666666668, 43.333333333333336, 65.0]
    """
    if window_s <= 0 or max_windows < 1:
        raise ValueError("window_s must be positive and max_windows at least 1")
    if not duration_s > window_s:
        return np.zeros(1)
    n = int(min(max_windows, np.ceil(duration_s / window_s)))
    return np.linspace(0.0, duration_s - window_s, n)


def extract_windows(path: str | os.PathLike, params: FeatureParams, spec: WindowSpec, duration_s: float | None = None) -> WindowedFeatures:
    """Decode a track's windows by seeking and compute each window's image.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file.
    params : FeatureParams
        Spectrogram parameters.
    spec : WindowSpec
    duration_s : float, optional
        The header's duration, when already probed (else read from the file).

    Raises
    ------
    DecodeError
        With the reason when the file cannot be used (any failure on a strange file becomes one).
    """
    with failures_as_decode_errors():
        return _extract_windows(path, params, spec, duration_s)


def _extract_windows(path, params: FeatureParams, spec: WindowSpec, duration_s: float | None) -> WindowedFeatures:
    if duration_s is None or not duration_s > 0:
        from songmap.io.decode import probe

        duration_s = probe(path).duration_s
    starts = window_starts(duration_s, window_s=spec.window_s, max_windows=int(spec.max_windows))
    damage: list[str] = []
    signals, duration_s = load_windows(path, starts, spec.window_s, params.sample_rate, damage=damage)
    if duration_s < MIN_SECONDS or not any(len(y) for y in signals):
        raise DecodeError(f"too short: {duration_s * 1000:.2g} ms of audio, less than {MIN_SECONDS * 1000:g} ms")
    peaks = np.array([max(float(y.max()), -float(y.min())) if len(y) else 0.0 for y in signals])  # no |y| copy
    top = float(peaks.max())
    if top == 0.0:
        raise DecodeError("silent: every sample is zero")
    if 20 * np.log10(top) < SILENCE_DBFS:
        raise DecodeError(f"silent: peak level {20 * np.log10(top):.0f} dBFS, below {SILENCE_DBFS:g} dBFS")
    n_frames = frames_for_seconds(spec.window_s, params)
    shape = (params.n_mels + PITCH_CLASSES, int(spec.n_bins))
    images = np.zeros((len(signals), *shape), np.float32)
    used = peaks > top * 10 ** (-SILENT_WINDOW_DB / 20)
    copies = int(spec.augment)
    rngs = chain_rngs(path, seed=int(spec.augment_seed), copies=copies)
    chains = [draw_chain(rng) for rng in rngs]  # one per copy: a recording treats the whole song alike
    # Each copy hears one of the track's windows through its chain (a window's image costs more than
    # its STFT, so every window of every copy would double the features' time): the copy's mean image
    # is the track's plus what the chain changed in that window.
    heard_in = [int(rng.choice(np.flatnonzero(used))) for rng in rngs]
    augmented = np.zeros((copies, *shape), np.float32)
    for i, y in enumerate(signals):
        if not used[i]:
            continue
        power = power_spectrogram(y / np.float32(peaks[i]), params)
        images[i] = _window_image(power, params, n_frames, int(spec.n_bins))
        for c in (c for c in range(copies) if heard_in[c] == i):
            heard = apply_chain(power, chains[c], rngs[c], sample_rate=params.sample_rate, n_fft=params.n_fft)
            augmented[c] = _window_image(heard, params, n_frames, int(spec.n_bins)) - images[i]
    features = WindowedFeatures(images, np.asarray(starts, np.float64), used, float(duration_s), damage="; ".join(damage))
    if copies:
        features.augmented = augmented + features.summary()[None]
    return features


def _window_image(power: np.ndarray, params: FeatureParams, n_frames: int, n_bins: int) -> np.ndarray:
    """One window's ``(n_mels + 12, n_bins)`` image from its STFT power: modulation spectrum over tonal block."""
    image = np.empty((params.n_mels + PITCH_CLASSES, n_bins), np.float32)
    # A window shorter than window_s (a short track) is loop-padded frame-wise, as the crop is.
    envelopes = loop_pad_or_crop(mel_envelopes_from_power(power, params), n_frames, axis=1)
    image[: params.n_mels] = envelope_modulation_spectrum(envelopes, n_bins)
    image[params.n_mels :] = tonal_view(power, sample_rate=params.sample_rate, n_fft=params.n_fft, n_bins=n_bins)
    return image
