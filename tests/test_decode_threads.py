"""A file's windows decode in threads (one handle each): the same samples as one handle seeking in turn."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import noise_burst, tone, write_audio
from songmap.io import windowed
from songmap.io.decode import to_mono
from songmap.io.windowed import load_windows


def _song(seconds: float, rate: int) -> np.ndarray:
    # A tone under noise: every window differs from every other, so a window read from the wrong
    # place, or returned in the wrong order, cannot match.
    y = tone(220.0, seconds, rate, noise=0.2) + noise_burst(seconds, rate, seed=3)
    return np.stack([y, np.roll(y, 37)], axis=1) * np.float32(0.5)


@pytest.mark.parametrize(("name", "subtype"), [("song.ogg", "VORBIS"), ("song.flac", None), ("song.wav", None)])
def test_threaded_windows_equal_the_windows_of_one_handle(tmp_path: Path, monkeypatch, name: str, subtype) -> None:
    """Vorbis included, whose samples after a seek depend on how the decoder got there."""
    rate = 44100
    path = write_audio(tmp_path / name, _song(40.0, rate), rate, subtype=subtype)
    starts = np.linspace(0.0, 40.0 - 6.0, 7)
    assert windowed._decode_threads(len(starts)) == min(7, len(os.sched_getaffinity(0)))
    threaded, duration = load_windows(path, starts, 6.0, sample_rate=22050)
    monkeypatch.setattr(windowed, "_decode_threads", lambda stretches: 1)
    one, one_duration = load_windows(path, starts, 6.0, sample_rate=22050)
    assert duration == one_duration == pytest.approx(40.0)
    assert [len(w) for w in threaded] == [len(w) for w in one] == [6 * 22050] * 7
    for a, b in zip(threaded, one):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(threaded[0], threaded[1])


def test_one_window_and_worker_processes_decode_on_one_thread() -> None:
    """``map``'s process pool already keeps every core busy: its workers do not add threads."""
    assert windowed._decode_threads(1) == 1
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        assert pool.submit(windowed._decode_threads, 8).result() == 1


@pytest.mark.parametrize("threads", [1, 2])
def test_every_window_holds_the_files_own_frames(tmp_path: Path, monkeypatch, threads: int) -> None:
    """Overlapping windows share one decoded stretch, apart ones are read apart: each window is
    the frames of a whole-file read from its start, whichever way (after a read, libsndfile's
    Vorbis seek can land some frames off)."""
    rate = 44100
    path = write_audio(tmp_path / "song.ogg", _song(40.0, rate), rate, subtype="VORBIS")
    whole = to_mono(sf.read(path, dtype="float32", always_2d=True)[0])
    monkeypatch.setattr(windowed, "_decode_threads", lambda stretches: threads)
    # 0-14 s one stretch; 21-27 s and 27-33 s touch, two stretches; 34-40 s (the last window cut short).
    starts = [0.0, 4.0, 8.0, 21.0, 27.0, 34.0, 37.0]
    windows, _ = load_windows(path, starts, 6.0, sample_rate=rate)
    assert windowed._stretches([round(s * rate) for s in starts], 6 * rate, len(whole)) == [
        (0, 14 * rate), (21 * rate, 27 * rate), (27 * rate, 33 * rate), (34 * rate, len(whole))]
    for start, window in zip(starts, windows):
        first = round(start * rate)
        assert len(window) == min(6 * rate, len(whole) - first)
        np.testing.assert_allclose(window, whole[first : first + 6 * rate], atol=1e-6)
