"""Whole-song windows: which windows are read, decoding them by seeking, their images and their cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import tone, write_audio
from songmap.features.cache import FeatureCache
from songmap.features.spectrogram import FeatureParams
from songmap.features.windows import WindowSpec, extract_windows, window_starts
from songmap.io.decode import decode
from songmap.io.windowed import _decode_windows_pyav, load_windows

SR = 22050


@pytest.mark.parametrize("duration", [0.5, 30.0, 31.0, 95.0, 600.0, 36000.0])
def test_window_starts_are_bounded_evenly_spread_and_cover_the_track(duration: float) -> None:
    starts = window_starts(duration, window_s=30.0, max_windows=8)
    assert 1 <= len(starts) <= 8
    assert starts[0] == 0.0
    if duration <= 30.0:
        assert starts.tolist() == [0.0]  # a short track is one window (loop-padded later)
    else:
        assert starts[-1] == pytest.approx(duration - 30.0)  # the last window ends with the track
        assert len(starts) == min(8, int(np.ceil(duration / 30.0)))
        assert np.allclose(np.diff(starts), np.diff(starts)[0])


def test_window_starts_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        window_starts(60.0, window_s=0.0, max_windows=8)
    with pytest.raises(ValueError):
        window_starts(60.0, window_s=10.0, max_windows=0)


def _chirp(seconds: float, rate: int) -> np.ndarray:
    # A signal that differs at every sample, so a window taken from the wrong place cannot match.
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * (100 + 40 * t) * t)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_seek_decoding_equals_full_decoding_of_the_same_span(tmp_path: Path, suffix: str) -> None:
    rate = 16000
    path = write_audio(tmp_path / f"long{suffix}", _chirp(20.0, rate), rate)
    full, native, duration = decode(path)
    starts = [0.0, 3.25, 12.5, 18.0]  # the last runs past the end: shorter
    windows, got_duration = load_windows(path, starts, 4.0, sample_rate=rate)
    assert got_duration == pytest.approx(duration)
    for start, window in zip(starts, windows):
        first = int(round(start * rate))
        expected = full[first : first + 4 * rate, 0]
        assert len(window) == len(expected)
        np.testing.assert_allclose(window, expected, atol=1e-6)


def _pyav_windows_beside_full_decode(path: Path, starts: list[float], seconds: float, rate: int):
    """``(start, window, the same span of a full decode)`` of each window FFmpeg's path decodes (first channel)."""
    full = decode(path)[0][:, 0]
    windows, native = _decode_windows_pyav(path, starts, seconds, [])
    assert native == rate
    for start, window in zip(starts, windows):
        first = int(round(start * rate))
        yield start, window[:, 0], full[first : first + len(window)]


def test_pyav_seek_decoding_equals_full_decoding_of_the_same_span(tmp_path: Path) -> None:
    # FFmpeg's path (m4a, odd mp3s) seeks to a packet before the start and drops samples by timestamp.
    rate = 16000
    path = write_audio(tmp_path / "long.wav", _chirp(20.0, rate), rate)
    for _start, window, expected in _pyav_windows_beside_full_decode(path, [0.0, 7.3, 15.0], 3.0, rate):
        assert len(window) == 3 * rate
        np.testing.assert_allclose(window, expected, atol=1e-4)


@pytest.mark.parametrize("fmt", ["OGG", "MP3"])
def test_pyav_seek_decoding_of_vorbis_and_mp3_lands_where_a_full_decode_does(tmp_path: Path, fmt: str) -> None:
    # After a seek FFmpeg's first Vorbis frame carried its packet's timestamp (448 samples late) and MP3
    # timestamps count the 1105 samples of delay that a full decode skips: windows were that much early.
    import soundfile as sf

    rate = 44100
    path = tmp_path / f"song.{fmt.lower()}"
    # Clicks every 50 ms: Vorbis switches between long and short blocks, where its first frame after a seek misleads.
    clicks = np.zeros(int(20.0 * rate), np.float32)
    clicks[:: rate // 20] = 0.9
    sf.write(path, 0.3 * _chirp(20.0, rate) + clicks, rate, format=fmt)
    for _start, window, expected in _pyav_windows_beside_full_decode(path, [0.0, 7.3, 15.0], 3.0, rate):
        assert len(window) == 3 * rate
        np.testing.assert_allclose(window, expected, atol=1e-3)


def test_pyav_seek_decoding_of_a_lossy_codec_equals_full_decoding(tmp_path: Path) -> None:
    # A lossy decoder flushed by a seek needs a pre-roll: without it, AAC windows after a seek were
    # off by up to 0.37 (the map page, which decodes the whole file, placed m4a songs 1.8 % off).
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to make the m4a file")
    rate = 16000

    def m4a(name: str, signal: np.ndarray, bitrate: str) -> Path:
        source, path = write_audio(tmp_path / f"{name}.wav", signal, rate), tmp_path / f"{name}.m4a"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-c:a", "aac", "-b:a", bitrate, str(path)], check=True)
        return path

    path = m4a("song", _chirp(6.0, rate), "128k")
    for start, window, expected in _pyav_windows_beside_full_decode(path, [0.0, 0.7, 2.3, 4.0], 1.5, rate):
        np.testing.assert_allclose(window, expected, atol=0 if start < 2.0 else 0.02)  # 0.7 shares 0's stretch
    # Overlapping windows are one stretch, decoded once from the start: exactly the full decode. Each
    # window decoded after its own seek differed by up to 0.56 here: at a low bitrate the encoder codes
    # the noise as noise (PNS), which the decoder draws from a generator a seek restarts.
    noisy = 0.3 * _chirp(6.0, rate) + 0.2 * np.random.default_rng(0).standard_normal(6 * rate).astype(np.float32)
    path = m4a("noisy", noisy, "24k")
    for _start, window, expected in _pyav_windows_beside_full_decode(path, [0.0, 1.0, 2.0, 3.0], 1.5, rate):
        assert len(window) == int(1.5 * rate)
        np.testing.assert_array_equal(window, expected)


def test_extract_windows_images_summary_and_silent_windows(tmp_path: Path) -> None:
    params = FeatureParams(n_mels=64)
    music = np.concatenate([tone(220, 12.0), tone(330, 12.0, seed=1), np.zeros(12 * SR, np.float32)])
    path = write_audio(tmp_path / "song.wav", music, SR)
    spec = WindowSpec(window_s=10.0, max_windows=4, n_bins=16)
    feats = extract_windows(path, params, spec)
    assert feats.images.shape == (4, 64 + 12, 16)
    assert feats.starts.tolist() == pytest.approx([0.0, 26 / 3, 52 / 3, 26.0])
    assert feats.used.tolist() == [True, True, True, False]  # the silent end is left out of the summary
    np.testing.assert_allclose(feats.summary(), feats.images[:3].mean(axis=0), rtol=1e-5)
    assert np.isfinite(feats.images).all()
    # A short file: one window, loop-padded.
    short = extract_windows(write_audio(tmp_path / "blip.wav", tone(440, 0.4), SR), params, spec)
    assert short.images.shape == (1, 76, 16) and short.used.tolist() == [True]


def test_window_cache_round_trip_and_keys(tmp_path: Path) -> None:
    params = FeatureParams(n_mels=32)
    path = write_audio(tmp_path / "a.wav", tone(220, 25.0), SR)
    cache = FeatureCache(tmp_path / "cache")
    spec = WindowSpec(window_s=8.0, max_windows=3)
    feats = extract_windows(path, params, spec)
    cache.put_windows(path, params, spec, feats)
    back = cache.get_windows(path, params, spec)
    np.testing.assert_array_equal(back.images, feats.images)
    np.testing.assert_array_equal(back.starts, feats.starts)
    assert back.duration_s == pytest.approx(25.0)
    # Other windows, other parameters or the plain spectrogram entry: not this entry.
    assert cache.get_windows(path, params, WindowSpec(window_s=8.0, max_windows=4)) is None
    assert cache.get_windows(path, FeatureParams(n_mels=64), spec) is None
    assert cache.get(path, params) is None


def test_a_file_changed_while_its_windows_are_computed_is_cached_under_its_old_identity(tmp_path: Path, monkeypatch) -> None:
    import os

    import songmap.features.parallel as parallel
    from songmap.features.parallel import iter_features

    path = write_audio(tmp_path / "song.wav", tone(220.0, 6.0), SR)
    params, spec = FeatureParams(), WindowSpec(window_s=4.0, max_windows=2)
    cache = FeatureCache(tmp_path / "cache")
    before = cache.window_entries(path, params, spec)
    extract = parallel.extract_windows

    def edited_meanwhile(*args, **kwargs):
        features = extract(*args, **kwargs)
        write_audio(path, tone(440.0, 6.0), SR)  # the user saves a new version during the decode
        os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
        return features

    monkeypatch.setattr(parallel, "extract_windows", edited_meanwhile)
    [(_, features, _)] = list(iter_features([path], params, 4.0, cache=cache, windows=spec))
    assert before[0].exists()  # stored under the identity it was decoded from...
    assert cache.get_windows(path, params, spec) is None  # ...which the new version does not read
    monkeypatch.setattr(parallel, "extract_windows", extract)
    [(_, again, _)] = list(iter_features([path], params, 4.0, cache=cache, windows=spec))
    assert not np.array_equal(again.images, features.images)  # the new version, decoded afresh


def test_songwise_mapper_places_each_window_and_saves_its_windows(tmp_path: Path) -> None:
    from songmap.mapper import SongMapper

    paths = [write_audio(tmp_path / f"t{i}.wav", tone(150 + 90 * i, 8.0, seed=i), SR) for i in range(4)]
    # A song whose second half is another tune: its windows do not all land in one place.
    paths.append(write_audio(tmp_path / "two parts.wav", np.concatenate([tone(150, 8.0), tone(420, 8.0, seed=3)]), SR))
    mapper = SongMapper(preset="songwise", epochs=2, seed=0, max_windows=3, cache_dir=tmp_path / "cache")
    coords = mapper.fit_transform(paths)
    assert mapper.crop_seconds_ == pytest.approx(16.0)  # 100th percentile of the durations
    mapper.max_windows = 3
    mapper.crop_seconds_ = 4.0  # shorter windows than the songs, to see several per song
    placed = mapper.transform_windows(paths)
    starts, xy = placed[4]
    assert starts.tolist() == pytest.approx([0.0, 6.0, 12.0]) and xy.shape == (3, 2)
    steady_starts, steady = placed[0]  # a steady tone: its windows land together
    assert len(steady_starts) == 2
    assert np.linalg.norm(xy[0] - xy[-1]) > 5 * np.linalg.norm(steady[0] - steady[-1])  # the two halves do not
    # One read of the windows gives both the reference features and the windows' places (a missing file: NaN, None).
    missing = tmp_path / "gone.wav"
    features, windows = mapper.features_and_windows([*paths, missing])
    np.testing.assert_array_equal(features, mapper.features_for([*paths, missing]))
    assert np.isnan(features[-1]).all() and windows[-1] is None
    for (s1, xy1), (s2, xy2) in zip(windows[:-1], placed):
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(xy1, xy2)
    # Saved and loaded, the map keeps its representation and places tracks as before.
    mapper.crop_seconds_ = 16.0
    mapper.save(tmp_path / "model.safetensors")
    loaded = SongMapper.load(tmp_path / "model.safetensors", cache_dir=tmp_path / "cache")
    assert loaded.representation_ == "songwise" and loaded.max_windows == 3
    np.testing.assert_allclose(loaded.transform(paths), coords, atol=1e-4)
    with pytest.raises(ValueError, match="songwise"):
        SongMapper(preset="modulation", epochs=1).fit(paths[:2]).transform_windows(paths[:1])
    with pytest.raises(ValueError, match="songwise"):
        SongMapper(preset="modulation", epochs=1).fit(paths[:2]).features_and_windows(paths[:1])


def test_opus_is_decoded_by_ffmpeg_first_and_its_windows_are_libsndfiles(tmp_path: Path, monkeypatch) -> None:
    # FFmpeg decodes Opus about twice as fast (BENCHMARKS.md "Full-length songs"); the windows must not change.
    import songmap.io.windowed as windowed

    rate = 48000
    path = write_audio(tmp_path / "song.opus", np.stack([_chirp(20.0, rate)] * 2, axis=1), rate)
    starts = [0.0, 6.1, 15.0]
    notes = []
    by_sndfile, native, _ = windowed._decode_windows_sf(path, starts, 4.0, notes)
    assert native == rate and notes == []
    used = []
    original = windowed._decode_windows_pyav
    monkeypatch.setattr(windowed, "_decode_windows_pyav", lambda *a: used.append(a[0]) or original(*a))
    signals, duration = load_windows(path, starts, 4.0, sample_rate=rate)
    assert used == [path]  # FFmpeg, not libsndfile
    assert duration == pytest.approx(20.0, abs=0.01)
    for window, reference in zip(signals, by_sndfile):
        assert len(window) == len(reference)
        np.testing.assert_allclose(window, reference.mean(axis=1), atol=0.02)
