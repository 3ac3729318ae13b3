"""Feature stage: crop length, loop-padding, mel filters and spectrograms, pooling, cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import tone, write_audio
from songmap.features.cache import FeatureCache
from songmap.features.shaping import crop_seconds, loop_pad_or_crop, pool_time
from songmap.features.spectrogram import (
    FeatureParams,
    extract_features,
    frames_for_seconds,
    log_mel_from_power,
    log_mel_spectrogram,
    mel_envelopes_from_power,
    mel_filterbank,
    power_spectrogram,
)
from songmap.io.decode_errors import DecodeError


def test_loop_pad_repeats_the_signal() -> None:
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(loop_pad_or_crop(x, 8), [1, 2, 3, 1, 2, 3, 1, 2])


def test_crop_keeps_the_start() -> None:
    x = np.arange(10.0)
    np.testing.assert_array_equal(loop_pad_or_crop(x, 4), [0, 1, 2, 3])
    np.testing.assert_array_equal(loop_pad_or_crop(x, 10), x)


def test_loop_pad_spectrogram_along_frames() -> None:
    spec = np.arange(6.0).reshape(2, 3)
    out = loop_pad_or_crop(spec, 7, axis=1)
    assert out.shape == (2, 7)
    np.testing.assert_array_equal(out[0], [0, 1, 2, 0, 1, 2, 0])


def test_loop_pad_rejects_empty() -> None:
    with pytest.raises(ValueError):
        loop_pad_or_crop(np.zeros(0), 5)


def test_crop_seconds_is_the_clamped_percentile() -> None:
    durations = [0.5, 1.0, 2.0, 4.0, 8.0]
    assert crop_seconds(durations, 75) == pytest.approx(np.percentile(durations, 75))
    assert crop_seconds(durations, 50) == pytest.approx(2.0)
    # Effects-only collections and hour-long mixes are clamped to a useful range.
    assert crop_seconds([0.05, 0.1, 0.2], 75) == 1.0
    assert crop_seconds([600.0, 3600.0], 75) == 30.0
    assert crop_seconds([600.0], 75, max_crop_s=60) == 60.0
    with pytest.raises(ValueError):
        crop_seconds([1.0], 101)
    with pytest.raises(ValueError):
        crop_seconds([], 75)


def test_mel_filterbank_matches_librosa() -> None:
    librosa = pytest.importorskip("librosa")
    for sr, n_fft, n_mels, fmax in [(22050, 2048, 128, None), (16000, 1024, 40, 7000.0)]:
        ours = mel_filterbank(sr, n_fft, n_mels, fmax=fmax)
        ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmax=fmax)
        assert ours.shape == (n_mels, n_fft // 2 + 1)
        np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_log_mel_matches_librosa_power_to_db() -> None:
    librosa = pytest.importorskip("librosa")
    y = tone(330, 3.0, 22050, noise=0.01)
    ours = log_mel_spectrogram(y, FeatureParams())
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050), ref=np.max, top_db=80)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=0.01)


@pytest.mark.parametrize("params", [FeatureParams(), FeatureParams(sample_rate=16000, n_fft=1024, hop_length=256, n_mels=40, fmax=7000.0)])
def test_power_and_mel_match_a_double_precision_reference(params: FeatureParams) -> None:
    # Several blocks of STFT frames and of mel bins, the last block of frames partial.
    y = np.random.default_rng(1).standard_normal(params.sample_rate * 3 + 123).astype(np.float32)
    y *= np.linspace(0.01, 1.0, len(y), dtype=np.float32)
    n = params.n_fft
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(y.astype(np.float64), n // 2), n)[:: params.hop_length]
    frames = frames[: 1 + len(y) // params.hop_length]
    expected = np.abs(np.fft.rfft(frames * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)), axis=1)) ** 2
    power = power_spectrogram(y, params)
    assert power.shape == expected.shape and power.dtype == np.float32
    np.testing.assert_allclose(power, expected, rtol=1e-3, atol=1e-6 * expected.max())

    mel = expected @ mel_filterbank(params.sample_rate, n, params.n_mels, params.fmin, params.fmax).T.astype(np.float64)
    db = 10 * np.log10(np.maximum(mel, 1e-10)).T
    db = np.maximum(db - db.max(), -params.top_db)
    np.testing.assert_allclose(log_mel_from_power(power, params), db, atol=1e-3)
    # The modulation spectrum's envelopes: the same spectrogram in amplitude, without decibels.
    envelopes = mel_envelopes_from_power(power, params)
    assert envelopes.shape == db.shape and envelopes.dtype == np.float32
    np.testing.assert_allclose(envelopes, 10 ** (db / 20), rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize("n_mels, hop, samples", [(128, 512, 22050), (64, 256, 5000), (128, 512, 300)])
def test_log_mel_shape_and_range(n_mels: int, hop: int, samples: int) -> None:
    params = FeatureParams(n_mels=n_mels, hop_length=hop)
    y = np.random.default_rng(0).standard_normal(samples).astype(np.float32)
    spec = log_mel_spectrogram(y, params)
    assert spec.shape == (n_mels, 1 + samples // hop)
    assert spec.dtype == np.float32
    assert np.isfinite(spec).all()
    assert spec.max() == pytest.approx(0.0) and spec.min() >= -80.0


def test_log_mel_ignores_loudness() -> None:
    y = tone(440, 1.0)
    np.testing.assert_allclose(log_mel_spectrogram(y), log_mel_spectrogram(0.01 * y), atol=1e-3)


def test_feature_params_validation() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        FeatureParams(sample_rate=10)
    with pytest.raises(ValueError, match="n_mels"):
        FeatureParams(n_mels=0)


def test_pool_time_averages_columns() -> None:
    x = np.array([[0.0, 2.0, 4.0, 6.0]])
    np.testing.assert_allclose(pool_time(x, 2), [[1.0, 5.0]])
    assert pool_time(np.ones((3, 5)), 8).shape == (3, 8)


def test_frames_for_seconds_matches_spectrogram_length() -> None:
    params = FeatureParams()
    y = np.random.default_rng(1).standard_normal(int(2.5 * params.sample_rate)).astype(np.float32)
    assert log_mel_spectrogram(y, params).shape[1] == frames_for_seconds(2.5, params)


def test_extract_features_crops_long_files_and_marks_completeness(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.wav", tone(220, 6.0), 22050)
    params = FeatureParams()
    cropped = extract_features(path, params, max_seconds=2.0)
    assert not cropped.complete and cropped.covered_s == pytest.approx(2.0)
    assert cropped.duration_s == pytest.approx(6.0)
    assert cropped.covers(2.0) and not cropped.covers(3.0)
    whole = extract_features(path, params, max_seconds=10.0)
    assert whole.complete and whole.covers(30.0)


def test_silent_file_is_rejected_with_reason(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "silence.wav", np.zeros(22050, np.float32), 22050)
    with pytest.raises(DecodeError, match="silent"):
        extract_features(path, FeatureParams(), None)


def test_cache_round_trip_and_invalidation(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "a.wav", tone(440, 1.0), 22050)
    cache = FeatureCache(tmp_path / "cache")
    params = FeatureParams()
    assert cache.get(path, params) is None
    feats = extract_features(path, params, None)
    cache.put(path, params, feats)
    got = cache.get(path, params)
    assert got is not None and got.complete == feats.complete
    np.testing.assert_allclose(got.log_mel, feats.log_mel, atol=0.05)
    # Other parameters, or a changed file, are different entries.
    assert cache.get(path, FeatureParams(n_mels=64)) is None
    write_audio(path, tone(880, 1.0), 22050)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert cache.get(path, params) is None
    # No temporary files are left behind.
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")] == []
