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


def test_a_damaged_m4a_is_never_a_permission_problem(tmp_path: Path) -> None:
    """FFmpeg's AAC decoder refuses a damaged packet with EPERM: from a readable file that is damage."""
    import av.error

    from songmap.io.decode_errors import DecodeError, pyav_errors

    with pytest.raises(DecodeError, match=r"^not decodable audio \(damaged audio data"):
        with pyav_errors():
            raise av.error.PermissionError(1, "Operation not permitted")  # what avcodec_send_packet raised
    with pytest.raises(DecodeError, match=r"^not decodable audio \(damaged or unsupported audio stream\)$"):
        with pyav_errors():
            raise AttributeError("'NoneType' object has no attribute 'sample_rate'")  # PyAV on a stream with no codec
    with pytest.raises(DecodeError, match=r"^cannot read file \(permission denied\)$"):
        with pyav_errors():
            raise av.error.PermissionError(13, "Permission denied")  # EACCES: the file system's own

    # Real mutants: 0.1 % of the bytes of a real AAC file flipped, seeded; whatever each one gives,
    # it is never "permission denied" (the test runs as a user who may read every one of them).
    rate = 44100
    wav = write_audio(tmp_path / "source.wav", _chirp(20.0, rate), rate)
    m4a = tmp_path / "song.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", "-b:a", "128k", str(m4a)], check=True)
    source = m4a.read_bytes()
    reasons = set()
    for seed in range(60):
        rng = np.random.default_rng(seed)
        mutant = bytearray(source)
        for at in rng.choice(len(mutant), size=len(mutant) // 1000, replace=False):
            mutant[at] ^= 1 << int(rng.integers(8))
        path = tmp_path / f"mutant {seed}.m4a"
        path.write_bytes(bytes(mutant))
        try:
            decode(path)
        except DecodeError as exc:
            reasons.add(str(exc))
    assert reasons and not any("permission" in reason for reason in reasons), reasons
