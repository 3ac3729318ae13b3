"""Modulation spectra: how each mel band's level moves over time, whatever the moment it starts.

The seed model reads a track as a time-pooled spectrogram image: 64 columns in
the order they were played. Two loops of the same music that start at
different bars, or a theme and a copy with a noise bed underneath, then differ
column by column although they sound alike. The *modulation spectrum* of a band
is the magnitude of the Fourier transform of that band's amplitude envelope
over the crop: it says how strongly the band pulses at 0.1 Hz (phrases), 2 Hz
(beats), 8 Hz (trills, arpeggios) ..., and not when. It is

* invariant to where a loop starts (a circular shift changes only phases),
* robust to a noise bed under the music: the envelope is taken in amplitude
  (relative to the track's peak), not in dB, so a band counts in proportion to
  how loud it is, and the fluctuations of a bed 12 dB under the music weigh
  little; in dB, a bed filling a band that was silent (-80 dB) would look like
  a 40 dB change,
* still a ``(bands, bins)`` image, so the same convolutional autoencoder reads it.

For each band ``b`` with amplitude envelope ``a_b = 10 ** (dB_b / 20)``:
``log(0.001 + |rfft(hann * (a_b - mean(a_b)))| / frames)``, averaged into
``n_bins`` log-spaced modulation bands from ``1 / crop`` Hz to the frame rate's
Nyquist frequency (about 21.5 Hz at 22 050 Hz with a hop of 512). The Hann
window keeps the edge of the crop (where a loop-padded track wraps around) from
smearing energy over every modulation band.
"""

from __future__ import annotations

import numpy as np

__all__ = ["modulation_spectrum", "envelope_modulation_spectrum", "modulation_band_edges", "MODULATION_OFFSET"]

#: Added before the logarithm, in units of the track's peak amplitude: modulations
#: more than 60 dB under the peak all look like silence, as the log-mel's 80 dB
#: floor does for levels, so a band that is flat in one track and nearly flat in
#: another does not differ by orders of magnitude.
MODULATION_OFFSET = 0.001


def modulation_band_edges(n_freqs: int, n_bins: int) -> np.ndarray:
    """Integer FFT-bin edges of ``n_bins`` log-spaced modulation bands.

    Parameters
    ----------
    n_freqs : int
        Number of rfft bins (``frames // 2 + 1``); bin 0 (the mean) is never used.
    n_bins : int
        Number of modulation bands.

    Returns
    -------
    np.ndarray
        ``n_bins + 1`` increasing integers in ``[1, n_freqs]``; band ``i`` is
        ``[edges[i], edges[i + 1])``. Log-spaced where the FFT is fine enough,
        one FFT bin per band at the low end otherwise; when there are fewer FFT
        bins than bands (very short crops) the last bins repeat.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be positive, got {n_bins}")
    top = max(int(n_freqs), 2)
    edges = np.geomspace(1, top, n_bins + 1)
    out = np.empty(n_bins + 1, dtype=np.int64)
    out[0] = 1
    for i in range(1, n_bins + 1):
        # At least one FFT bin per band, so no two bands are the same column.
        out[i] = max(int(round(edges[i])), out[i - 1] + 1)
    # Fewer FFT bins than bands: clamp to the last real bin; the top bands then repeat it.
    return np.minimum(out, top)


def modulation_spectrum(log_mel: np.ndarray, n_bins: int = 16) -> np.ndarray:
    """Log modulation spectrum of every band of a ``(bands, frames)`` dB spectrogram.

    Parameters
    ----------
    log_mel : np.ndarray
        ``(bands, frames)`` log-mel power spectrogram in dB relative to the
        track's peak (already loop-padded or cropped to the crop length).
    n_bins : int
        Modulation bands in the output.

    Returns
    -------
    np.ndarray
        ``(bands, n_bins)`` float32.
    """
    # dB (relative to the track's peak) -> amplitude envelope in [0, 1]; the shape is checked there.
    envelopes = np.power(np.float32(10.0), np.asarray(log_mel, dtype=np.float32) / np.float32(20.0))
    return envelope_modulation_spectrum(envelopes, n_bins)


def envelope_modulation_spectrum(envelopes: np.ndarray, n_bins: int = 16) -> np.ndarray:
    """:func:`modulation_spectrum` of ``(bands, frames)`` amplitude envelopes, ``10 ** (log_mel / 20)``.

    The window images start here, from the mel power's square root
    (:func:`songmap.features.spectrogram.mel_envelopes_from_power`), without a
    round trip through decibels.

    Parameters
    ----------
    envelopes : np.ndarray
        ``(bands, frames)`` amplitudes relative to the track's peak, in ``[0, 1]``;
        not changed.
    n_bins : int
        Modulation bands in the output.

    Returns
    -------
    np.ndarray
        ``(bands, n_bins)`` float32.
    """
    import scipy.fft  # here, not at the top: `songmap embed` pays for it only when it computes features

    # Single precision, as the log-mel: the envelopes span 80 dB (4 decades of amplitude), and
    # float32's 7 digits keep the spectrum within 1e-5 of double precision's (in its log).
    x = np.array(envelopes, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"expected a (bands, frames) array with at least 2 frames, got shape {x.shape}")
    frames = x.shape[1]
    x -= x.mean(axis=1, keepdims=True)
    x *= _hanning(frames)
    magnitude = np.abs(scipy.fft.rfft(x, axis=1, workers=1, overwrite_x=True))
    bands = magnitude @ _band_means(magnitude.shape[1], n_bins)
    bands /= np.float32(frames)
    return np.log(np.float32(MODULATION_OFFSET) + bands)


_HANNING: dict[int, np.ndarray] = {}
_BAND_MEANS: dict[tuple[int, int], np.ndarray] = {}


def _hanning(frames: int) -> np.ndarray:
    if frames not in _HANNING:
        _HANNING[frames] = np.hanning(frames).astype(np.float32)
    return _HANNING[frames]


def _band_means(n_freqs: int, n_bins: int) -> np.ndarray:
    """``(n_freqs, n_bins)`` float32: column ``i`` averages band ``i``'s FFT bins (:func:`modulation_band_edges`)."""
    key = (n_freqs, n_bins)
    if key not in _BAND_MEANS:
        edges = modulation_band_edges(n_freqs, n_bins)
        lo = np.minimum(edges[:-1], n_freqs - 1)
        hi = np.minimum(np.maximum(edges[1:], edges[:-1] + 1), n_freqs)
        means = np.zeros((n_freqs, n_bins), np.float32)
        for i, (a, b) in enumerate(zip(lo, hi)):
            means[a:b, i] = 1.0 / (b - a)
        _BAND_MEANS[key] = means
    return _BAND_MEANS[key]
