"""Audio stage: finding files by content, decoding, mono, resampling, reasons for bad files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import tone, write_audio
from songmap.io.decode import decode, load, probe
from songmap.io.decode_errors import DecodeError
from songmap.io.discovery import find_audio_files, looks_like_audio


def test_find_audio_files_by_extension_and_content(tmp_path: Path) -> None:
    write_audio(tmp_path / "a.wav", tone(440, 0.5), 22050)
    write_audio(tmp_path / "sub dir" / "b.flac", tone(440, 0.5), 22050)
    # Audio whose extension lies, and one with no extension: found by content.
    write_audio(tmp_path / "c.dat", tone(440, 0.5), 22050, fmt="WAV")
    write_audio(tmp_path / "noext", tone(440, 0.5), 22050, fmt="OGG", subtype="VORBIS")
    # Claims to be audio but is text: listed, so it can be reported as skipped.
    (tmp_path / "fake.mp3").write_text("not audio at all")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "metadata.csv").write_text("filename,category\n")
    (tmp_path / ".hidden.wav").write_bytes(b"")
    (tmp_path / "dir.wav").mkdir()  # a folder named like audio is not a file

    found = [p.relative_to(tmp_path).as_posix() for p in find_audio_files(tmp_path)]
    assert found == ["a.wav", "c.dat", "fake.mp3", "noext", "sub dir/b.flac"]


def test_find_audio_files_excludes_output_folder(tmp_path: Path) -> None:
    write_audio(tmp_path / "a.wav", tone(440, 0.5), 22050)
    write_audio(tmp_path / "out" / "b.wav", tone(440, 0.5), 22050)
    assert [p.name for p in find_audio_files(tmp_path, exclude=tmp_path / "out")] == ["a.wav"]


def test_looks_like_audio_signatures(tmp_path: Path) -> None:
    samples = {
        "riff": b"RIFF\x00\x00\x00\x00WAVEfmt ",
        "ogg": b"OggS\x00\x02" + bytes(10),
        "flac": b"fLaC" + bytes(10),
        "id3": b"ID3\x04" + bytes(10),
        "mpeg": b"\xff\xfb\x90\x00" + bytes(10),
        "m4a": b"\x00\x00\x00\x20ftypM4A " + bytes(4),
        "text": b"hello world, no audio",
        "short": b"RI",
    }
    for name, data in samples.items():
        (tmp_path / name).write_bytes(data)
    assert {n for n in samples if looks_like_audio(tmp_path / n)} == {"riff", "ogg", "flac", "id3", "mpeg", "m4a"}


def test_load_mixes_to_mono_and_resamples(tmp_path: Path) -> None:
    left = tone(440, 1.0, 44100)
    stereo = np.stack([left, -0.5 * left], axis=1)
    path = write_audio(tmp_path / "stereo 44k.wav", stereo, 44100)
    y, duration = load(path, sample_rate=22050)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 22050) <= 1
    assert duration == pytest.approx(1.0, abs=1e-3)
    # Mono is the channel mean: (left - left/2) / 2 = a quarter of the left channel.
    assert np.max(np.abs(y)) == pytest.approx(0.25 * np.max(np.abs(left)), rel=0.05)


def test_load_stops_after_max_seconds_but_reports_full_duration(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.ogg", tone(220, 12.0, 32000), 32000)
    y, duration = load(path, sample_rate=16000, max_seconds=2.0)
    assert abs(len(y) - 32000) <= 2
    assert duration == pytest.approx(12.0, abs=0.01)


def test_decode_keeps_channels(tmp_path: Path) -> None:
    six = np.stack([tone(200 + 100 * c, 0.5) for c in range(6)], axis=1)
    y, sr, duration = decode(write_audio(tmp_path / "six.wav", six, 22050))
    assert y.shape == (11025, 6) and sr == 22050 and duration == pytest.approx(0.5)


def test_nan_and_inf_samples_are_zeroed(tmp_path: Path) -> None:
    y = tone(440, 0.5)
    y[100:200] = np.nan
    y[300] = np.inf
    path = write_audio(tmp_path / "nan.wav", y, 22050, subtype="FLOAT")
    out, _ = load(path, 22050)
    assert np.isfinite(out).all()
    assert out[150] == 0.0


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
        (lambda p: p.write_text("this is not audio"), "not decodable audio"),
        (lambda p: sf.write(str(p), np.zeros((0, 1), np.float32), 22050), "empty: no audio samples"),
    ],
    ids=["zero-bytes", "text", "zero-frames"],
)
def test_bad_files_raise_decode_error_with_reason(tmp_path: Path, make, reason: str) -> None:
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(DecodeError, match=re.escape(reason)):
        load(path, 22050)


def test_missing_file_and_folder_reasons(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="file not found"):
        probe(tmp_path / "nope.wav")
    (tmp_path / "dir.wav").mkdir()
    with pytest.raises(DecodeError, match="folder"):
        load(tmp_path / "dir.wav")


def test_pyav_fallback_reads_what_libsndfile_cannot(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    path = tmp_path / "song.m4a"
    rate = 44100
    samples = tone(440, 2.0, rate)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        frame_size = 1024
        for start in range(0, len(samples), frame_size):
            chunk = samples[start : start + frame_size][None, :]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(sf.LibsndfileError):
        sf.info(str(path))
    info = probe(path)
    assert info.sample_rate == rate and info.channels == 1
    y, duration = load(path, 22050)
    assert duration == pytest.approx(2.0, abs=0.1)
    assert abs(len(y) / 22050 - 2.0) < 0.1
    # The decoded tone is still a 440 Hz tone.
    spectrum = np.abs(np.fft.rfft(y[2048:2048 + 16384]))
    assert abs(np.argmax(spectrum) * 22050 / 16384 - 440) < 5
