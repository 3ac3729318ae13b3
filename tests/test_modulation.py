"""Tests of songmap.features.modulation: modulation spectra of mel bands."""

from __future__ import annotations

import numpy as np

from songmap.features.modulation import MODULATION_OFFSET, modulation_band_edges, modulation_spectrum


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


def test_modulation_spectrum_of_a_flat_band_is_the_floor() -> None:
    spectrum = modulation_spectrum(np.full((2, 100), -30.0), 8)
    np.testing.assert_allclose(spectrum, np.log(MODULATION_OFFSET), atol=1e-6)


# -- the autoencoder and `compare` on generated audio with known neighbours -------------------------
