"""Windowed decoding: only some windows of a file, each stretch of them by seeking to its start.

A long file costs the windows it is asked for, not its length. Overlapping windows share one
stretch of the file, decoded once: libsndfile decodes the stretches side by side in threads;
FFmpeg (PyAV) seeks to the packet before each stretch.
"""

from __future__ import annotations

import bisect
import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from songmap.io.decode import (
    TRUNCATED_NOTE,
    damage_note,
    distinct_notes,
    probe_pyav,
    pyav_audio_stream,
    quiet_native_stderr,
    resample,
    salvaged_frames,
    sndfile_frames,
    soundfile_name,
    to_mono,
    with_fallback,
)
from songmap.io.decode_errors import check_readable, pyav_errors, usable_samples

__all__ = ["load_windows"]

def _decode_threads(stretches: int) -> int:
    """Threads that decode a file's windows: one per stretch of them, up to the cores this process may use.

    One inside a worker process (``map``'s pool, Dask): the pool already keeps every core busy.
    """
    import multiprocessing  # here: only files of several windows need it

    if stretches < 2 or multiprocessing.parent_process() is not None:
        return 1
    return min(stretches, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _read_frames_sf(name: str | bytes, first: int, count: int) -> np.ndarray:
    """Frames ``first`` to ``first + count`` of a file, through a handle of its own (see :func:`_decode_stretches`)."""
    with sf.SoundFile(name) as f:
        f.seek(first)
        return f.read(frames=count, dtype="float32", always_2d=True)


def _stretches(firsts: list[int], count: int, total: int) -> list[tuple[int, int]]:
    """The stretches ``(first, end)`` of frames that windows starting at ``firsts`` (sorted), ``count``
    frames long, cover together: overlapping windows share one stretch, decoded once; windows that
    only touch keep theirs, which decode side by side (a 3-minute song's six 30-s windows)."""
    stretches: list[list[int]] = []
    for first in firsts:
        end = min(first + count, total)
        if stretches and first < stretches[-1][1]:
            stretches[-1][1] = max(stretches[-1][1], end)
        else:
            stretches.append([first, end])
    return [(first, end) for first, end in stretches]


def _decode_windows_sf(path: Path, starts_s, length_s: float, notes: list[str]) -> tuple[list[np.ndarray], int, float]:
    """The windows, the rate and the duration; a file that holds fewer frames than its header says
    gets a note in ``notes`` (seen in libsndfile's log, :func:`sndfile_frames`, or by a short read)."""
    name = soundfile_name(path)
    with quiet_native_stderr():
        with sf.SoundFile(name) as f:
            rate, total = int(f.samplerate), sndfile_frames(f, notes)
        count = int(np.ceil(length_s * rate))
        firsts = [min(max(int(round(start * rate)), 0), total) for start in starts_s]
        # A 72-s track's three 30-s windows overlap: each stretch of the file is decoded once.
        stretches = _stretches(sorted(firsts), count, total)
        decoded = _decode_stretches(name, stretches)
    windows = _windows_of_stretches(firsts, count, stretches, decoded)
    if any(len(frames) < end - first for frames, (first, end) in zip(decoded, stretches)):
        notes.append(TRUNCATED_NOTE)
    return windows, rate, total / rate if rate else 0.0


def _decode_stretches(name: str | bytes, stretches: list[tuple[int, int]]) -> list[np.ndarray]:
    """The frames of each stretch ``(first, end)`` of a file (see :func:`_stretches`)."""
    # Each stretch has a handle of its own: libsndfile 1.2.2 lands a Vorbis seek made after a read up
    # to ~10 ms off (448 frames on etr__credits1-cp.ogg), where a fresh handle's first seek lands on the frame.
    threads = _decode_threads(len(stretches))
    if threads == 1:
        decoded = [_read_frames_sf(name, first, end - first) for first, end in stretches]
    else:
        # A 3-minute song's windows cover all of it, so decoding is most of `songmap embed`'s work;
        # libsndfile runs without the GIL, so the stretches decode side by side.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            decoded = list(pool.map(lambda stretch: _read_frames_sf(name, stretch[0], stretch[1] - stretch[0]), stretches))
    return decoded


#: Seconds decoded (and dropped) before each window that FFmpeg seeks to: lossy decoders' warm-up.
SEEK_PREROLL_S = 0.5


def _placed_frames(frames, frame_start, *, seeked: bool):
    """``(frame, sample)`` of each of ``frames``: ``sample`` is where the first one starts in a full
    decode's timeline (``frame_start(frame)``, from its timestamp; 0 without one), None for the rest.

    The first frame after a seek can carry its packet's timestamp rather than its own (a Vorbis
    frame after a seek started 448 samples before it said), so after a seek the next frame places it.
    """
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        return
    second = next(frames, None) if seeked and first.pts is not None else None
    if second is not None and second.pts is not None:
        start = frame_start(second) - first.samples
    else:
        start = frame_start(first) if first.pts is not None else 0
    yield first, start
    if second is not None:
        yield second, None
    yield from ((frame, None) for frame in frames)


def _decode_windows_pyav(path: Path, starts_s, length_s: float, damage: list[BaseException]) -> tuple[list[np.ndarray], int]:
    import av
    from av.error import FFmpegError

    with pyav_errors(), av.open(str(path)) as container:
        stream, rate, channels, end, resampler = pyav_audio_stream(container)
        count = int(np.ceil(length_s * rate))
        # A full decode's first sample is at the stream's start time: an MP3's encoder and decoder
        # delay (1105 samples), which FFmpeg skips at the start but not after a seek.
        origin = 0 if stream.start_time is None else int(round(float(stream.start_time * stream.time_base) * rate))

        def frame_start(frame) -> int:
            return int(round(float(frame.pts * frame.time_base) * rate)) - origin

        def decode_stretch(first: int, stop: int, *, first_read: bool) -> np.ndarray:
            """Frames ``first`` to ``stop``, what comes before ``first`` dropped by timestamp.

            The first stretch, if it starts within the pre-roll, is read from the start of the
            container; any other after a seek to the packet at or before ``first`` less the pre-roll
            (a lossy decoder flushed by the seek needs a few frames before its output is what a
            full decode gives: AAC's first frame after a seek was off by up to 0.3)."""
            target = max(first / rate - SEEK_PREROLL_S, 0.0)
            seeked = not first_read or target > 0.0  # an unread container starts where a full decode does
            if seeked:
                try:
                    container.seek(int(target / stream.time_base), stream=stream, backward=True)
                except FFmpegError as exc:  # past where a truncated file ends: an empty stretch
                    damage.append(exc)
                    return np.zeros((0, channels), np.float32)
            chunks, position, got = [], None, 0
            for frame, placed in _placed_frames(salvaged_frames(container, stream, damage), frame_start, seeked=seeked):
                if position is None:
                    position = placed
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1, channels)
                    skip = min(max(first - position, 0), len(block))
                    position += len(block)
                    if skip < len(block):
                        chunks.append(block[skip:])
                        got += len(block) - skip
                if got >= stop - first:
                    break
            y = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)
            return y[: max(stop - first, 0)].astype(np.float32, copy=False)

        firsts = [int(round(max(start, 0.0) * rate)) for start in starts_s]
        # As for libsndfile, overlapping windows (a 72-s track's three of 30 s) share one decoded stretch.
        stretches = _stretches(sorted(firsts), count, end if end is not None else sys.maxsize)
        decoded = [decode_stretch(first, stop, first_read=k == 0) for k, (first, stop) in enumerate(stretches)]
        if damage and not any(len(frames) for frames in decoded):
            raise damage[0]  # nothing salvaged: the first error is the reason
    return _windows_of_stretches(firsts, count, stretches, decoded), rate


def _windows_of_stretches(firsts: list[int], count: int, stretches: list[tuple[int, int]], decoded: list[np.ndarray]):
    """Each window (starting at ``firsts``, ``count`` frames at most) cut from the stretch that holds it."""
    stretch_firsts = [first for first, _ in stretches]
    windows = []
    for first in firsts:
        k = bisect.bisect_right(stretch_firsts, first) - 1
        offset = first - stretch_firsts[k]
        windows.append(decoded[k][offset : offset + count])
    return windows


def load_windows(
    path: str | os.PathLike,
    starts_s,
    length_s: float,
    sample_rate: int = 22050,
    resample_quality: str = "HQ",
    *,
    damage: list[str] | None = None,
) -> tuple[list[np.ndarray], float]:
    """Decode only some windows of a file, each stretch of them by seeking to its start, to mono at ``sample_rate``.

    A long file costs the windows it is asked for, not its length: overlapping windows
    share one stretch, decoded once; libsndfile seeks to the stretch's first frame, FFmpeg
    (PyAV) to the packet before it, and the samples before the stretch's start are dropped
    by their timestamps.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file; never opened for writing.
    starts_s : sequence of float
        Start of each window, seconds from the start of the file.
    length_s : float
        Length of every window; a window that runs past the end is shorter.
    sample_rate : int
        Target rate in Hz.
    resample_quality : str
        soxr quality recipe, see :func:`songmap.io.decode.resample`.
    damage : list of str, optional
        Notes of a damaged file that was still decoded are appended (packets FFmpeg refused and
        skipped, a file that ends before its header says): see :func:`songmap.io.decode.decode`.

    Returns
    -------
    windows : list of np.ndarray
        One mono float32 signal per start (non-finite samples replaced by 0).
    duration_s : float
        Duration of the whole file.

    Raises
    ------
    DecodeError
        Undecodable, empty or unreadable file, with the reason as message.
    """
    path = Path(path)
    check_readable(path)
    if length_s <= 0:
        raise ValueError(f"window length must be positive, got {length_s}")
    notes: list[str] = []

    def ffmpeg():
        met: list[BaseException] = []
        windows, native_sr = _decode_windows_pyav(path, starts_s, length_s, met)
        notes.extend([damage_note(met)] if met else [])
        return windows, native_sr, probe_pyav(path).duration_s

    windows, native_sr, duration_s = with_fallback(path, lambda: _decode_windows_sf(path, starts_s, length_s, notes), ffmpeg)
    if damage is not None:
        damage.extend(distinct_notes(notes))
    windows = usable_samples(windows)
    return [resample(to_mono(w), native_sr, sample_rate, resample_quality) for w in windows], float(duration_s)
