"""Random recording chains: the same music as another copy of it would sound.

A lo-fi rip, a radio or phone recording, a re-encode at a low bitrate: the
music is the same, the recording is not. The autoencoder can learn to ignore
the recording if it sees, for each track, a few copies through random
recording chains and is asked to place them where the track is
(:mod:`songmap.model.training`, the invariance term). This module makes those
copies.

A chain is drawn once per copy (:func:`draw_chain`; a recording treats the
whole song alike) and applied to each window's **STFT power spectrogram**
(:func:`apply_chain`), before the same log-mel, modulation and tonal path as the
clean window (:mod:`songmap.features.windows`). Filtering a signal multiplies
its STFT by the filter's frequency response (exactly, for filters short next
to the FFT), resampling to a lower rate removes everything above its Nyquist
frequency, and independent noise adds its power, so working on the power
spectrogram gives what the time-domain chain would, without a second STFT: a
copy costs about a tenth of the window's decoding and STFT (measured in
docs/benchmark-history.md, "After: recording-invariant training"). A chain has:

* a **low cut** at 100–500 Hz (log-uniform): a Butterworth high-pass
  (as :func:`scipy.signal.butter` designs it, order 2, 4 or 8) or, one time in two, a brick wall
  (a long sinc filter, as SoX's ``sinc`` or a telephone line);
* a **high cut**: either a Butterworth low-pass (order 4 or 8) at 2.5–8 kHz, or
  the brick wall of resampling to 8, 11.025 or 16 kHz (everything above 0.91 of
  the new Nyquist frequency goes, as soxr's passband);
* an **EQ tilt** of −3 to +3 dB per octave around 1 kHz;
* with probability one half, **noise** (white or pink) 10–35 dB under the window;
* with probability one half, a **low-bitrate codec**'s loss: STFT bins more than
  20–40 dB under their frame's loudest bin are dropped, as a perceptual coder
  drops what it deems masked.

Gain is left out: every window's log-mel is relative to its own peak, so gain
alone changes nothing. Pitch and tempo are left out too: the tonal view is
invariant to the key and the modulation bands are log-spaced, and transposed and
slower copies already land at rank 1 (BENCHMARKS.md, "Same music, same place").
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["RecordingChain", "draw_chain", "apply_chain", "chain_rngs", "butterworth_power", "copied_tracks", "NUISANCE_TRACKS"]

#: Rates a copy may be resampled to (Hz), and the share of the new Nyquist frequency kept (soxr's passband).
RESAMPLE_RATES = (8000, 11025, 16000)
PASSBAND = 0.91

#: Tracks whose copies say which directions a recording moves (:func:`songmap.model.training.nuisance_directions`):
#: a chain's main directions are the same over a few hundred tracks as over all, so when the copies serve
#: only that, the other tracks' copies are not made (at 10 000 short tracks they were 40 % of the features).
NUISANCE_TRACKS = 256


@dataclass(frozen=True)
class RecordingChain:
    """One random recording chain (see the module docstring).

    Attributes
    ----------
    low_cut_hz : float
        High-pass corner frequency.
    low_order : int
        Its Butterworth order; 0 for a brick wall.
    high_cut_hz : float
        Low-pass corner, or the brick wall of a resampling.
    high_order : int
        Its Butterworth order; 0 for a resampling's brick wall.
    tilt_db : float
        EQ tilt in dB per octave around 1 kHz.
    snr_db : float or None
        Noise level under the window's mean power (dB), None without noise.
    pink : bool
        Pink (power falling 3 dB per octave) rather than white noise.
    codec_db : float or None
        STFT bins more than this many dB under their frame's loudest bin are dropped; None: no codec.
    """

    low_cut_hz: float
    low_order: int
    high_cut_hz: float
    high_order: int
    tilt_db: float
    snr_db: float | None
    pink: bool
    codec_db: float | None


def copied_tracks(n: int, *, limit: int | None = NUISANCE_TRACKS) -> np.ndarray:
    """Which of ``n`` tracks get augmented copies: all of them, or ``limit`` evenly spaced ones.

    Parameters
    ----------
    n : int
        Tracks, in the collection's order.
    limit : int or None
        Most tracks; None for all.

    Returns
    -------
    np.ndarray
        Sorted int64 indices, the first and the last track among them.

    Examples
    --------
    >>> copied_tracks(10, limit=4).tolist()
    [0, 3, 6, 9]
    >>> copied_tracks(3).tolist()
    [0, 1, 2]
    """
    n = int(n)
    if limit is None or n <= int(limit):
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, int(limit)).round().astype(np.int64))


def chain_rngs(path: str | os.PathLike, *, seed: int, copies: int) -> list[np.random.Generator]:
    """One generator per augmented copy of a file, from the seed and the file's name (deterministic).

    Parameters
    ----------
    path : str or os.PathLike
        The audio file; only its name is used, so a moved collection gets the same copies.
    seed : int
        The mapper's seed.
    copies : int
        Augmented copies per track.

    Returns
    -------
    list of np.random.Generator
        ``copies`` independent generators.
    """
    name = os.fsencode(os.path.basename(os.fspath(path)))
    digest = int.from_bytes(hashlib.sha256(name).digest()[:8], "little")
    return [np.random.default_rng(child) for child in np.random.SeedSequence([int(seed) % 2**63, digest]).spawn(int(copies))]


def draw_chain(rng: np.random.Generator) -> RecordingChain:
    """A random :class:`RecordingChain` from ``rng``."""

    def log_uniform(lo: float, hi: float) -> float:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    low_cut, low_order = log_uniform(100.0, 500.0), int(rng.choice([2, 4, 8])) if rng.random() < 0.5 else 0
    if rng.random() < 0.5:
        high_cut, high_order = log_uniform(2500.0, 8000.0), int(rng.choice([4, 8]))
    else:
        high_cut, high_order = float(rng.choice(RESAMPLE_RATES)) / 2 * PASSBAND, 0
    tilt = float(rng.uniform(-3.0, 3.0))
    noisy = rng.random() < 0.5
    snr, pink = float(rng.uniform(10.0, 35.0)), bool(rng.random() < 0.5)
    codec = float(rng.uniform(20.0, 40.0)) if rng.random() < 0.5 else None
    return RecordingChain(low_cut, low_order, high_cut, high_order, tilt, snr if noisy else None, pink, codec)


def butterworth_power(freqs: np.ndarray, *, cut_hz: float, order: int, sample_rate: int, highpass: bool) -> np.ndarray:
    """Power gain of the digital Butterworth filter :func:`scipy.signal.butter` designs, at ``freqs``.

    ``butter(order, cut_hz, fs=sample_rate)`` is the analog Butterworth filter through the
    bilinear transform, prewarped at ``cut_hz``, so its power gain is
    ``1 / (1 + (tan(pi f / fs) / tan(pi cut / fs)) ** (2 order))`` (lowpass; the ratio
    inverted for a highpass): what ``abs(sosfreqz(butter(...), freqs)) ** 2`` gives,
    without importing ``scipy.signal`` (half a second in each feature worker).

    Parameters
    ----------
    freqs : np.ndarray
        Frequencies in Hz, in ``[0, sample_rate / 2]``.
    cut_hz : float
        Corner (-3 dB) frequency, below ``sample_rate / 2``.
    order : int
        Filter order.
    sample_rate : int
        Sampling rate, Hz.
    highpass : bool
        A highpass instead of a lowpass.

    Returns
    -------
    np.ndarray
        float64 gains in ``[0, 1]``, the shape of ``freqs``.
    """
    with np.errstate(divide="ignore", over="ignore"):
        ratio = np.tan(np.pi * np.asarray(freqs, np.float64) / sample_rate) / np.tan(np.pi * cut_hz / sample_rate)
        if highpass:
            ratio = 1.0 / ratio
        return 1.0 / (1.0 + ratio ** (2 * int(order)))


@functools.lru_cache(maxsize=64)  # one chain serves a track's windows
def _power_response(chain: RecordingChain, *, sample_rate: int, n_fft: int) -> np.ndarray:
    """``(n_fft // 2 + 1,)`` power gain of the chain's filters and tilt at the STFT's bins."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    nyquist = sample_rate / 2
    gain = np.ones_like(freqs)
    if chain.low_order == 0:
        gain[freqs < chain.low_cut_hz] = 0.0
    elif chain.low_cut_hz < nyquist * 0.99:
        gain *= butterworth_power(freqs, cut_hz=chain.low_cut_hz, order=chain.low_order, sample_rate=sample_rate, highpass=True)
    if chain.high_order == 0:
        gain[freqs > chain.high_cut_hz] = 0.0
    elif chain.high_cut_hz < nyquist * 0.99:
        gain *= butterworth_power(freqs, cut_hz=chain.high_cut_hz, order=chain.high_order, sample_rate=sample_rate, highpass=False)
    octaves = np.log2(np.maximum(freqs, 20.0) / 1000.0)
    return gain * 10.0 ** (chain.tilt_db * octaves / 10.0)


def apply_chain(power: np.ndarray, chain: RecordingChain, rng: np.random.Generator, *, sample_rate: int, n_fft: int) -> np.ndarray:
    """A window's STFT power as heard through ``chain``.

    Parameters
    ----------
    power : np.ndarray
        ``(frames, n_fft // 2 + 1)`` STFT power (:func:`songmap.features.spectrogram.power_spectrogram`).
    chain : RecordingChain
    rng : np.random.Generator
        Draws the noise (exponentially distributed power per bin, as the STFT of Gaussian noise has).
    sample_rate, n_fft : int
        Of that STFT.

    Returns
    -------
    np.ndarray
        ``(frames, n_fft // 2 + 1)`` float32 power; ``power`` is not changed.
    """
    power = np.asarray(power, dtype=np.float32)
    if power.ndim != 2 or power.shape[1] != n_fft // 2 + 1:
        raise ValueError(f"expected a (frames, {n_fft // 2 + 1}) power spectrogram, got shape {power.shape}")
    response = _power_response(chain, sample_rate=sample_rate, n_fft=n_fft).astype(np.float32)
    out = power * response[None, :]
    if chain.snr_db is not None:
        # The noise is recorded with the music, so it passes through the same filters.
        freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
        shape = 1.0 / np.maximum(freqs, 20.0) if chain.pink else np.ones_like(freqs)
        shape = (shape / shape.sum()).astype(np.float32)
        level = float(power.sum(axis=1).mean()) * 10.0 ** (-chain.snr_db / 10.0)
        noise = rng.standard_exponential(power.shape, dtype=np.float32)
        noise *= (level * shape * response)[None, :]
        out += noise
    if chain.codec_db is not None:
        floor = out.max(axis=1, keepdims=True) * np.float32(10.0 ** (-chain.codec_db / 10.0))
        out *= out >= floor  # a product with the mask: a fifth of the time of `out[out < floor] = 0`
    return out
