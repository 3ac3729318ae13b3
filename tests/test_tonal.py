"""The tonal view (songmap.features.tonal), the weighting of the two views, and a transposed tune on the map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import write_audio
from songmap.features.spectrogram import FeatureParams, power_spectrogram
from songmap.features.tonal import PITCH_CLASSES, chroma_filterbank, chromagram, fourier_magnitude, tonal_view
from songmap.mapper.inputs import block_normalisation

SR = 22050


def tune(notes, *, seconds_per_note: float = 0.25, semitones: float = 0.0, seconds: float = 12.0, seed: int = 0) -> np.ndarray:
    """A looping melody of harmonic tones (MIDI ``notes``), transposed by ``semitones``, with a quiet noise floor."""
    rng = np.random.default_rng(seed)
    n = int(seconds_per_note * SR)
    t = np.arange(n) / SR
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-3.0 * t)
    parts = []
    for note in notes:
        freq = 440.0 * 2 ** ((note + semitones - 69) / 12)
        parts.append(envelope * sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5)))
    y = np.tile(np.concatenate(parts), int(np.ceil(seconds * SR / (n * len(notes)))))[: int(seconds * SR)]
    return (0.3 * y + 0.002 * rng.standard_normal(len(y))).astype(np.float32)


def test_chroma_of_a_tone_peaks_at_its_pitch_class() -> None:
    for midi, pitch_class in [(69, 9), (72, 0), (88, 4)]:  # A4, C5, E6 (inside the 300-3400 Hz band)
        freq = 440.0 * 2 ** ((midi - 69) / 12)
        y = np.sin(2 * np.pi * freq * np.arange(SR) / SR).astype(np.float32)
        chroma = chromagram(power_spectrogram(y, FeatureParams()), sample_rate=SR, n_fft=2048)
        assert chroma.shape[0] == PITCH_CLASSES
        assert np.argmax(chroma.mean(axis=1)) == pitch_class


def test_chroma_filterbank_ignores_bins_outside_its_band() -> None:
    bank = chroma_filterbank(SR, 2048, fmin=300.0, fmax=3400.0)
    freqs = np.linspace(0, SR / 2, 1025)
    assert bank.shape == (12, 1025)
    assert np.all(bank[:, (freqs < 300) | (freqs > 3400)] == 0)
    assert np.all(bank[:, (freqs > 320) & (freqs < 3300)].sum(axis=0) > 0)


def test_fourier_magnitude_is_invariant_to_transposition() -> None:
    rng = np.random.default_rng(0)
    chroma = rng.random((12, 64))
    base = fourier_magnitude(chroma, patch_frames=64, hop=32)
    for k in range(1, 12):  # every transposition: a circular shift along the pitch axis
        np.testing.assert_allclose(fourier_magnitude(np.roll(chroma, k, axis=0), patch_frames=64, hop=32), base, atol=1e-6)
    # ...but not to a different chromagram.
    assert np.abs(fourier_magnitude(rng.random((12, 64)), patch_frames=64, hop=32) - base).max() > 0.01


def test_tonal_view_of_a_transposed_and_later_starting_tune_stays_put() -> None:
    params = FeatureParams()
    melody = [60, 64, 67, 72, 71, 67, 64, 62, 60, 65, 69, 65]
    other = [60, 62, 63, 65, 67, 68, 70, 72, 70, 68, 67, 65]

    def view(y):
        return tonal_view(power_spectrogram(y, params), sample_rate=SR, n_fft=params.n_fft)

    original = view(tune(melody))
    assert original.shape == (12, 16)
    transposed = view(tune(melody, semitones=2, seed=1))
    later = view(tune(melody, seed=2)[int(1.3 * SR):])  # starts 1.3 s in: mid-note, mid-phrase
    different = view(tune(other, seed=3))
    d_transposed = np.linalg.norm(transposed - original)
    d_later = np.linalg.norm(later - original)
    d_other = np.linalg.norm(different - original)
    assert d_transposed < 0.5 * d_other
    assert d_later < 0.5 * d_other


def test_block_normalisation_gives_each_view_the_same_total_variance() -> None:
    rng = np.random.default_rng(0)
    # A big quiet block and a small loud one: with one spread, the loud block would swamp the other.
    x = np.concatenate([0.1 * rng.standard_normal((50, 20, 4)), 10 + 5 * rng.standard_normal((50, 3, 4))], axis=1)
    mean, std = block_normalisation(x.astype(np.float32), blocks=[20, 3])
    z = (x - mean[None, :, None]) / std[None, :, None]
    total = z.var(axis=0).reshape(23, 4)
    np.testing.assert_allclose(total[:20].sum(), 20 * 4, rtol=1e-4)
    np.testing.assert_allclose(total[20:].sum(), 20 * 4, rtol=1e-4)
    # Rows of a block share their spread; the mean is per row.
    assert len(set(std[:20].tolist())) == 1 and len(set(std[20:].tolist())) == 1
    np.testing.assert_allclose(mean[20:], x[:, 20:].mean(axis=(0, 2)), rtol=1e-4)
    # A weight sets the second view's share: 3 x the first's total variance.
    mean, std = block_normalisation(x.astype(np.float32), blocks=[20, 3], weights=[1.0, 3.0])
    z = (x - mean[None, :, None]) / std[None, :, None]
    np.testing.assert_allclose(z[:, 20:].var(axis=0).sum(), 3 * 20 * 4, rtol=1e-4)
    with pytest.raises(ValueError):
        block_normalisation(x.astype(np.float32), blocks=[20, 2])


def test_transposed_tune_is_its_originals_nearest_neighbour_in_the_songwise_space(tmp_path: Path) -> None:
    from songmap.mapper import SongMapper

    melodies = {
        "theme": [60, 64, 67, 72, 71, 67, 64, 62, 60, 65, 69, 65],
        "minor": [60, 63, 67, 72, 70, 67, 63, 62, 60, 65, 68, 65],
        "scale": [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65],
        "fifths": [60, 67, 62, 69, 64, 71, 66, 73, 68, 75, 70, 77],
        "drone": [60, 60, 67, 60, 60, 67, 60, 60, 67, 60, 65, 67],
    }
    paths = [write_audio(tmp_path / f"{name}.wav", tune(notes, seed=i), SR) for i, (name, notes) in enumerate(melodies.items())]
    paths.append(write_audio(tmp_path / "theme up 2.wav", tune(melodies["theme"], semitones=2, seed=9), SR))
    mapper = SongMapper(preset="songwise", epochs=2, seed=0)
    mapper.fit(paths)
    assert mapper.representation_ == "songwise"
    features = mapper.features_for(paths)
    assert features.shape == (6, (128 + 12) * 16)
    distances = np.linalg.norm(features[:, None] - features[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    assert np.argmin(distances[0]) == 5  # the original's nearest is its transposed copy...
    assert np.argmin(distances[5]) == 0  # ...and the copy's nearest is the original
