"""AAC in MP4 (PyAV): no encoder delay at the start, no padding at the end, whole file or by windows."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import write_audio
from songmap.io.decode import decode
from songmap.io.windowed import load_windows

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is needed to make an m4a file")


def _chirp(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * (200 + 100 * t) * t)).astype(np.float32)


def _lag(decoded: np.ndarray, source: np.ndarray) -> int:
    scores = [np.dot(decoded[k : k + 40000], source[:40000]) for k in range(3000)]
    return int(np.argmax(scores))


def test_m4a_decodes_to_the_source_length_without_delay(tmp_path: Path) -> None:
    rate = 44100
    source = _chirp(3.0, rate)
    wav = write_audio(tmp_path / "source.wav", np.stack([source, source], axis=1), rate)
    m4a = tmp_path / "song.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", "-b:a", "192k", str(m4a)], check=True)
    y, native, duration = decode(m4a)
    assert native == rate
    assert len(y) == len(source)  # the last AAC frame's padding is trimmed
    assert duration == pytest.approx(3.0)
    assert _lag(y[:, 0], source) == 0  # and the encoder's priming samples are not kept
    windows, _ = load_windows(m4a, [0.0, 2.5], 1.0, sample_rate=rate)
    assert len(windows[0]) == rate and len(windows[1]) == len(source) - int(2.5 * rate)
