"""Property-based tests of the feature stage: whatever short signal a file holds, songmap gives finite features or says why not.

Random WAV files (0..N frames, 8..96 kHz, 1..6 channels, int16/int32/float32/float64, with
silence, near silence, single spikes, NaN and inf) must give a finite float32 log-mel
spectrogram of the documented shape, ``(n_mels, 1 + resampled_length // hop_length)`` with its
peak at 0 dB, or a :class:`~songmap.io.decode_errors.DecodeError` whose reason is one of the documented ones.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from songmap.features.spectrogram import MIN_SECONDS, SILENCE_DBFS, FeatureParams, extract_features, log_mel_spectrogram
from songmap.io.decode import load
from songmap.io.decode_errors import DecodeError

PARAMS = FeatureParams(n_mels=32)
MAX_FRAMES = 6000

#: Every reason the feature stage gives for a readable WAV it cannot use (README: "What songmap does with bad files").
DOCUMENTED_REASONS = (
    "empty: no audio samples",
    "no usable samples: every sample is NaN or infinite",
    "too short: ",
    "silent: every sample is zero",
    "silent: peak level ",
)

SUBTYPES = {"int16": "PCM_16", "int32": "PCM_32", "float32": "FLOAT", "float64": "DOUBLE"}
FULL_SCALE = {"int16": 2**15, "int32": 2**31}


@st.composite
def signals(draw):
    """(samples as written, sample rate, dtype name, what the signal is)."""
    dtype = draw(st.sampled_from(sorted(SUBTYPES)))
    kinds = ["noise", "tone", "zeros", "spike"] + (["nonfinite", "all-nonfinite"] if dtype.startswith("float") else [])
    kind = draw(st.sampled_from(kinds))
    frames = draw(st.one_of(st.integers(0, 40), st.integers(0, MAX_FRAMES)))
    rate = draw(st.integers(8000, 96000))
    channels = draw(st.integers(1, 6))
    level_db = draw(st.sampled_from([0.0, -6.0, -40.0, -85.0, -95.0, -120.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    amplitude = 10 ** (level_db / 20)
    if kind == "noise":
        y = rng.uniform(-amplitude, amplitude, (frames, channels))
    elif kind == "tone":
        t = np.arange(frames)[:, None] / rate
        # Below 10 kHz, so that resampling to 22.05 kHz keeps the tone (a 30 kHz tone would become silence).
        y = amplitude * np.sin(2 * np.pi * rng.uniform(50, 10000) * t + rng.uniform(0, 6, channels))
    elif kind == "spike":
        y = np.zeros((frames, channels))
        if frames:
            y[rng.integers(frames), rng.integers(channels)] = amplitude
    else:
        y = np.zeros((frames, channels)) if kind == "zeros" else rng.uniform(-amplitude, amplitude, (frames, channels))
    if kind in ("nonfinite", "all-nonfinite") and frames:
        mask = rng.random((frames, channels)) < (1.0 if kind == "all-nonfinite" else 0.1)
        y[mask] = rng.choice([np.nan, np.inf, -np.inf], size=int(mask.sum()))
    if dtype in FULL_SCALE:
        scale = FULL_SCALE[dtype]
        y = np.clip(np.round(y * scale), -scale, scale - 1).astype(dtype)
    else:
        y = y.astype(dtype)
    return y, rate, dtype, kind


def _as_float(y: np.ndarray, dtype: str) -> np.ndarray:
    return y / FULL_SCALE[dtype] if dtype in FULL_SCALE else y.astype(np.float64)


@settings(max_examples=60, deadline=None)
@given(signals())
def test_feature_stage_gives_finite_features_or_a_documented_reason(signal) -> None:
    y, rate, dtype, kind = signal
    frames = len(y)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.wav"
        sf.write(str(path), y, rate, subtype=SUBTYPES[dtype])
        values = _as_float(y, dtype)
        finite = values[np.isfinite(values)]
        # What the features see: non-finite samples as 0, channels averaged (anti-phase channels cancel).
        mono = np.where(np.isfinite(values), values, 0.0).mean(axis=1) if frames else np.zeros(0)
        peak = float(np.max(np.abs(mono))) if frames else 0.0
        try:
            feats = extract_features(path, PARAMS, max_seconds=None)
        except DecodeError as exc:
            reason = str(exc)
            assert reason.startswith(DOCUMENTED_REASONS), reason
            # ... and it is the right reason for this signal.
            if frames == 0:
                assert reason == "empty: no audio samples"
            elif finite.size == 0:
                assert reason.startswith("no usable samples")
            elif frames / rate < MIN_SECONDS:
                assert reason.startswith("too short: ")
            elif peak == 0.0:
                assert reason == "silent: every sample is zero"
            elif reason == "silent: every sample is zero":
                assert peak < 10 ** ((SILENCE_DBFS - 30) / 20), peak  # float32 mixing rounds a whisper to zero
            else:
                assert reason.startswith("silent: peak level ") and peak < 10 ** ((SILENCE_DBFS + 10) / 20), (reason, peak)
            return
        assert frames / rate >= MIN_SECONDS and peak > 10 ** ((SILENCE_DBFS - 10) / 20)
        resampled, duration = load(path, PARAMS.sample_rate)
        assert abs(len(resampled) - frames * PARAMS.sample_rate / rate) <= 1
        assert duration == frames / rate
        assert feats.log_mel.dtype == np.float32
        assert feats.log_mel.shape == (PARAMS.n_mels, 1 + len(resampled) // PARAMS.hop_length)
        assert np.isfinite(feats.log_mel).all()
        assert feats.log_mel.max() == 0.0 and feats.log_mel.min() >= -PARAMS.top_db
        assert feats.complete and feats.duration_s == duration


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 3 * 2048),
    st.sampled_from([0.0, -60.0, -90.0]),
    st.sampled_from(["noise", "spike", "tone"]),
    st.integers(0, 2**32 - 1),
)
def test_log_mel_of_any_non_silent_signal_is_finite_with_its_peak_at_0_db(length, level_db, kind, seed) -> None:
    rng = np.random.default_rng(seed)
    if kind == "noise":
        y = rng.uniform(-1, 1, length)
    elif kind == "tone":
        y = np.sin(2 * np.pi * rng.uniform(20, 11000) * np.arange(length) / 22050)
    else:
        y = np.zeros(length)
        y[rng.integers(length)] = 1.0
    y = (y * 10 ** (level_db / 20)).astype(np.float32)
    if not np.any(y):
        y[0] = 1e-3
    db = log_mel_spectrogram(y, PARAMS)
    assert db.shape == (PARAMS.n_mels, 1 + length // PARAMS.hop_length)
    assert db.dtype == np.float32 and np.isfinite(db).all()
    assert db.max() == 0.0 and db.min() >= -PARAMS.top_db
