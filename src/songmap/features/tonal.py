"""The tonal view: harmony and melody, whatever the key and wherever the music starts.

The modulation spectrum (:mod:`songmap.features.modulation`) says how each band
pulses: timbre and rhythm, nothing of which notes are played. The tonal view
adds the notes, made invariant to what a cover, a transposition or a later
section changes, as in cover-song identification (Bertin-Mahieux & Ellis, "Large-scale
cover song recognition using the 2D Fourier transform magnitude", ISMIR 2012):

1. **Chroma** (:func:`chroma_filterbank`, :func:`chromagram`): the STFT power the
   log-mel already computes, between 300 and 3400 Hz (:data:`CHROMA_FMIN`), folded onto the 12 pitch classes by a filterbank of
   Gaussian bumps one third of a semitone wide, weighted over octaves around
   middle C (so neither the bass nor the top octaves dominate), each frame scaled
   to a maximum of 1 (loudness and spectral tilt, which a band limit changes, do
   not count), then averaged over short blocks of frames.
2. **2-D Fourier transform magnitude** (:func:`fourier_magnitude`) of chroma
   patches of ``patch_frames`` blocks: transposing the music rolls the chroma
   circularly along the pitch axis, and starting it elsewhere shifts it in time;
   both change mainly the phases of the 2-D transform, so its magnitude is
   invariant to the key exactly and, each patch Hann-windowed in time, nearly
   to where the music starts. The median over
   a window's patches keeps the typical pattern, not a passing fill.
3. Its time-frequency axis is averaged into ``n_bins`` bands, log-spaced like the
   modulation bands (the first band is the patch's mean chroma profile, of which
   the pitch-axis magnitude is the key-free shape), so tempo changes move
   energy little between bands, and the result is ``log(offset + magnitude)``:
   a ``(12, n_bins)`` block, read beside the modulation image.
"""

from __future__ import annotations

import numpy as np

from songmap.features.modulation import modulation_band_edges

__all__ = [
    "PITCH_CLASSES",
    "TONAL_OFFSET",
    "chroma_filterbank",
    "chromagram",
    "fourier_magnitude",
    "tonal_view",
]

#: Rows of the tonal block: the 12 pitch-axis frequencies of the 2-D transform.
PITCH_CLASSES = 12
#: Added before the logarithm (chroma frames peak at 1; a patch's transform is divided by its size).
#: 0.01 rather than the modulation spectrum's 0.001: below it lie the leakage and noise of weak
#: pitch-time frequencies, which differ between two starts of the same tune (measured: a tune
#: started 0.25–1.3 s later moved 5–10 units with 0.001, 1.2–1.5 with 0.01; another tune, 3.2).
TONAL_OFFSET = 1e-2
#: Frames of the STFT averaged into one chroma block (8 × 512 / 22 050 Hz ≈ 0.19 s).
CHROMA_BLOCK = 8
#: Chroma blocks per patch of the 2-D transform (64 × 0.19 s ≈ 12 s, a few bars) and hop between patches.
PATCH_FRAMES = 64
PATCH_HOP = 32

#: Frequencies the chroma is read from, Hz: the telephone band. The harmonics of bass notes
#: there fold onto the same pitch classes as their fundamentals, so little of the harmony is
#: lost, and a band-limited (lo-fi, radio, phone) copy of a song keeps its tonal view: measured on
#: the copy benchmark (docs/benchmark-history.md, "After: whole songs + tonal view"), 55–5000 Hz put lo-fi partners at rank 1 for 72 % of
#: directions (worst 54) in the tonal view alone, 300–3400 Hz for all of them.
CHROMA_FMIN = 300.0
CHROMA_FMAX = 3400.0
#: Octave weighting of the chroma filterbank: a Gaussian in octaves around middle C, and the width
#: in semitones of each pitch class's bump (the map page's placer reads these through the model block).
CHROMA_CENTRE_HZ = 261.63
CHROMA_OCTAVE_WIDTH = 2.0
CHROMA_BUMP_SEMITONES = 1.0 / 3
#: Chroma frames whose total is this far (as a power ratio: 80 dB) under the loudest frame are silence.
CHROMA_SILENCE = 1e-8

_CHROMA_BANKS: dict[tuple, tuple[slice, np.ndarray]] = {}


def chroma_filterbank(
    sample_rate: int,
    n_fft: int,
    *,
    fmin: float = CHROMA_FMIN,
    fmax: float = CHROMA_FMAX,
    centre_hz: float = CHROMA_CENTRE_HZ,
    octave_width: float = CHROMA_OCTAVE_WIDTH,
) -> np.ndarray:
    """Weights that fold STFT bins onto the 12 pitch classes (C = row 0).

    Parameters
    ----------
    sample_rate : int
        Sampling rate in Hz.
    n_fft : int
        FFT size.
    fmin, fmax : float
        Bins outside ``[fmin, fmax]`` Hz get no weight.
    centre_hz, octave_width : float
        Octave weighting: a Gaussian in octaves around ``centre_hz`` with this
        standard deviation (as ``librosa.filters.chroma``'s ``ctroct``/``octwidth``).

    Returns
    -------
    np.ndarray
        ``(12, n_fft // 2 + 1)`` float32. Each bin's weight also carries ``1 / f``,
        its width in semitones, so every semitone counts alike whatever its number of bins.
    """
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    inside = (freqs >= fmin) & (freqs <= fmax) & (freqs > 0)
    midi = np.where(inside, 69 + 12 * np.log2(np.maximum(freqs, 1e-6) / 440.0), 0.0)
    # Circular distance in semitones from each bin's pitch to each pitch class (C = MIDI 0 mod 12).
    distance = (midi[None, :] - np.arange(PITCH_CLASSES)[:, None] + 6) % 12 - 6
    bumps = np.exp(-0.5 * (distance / CHROMA_BUMP_SEMITONES) ** 2)
    octaves = np.exp(-0.5 * (np.log2(np.maximum(freqs, 1e-6) / centre_hz) / octave_width) ** 2)
    weights = bumps * (octaves / np.maximum(freqs, 1e-6) * inside)[None, :]
    return (weights / weights.max()).astype(np.float32)


def _bank(sample_rate: int, n_fft: int) -> tuple[slice, np.ndarray]:
    """The bins with weight (those between CHROMA_FMIN and CHROMA_FMAX, a quarter of them at 22 050 Hz)
    and their ``(bins, 12)`` weights, so each chromagram multiplies only those."""
    key = (sample_rate, n_fft)
    if key not in _CHROMA_BANKS:
        weights = chroma_filterbank(sample_rate, n_fft, fmin=CHROMA_FMIN, fmax=CHROMA_FMAX).T
        weighted = np.flatnonzero(weights.any(axis=1))
        bins = slice(int(weighted[0]), int(weighted[-1]) + 1) if weighted.size else slice(0, 0)
        _CHROMA_BANKS[key] = (bins, np.ascontiguousarray(weights[bins]))
    return _CHROMA_BANKS[key]


def chromagram(power: np.ndarray, *, sample_rate: int, n_fft: int, block: int = CHROMA_BLOCK) -> np.ndarray:
    """Chroma of an STFT power spectrogram, each frame scaled to a maximum of 1, averaged over ``block`` frames.

    Parameters
    ----------
    power : np.ndarray
        ``(frames, n_fft // 2 + 1)`` STFT power (:func:`songmap.features.spectrogram.power_spectrogram`).
    sample_rate, n_fft : int
        Of that STFT.
    block : int
        Frames averaged into one column.

    Returns
    -------
    np.ndarray
        ``(12, max(1, frames // block))`` float32 in ``[0, 1]``; frames more than
        80 dB under the loudest frame count as silence (all zero).
    """
    bins, weights = _bank(sample_rate, n_fft)
    chroma = np.asarray(power, dtype=np.float32)[:, bins] @ weights  # (frames, 12)
    peaks = chroma.max(axis=1, keepdims=True)
    loud = peaks > max(float(peaks.max()), 1e-20) * CHROMA_SILENCE
    chroma = np.where(loud, chroma / np.maximum(peaks, 1e-30), 0.0)
    n = max(1, chroma.shape[0] // block)
    if chroma.shape[0] < block:
        return chroma.mean(axis=0)[:, None].astype(np.float32)
    return chroma[: n * block].reshape(n, block, PITCH_CLASSES).mean(axis=1).T.astype(np.float32)


def fourier_magnitude(chroma: np.ndarray, *, patch_frames: int = PATCH_FRAMES, hop: int = PATCH_HOP) -> np.ndarray:
    """Median 2-D Fourier transform magnitude of a chromagram's patches.

    Parameters
    ----------
    chroma : np.ndarray
        ``(12, columns)``; fewer columns than ``patch_frames`` are loop-padded.
    patch_frames, hop : int
        Patch length and hop in columns.

    Returns
    -------
    np.ndarray
        ``(12, patch_frames // 2 + 1)`` float32: pitch-axis frequency × time-axis
        frequency, divided by the patch size. Invariant to a circular shift of
        the pitch axis (a transposition) exactly; each patch is Hann-windowed in
        time, so a shift in time changes it little (and only at its edges).
    """
    x = np.asarray(chroma, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != PITCH_CLASSES or x.shape[1] < 1:
        raise ValueError(f"expected a (12, columns) chromagram, got shape {x.shape}")
    if x.shape[1] < patch_frames:
        x = np.tile(x, (1, -(-patch_frames // x.shape[1])))
    starts = range(0, x.shape[1] - patch_frames + 1, hop)
    # A Hann window over time: a patch rarely holds a whole number of bars, and its cut edges would
    # otherwise leak energy over every time frequency differently for each start of the music.
    patches = np.stack([x[:, s : s + patch_frames] for s in starts]) * np.hanning(patch_frames)
    magnitude = np.abs(np.fft.rfft2(patches, axes=(1, 2))) / (PITCH_CLASSES * patch_frames)
    return np.median(magnitude, axis=0).astype(np.float32)


def tonal_view(power: np.ndarray, *, sample_rate: int, n_fft: int, n_bins: int = 16) -> np.ndarray:
    """A window's tonal block: chroma → 2-D Fourier magnitude → ``n_bins`` log-spaced bands, in log.

    Parameters
    ----------
    power : np.ndarray
        ``(frames, n_fft // 2 + 1)`` STFT power of the window.
    sample_rate, n_fft : int
        Of that STFT.
    n_bins : int
        Columns of the block (the modulation image's width, so the two stack).

    Returns
    -------
    np.ndarray
        ``(12, n_bins)`` float32.
    """
    magnitude = fourier_magnitude(chromagram(power, sample_rate=sample_rate, n_fft=n_fft))
    n_freqs = magnitude.shape[1]
    # Column 0 (the patch's mean chroma, key-free through the pitch-axis magnitude) is a band of its own.
    edges = np.concatenate([[0], modulation_band_edges(n_freqs, n_bins - 1)])
    cumulative = np.concatenate([np.zeros((PITCH_CLASSES, 1)), np.cumsum(magnitude, axis=1, dtype=np.float64)], axis=1)
    lo, hi = edges[:-1], np.maximum(edges[1:], edges[:-1] + 1)
    lo, hi = np.minimum(lo, n_freqs - 1), np.minimum(hi, n_freqs)
    bands = (cumulative[:, hi] - cumulative[:, lo]) / (hi - lo)[None, :]
    return np.log(TONAL_OFFSET + bands).astype(np.float32)
