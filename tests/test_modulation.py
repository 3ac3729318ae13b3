"""Tests of songmap.features.modulation: modulation spectra of mel bands."""

from __future__ import annotations

import numpy as np

from songmap.features.modulation import (
    MODULATION_OFFSET,
    envelope_modulation_spectrum,
    modulation_band_edges,
    modulation_spectrum,
)


def test_modulation_band_edges_are_increasing_and_in_range() -> None:
    for n_freqs in (3, 23, 188, 647):
        edges = modulation_band_edges(n_freqs, 16)
        assert len(edges) == 17 and edges[0] == 1 and edges[-1] <= n_freqs
        assert np.all(np.diff(edges) >= 0)
    assert np.all(np.diff(modulation_band_edges(647, 16)) >= 1)


def test_modulation_spectrum_ignores_where_a_loop_starts_and_sees_its_rate() -> None:
    frames = np.arange(1024)
    slow = np.where((frames // 32) % 2 == 0, 0.0, -40.0)[None, :].repeat(4, axis=0)  # ~0.7 Hz pulse
    fast = np.where((frames // 4) % 2 == 0, 0.0, -40.0)[None, :].repeat(4, axis=0)  # ~5 Hz pulse
    spectrum = modulation_spectrum(slow, 16)
    assert spectrum.shape == (4, 16) and spectrum.dtype == np.float32
    shifted = modulation_spectrum(np.roll(slow, 23, axis=1), 16)
    other = modulation_spectrum(fast, 16)
    # Starting the loop elsewhere changes the spectrum far less than a different rhythm does.
    assert np.abs(shifted - spectrum).mean() < 0.1 * np.abs(other - spectrum).mean()
    assert np.argmax(spectrum[0]) < np.argmax(other[0])


def test_modulation_spectrum_matches_its_definition_in_double_precision() -> None:
    log_mel = np.maximum(np.random.default_rng(2).normal(-30.0, 15.0, (8, 1292)), -80.0)
    envelope = 10.0 ** (log_mel / 20.0)
    x = (envelope - envelope.mean(axis=1, keepdims=True)) * np.hanning(log_mel.shape[1])
    magnitude = np.abs(np.fft.rfft(x, axis=1)) / log_mel.shape[1]
    edges = modulation_band_edges(magnitude.shape[1], 16)
    expected = np.log(MODULATION_OFFSET + np.stack([magnitude[:, a:b].mean(axis=1) for a, b in zip(edges[:-1], edges[1:])], axis=1))
    np.testing.assert_allclose(modulation_spectrum(log_mel, 16), expected, atol=1e-4)
    np.testing.assert_allclose(envelope_modulation_spectrum(envelope, 16), expected, atol=1e-4)
    assert envelope.flags.writeable and np.array_equal(envelope, 10.0 ** (log_mel / 20.0))  # input left alone


def test_modulation_spectrum_of_a_flat_band_is_the_floor() -> None:
    spectrum = modulation_spectrum(np.full((2, 100), -30.0), 8)
    np.testing.assert_allclose(spectrum, np.log(MODULATION_OFFSET), atol=1e-6)


# -- the autoencoder and `compare` on generated audio with known neighbours -------------------------
