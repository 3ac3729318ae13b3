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

__all__ = ["modulation_spectrum", "modulation_band_edges", "MODULATION_OFFSET"]

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
    x = np.asarray(log_mel, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"expected a (bands, frames) array with at least 2 frames, got shape {x.shape}")
    frames = x.shape[1]
    x = 10.0 ** (x / 20.0)  # dB (relative to the track's peak) -> amplitude envelope in [0, 1]
    x = (x - x.mean(axis=1, keepdims=True)) * np.hanning(frames)[None, :]
    magnitude = np.abs(np.fft.rfft(x, axis=1)) / frames
    edges = modulation_band_edges(magnitude.shape[1], n_bins)
    # Mean over each band's FFT bins via cumulative sums (one pass, any number of bands).
    cumulative = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(magnitude, axis=1)], axis=1)
    lo, hi = edges[:-1], edges[1:]
    hi = np.maximum(hi, lo + 1)
    lo = np.minimum(lo, magnitude.shape[1] - 1)
    hi = np.minimum(hi, magnitude.shape[1])
    bands = (cumulative[:, hi] - cumulative[:, lo]) / (hi - lo)[None, :]
    return np.log(MODULATION_OFFSET + bands).astype(np.float32)
