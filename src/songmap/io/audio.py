"""Audio input: find audio files, read their headers, decode to mono at one rate.

libsndfile (through ``soundfile``) reads wav, flac, ogg/vorbis, opus, mp3 and aiff
quickly and can stop after a given number of frames, which is what lets songmap
decode only the part of a long track it will use. What libsndfile cannot read
(m4a/aac, some odd mp3s) falls back to FFmpeg through PyAV.

Over 400 lines because finding, probing and decoding share the reasons a file is refused
(the one list of extensions, the messages users see) and the libsndfile/PyAV fallback.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

__all__ = [
    "AUDIO_CONTENT_TYPES",
    "AUDIO_EXTENSIONS",
    "AudioInfo",
    "DecodeError",
    "find_audio_files",
    "looks_like_audio",
    "probe",
    "decode",
    "load",
    "load_windows",
    "to_mono",
    "resample",
]

#: MIME type of each extension that marks a file as audio without looking inside it (the one
#: list of audio extensions: finding files and serving them both read it). Files with other
#: extensions are still taken when their first bytes say they are audio.
AUDIO_CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".wave": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".flac": "audio/flac",
    ".opus": "audio/opus",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".mp4": "audio/mp4",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".aifc": "audio/aiff",
    ".wma": "audio/x-ms-wma",
    ".webm": "audio/webm",
}
AUDIO_EXTENSIONS = frozenset(AUDIO_CONTENT_TYPES)

# Extensions that are certainly not audio; skipping them avoids sniffing every
# cover image and text file of a music folder.
_NOT_AUDIO_EXTENSIONS = frozenset(
    {
        ".csv", ".txt", ".md", ".json", ".html", ".htm", ".png", ".jpg", ".jpeg",
        ".gif", ".bmp", ".pdf", ".cue", ".log", ".m3u", ".m3u8", ".pls", ".nfo",
        ".xml", ".py", ".pt", ".npy", ".npz", ".db", ".ini", ".sfv", ".lrc",
    }
)


class DecodeError(Exception):
    """A file could not be decoded as audio; the message is the reason shown to users."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says about it.

    Attributes
    ----------
    format : str
        Container/codec name, e.g. ``"OGG/VORBIS"`` or ``"MP3"``.
    sample_rate : int
        Native sampling rate in Hz.
    channels : int
        Number of channels.
    frames : int
        Number of sample frames (per channel).
    """

    format: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def looks_like_audio(path: str | os.PathLike) -> bool:
    """Tell from the first bytes of a file whether it is an audio container.

    Parameters
    ----------
    path : str or os.PathLike
        File to look at.

    Returns
    -------
    bool
        True for RIFF/WAVE, Ogg, FLAC, AIFF, MP3 (ID3 tag or MPEG frame sync),
        ADTS AAC and MP4/M4A (``ftyp`` box).
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    if len(head) < 4:
        return False
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"RF64"):
        return True
    if head[:4] in (b"OggS", b"fLaC", b"RF64") or head[:3] == b"ID3":
        return True
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return True
    if head[4:8] == b"ftyp":
        return True
    # MPEG audio frame sync (mp3) or ADTS (aac): 11 set bits.
    return head[0] == 0xFF and (head[1] & 0xE0) == 0xE0


def find_audio_files(
    folder: str | os.PathLike,
    exclude: str | os.PathLike | None = None,
    errors: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """Walk a folder recursively and list the files that are, or claim to be, audio.

    A file counts when its extension is an audio extension (so that a broken
    ``.mp3``, a dangling link or a named pipe called ``.wav`` is reported rather
    than silently ignored) or when its content starts like an audio container
    whatever its extension. Hidden files and folders (``.DS_Store``, macOS
    ``._name`` companions, ``.git``) are left out.

    Parameters
    ----------
    folder : str or os.PathLike
        Folder to walk. Symbolic links to folders are not followed (no loops).
    exclude : str or os.PathLike, optional
        A folder inside ``folder`` to leave out, e.g. songmap's own output folder.
    errors : list, optional
        Receives ``(folder, reason)`` for each subfolder that could not be read.

    Returns
    -------
    list of pathlib.Path
        Sorted paths.
    """
    root = Path(folder)
    excluded = Path(exclude).resolve() if exclude is not None else None
    found: list[Path] = []

    def on_error(exc: OSError) -> None:
        if errors is not None and exc.filename is not None:
            errors.append((Path(exc.filename), f"cannot read folder ({exc.strerror or exc})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        if excluded is not None and Path(dirpath).resolve() == excluded:
            dirnames[:] = []
            continue
        # Hidden folders (.git, .cache, songmap caches) are never part of a collection.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            suffix = path.suffix.lower()
            if not path.is_file():
                # A dangling or looping link, a pipe or a device named like audio: reported, never opened here.
                if suffix in AUDIO_EXTENSIONS and not path.is_dir():
                    found.append(path)
                continue
            if suffix in AUDIO_EXTENSIONS or (suffix not in _NOT_AUDIO_EXTENSIONS and looks_like_audio(path)):
                found.append(path)
    return sorted(found)


def _probe_pyav(path: Path) -> AudioInfo:
    import av  # imported lazily: FFmpeg is only needed for formats libsndfile lacks

    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio
            if not streams:
                raise DecodeError("not decodable audio (no audio stream)")
            stream = streams[0]
            if stream.codec_context is None:
                raise DecodeError("not decodable audio (unknown codec)")
            rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            channels = int(stream.codec_context.channels or 1)
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / 1_000_000
            else:
                seconds = 0.0
            fmt = f"{container.format.name.upper()}/{stream.codec_context.name.upper()}"
            return AudioInfo(fmt, rate, channels, int(round(seconds * rate)))
    except DecodeError:
        raise
    except Exception as exc:  # PyAV raises many error types; all mean "not audio we can read"
        raise _os_reason(path, exc) or DecodeError(f"not decodable audio ({_short(exc)})") from None


def probe(path: str | os.PathLike) -> AudioInfo:
    """Read a file's header: format, sample rate, channels and length.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file.

    Returns
    -------
    AudioInfo

    Raises
    ------
    DecodeError
        When neither libsndfile nor FFmpeg can read the file.
    """
    path = Path(path)
    _check_readable(path)
    try:
        with _quiet_native_stderr():
            info = sf.info(_sf_name(path))
        return AudioInfo(f"{info.format}/{info.subtype}", int(info.samplerate), int(info.channels), int(info.frames))
    except Exception:  # whatever libsndfile cannot read, FFmpeg may
        _check_readable(path)  # it may have gone or become unreadable meanwhile
        return _probe_pyav(path)


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average channels: ``(frames, channels)`` or ``(frames,)`` -> ``(frames,)`` float32."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return y
    # Column by column: numpy's mean over a short last axis is ~15x slower on long signals.
    mono = y[:, 0].copy()
    for channel in range(1, y.shape[1]):
        mono += y[:, channel]
    if y.shape[1] > 1:
        mono *= np.float32(1.0 / y.shape[1])
    return mono


def resample(y: np.ndarray, orig_sr: int, target_sr: int, quality: str = "HQ") -> np.ndarray:
    """Resample a mono signal with soxr.

    Parameters
    ----------
    y : np.ndarray
        Mono signal.
    orig_sr, target_sr : int
        Rates in Hz.
    quality : str
        soxr quality recipe (``"QQ"``, ``"LQ"``, ``"MQ"``, ``"HQ"``, ``"VHQ"``).
        HQ is inaudibly different from VHQ and cheap next to decoding.

    Returns
    -------
    np.ndarray
        float32 signal at ``target_sr``.
    """
    if orig_sr == target_sr or len(y) == 0:
        return np.asarray(y, dtype=np.float32)
    return soxr.resample(y, orig_sr, target_sr, quality=quality).astype(np.float32, copy=False)


def _pyav_audio_stream(container):
    """The first audio stream of an open PyAV container: ``(stream, rate, channels, length, resampler)``.

    ``length`` is the stream's duration in samples, or None: where the audio ends. FFmpeg drops
    the encoder delay (priming) through the packets' skip-samples data, but an AAC stream's last
    frame is still padded to 1024 samples (browsers trim at the duration too). The resampler turns
    every codec's sample layout into packed float32.
    """
    import av

    if not container.streams.audio:
        raise DecodeError("not decodable audio (no audio stream)")
    stream = container.streams.audio[0]
    rate = int(stream.codec_context.sample_rate or 0)
    if rate <= 0:
        raise DecodeError("no sample rate in file")
    channels = int(stream.codec_context.channels or 1)
    length = None
    if stream.duration is not None and stream.time_base is not None:
        length = int(round(float(stream.duration * stream.time_base) * rate)) or None
    resampler = av.AudioResampler(format="flt", layout=stream.layout.name, rate=rate)
    return stream, rate, channels, length, resampler


def _decode_pyav(path: Path, max_seconds: float | None) -> tuple[np.ndarray, int]:
    import av

    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(str(path)) as container:
            stream, rate, channels, length, resampler = _pyav_audio_stream(container)
            limit = None if max_seconds is None else int(np.ceil(max_seconds * rate))
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1, channels)
                    chunks.append(block)
                    total += len(block)
                if limit is not None and total >= limit:
                    break
    except DecodeError:
        raise
    except Exception as exc:
        raise _os_reason(path, exc) or DecodeError(f"not decodable audio ({_short(exc)})") from None
    y = np.concatenate(chunks) if chunks else np.zeros((0, 1), np.float32)
    if max_seconds is not None:
        y = y[: int(np.ceil(max_seconds * rate))]
    if length is not None:
        y = y[:length]
    return y.astype(np.float32, copy=False), rate


def decode(path: str | os.PathLike, max_seconds: float | None = None) -> tuple[np.ndarray, int, float]:
    """Decode a file at its own rate, keeping its channels.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file; never opened for writing.
    max_seconds : float, optional
        Stop decoding after this many seconds from the start.

    Returns
    -------
    y : np.ndarray
        ``(frames, channels)`` float32; non-finite samples replaced by 0.
    sample_rate : int
        The file's rate in Hz.
    duration_s : float
        Duration of the whole file (not only the decoded part).

    Raises
    ------
    DecodeError
        Undecodable, empty or unreadable file, with the reason as message.
    """
    path = Path(path)
    _check_readable(path)
    try:
        with _quiet_native_stderr(), sf.SoundFile(_sf_name(path)) as f:
            native_sr = int(f.samplerate)
            total_frames = int(f.frames)
            frames = -1 if max_seconds is None else int(np.ceil(max_seconds * native_sr))
            y = f.read(frames=frames, dtype="float32", always_2d=True)
        duration_s = total_frames / native_sr if native_sr else 0.0
        if len(y) < (total_frames if frames < 0 else min(frames, total_frames)):
            # A truncated download: the header promised more than the file holds.
            duration_s = len(y) / native_sr
    except Exception:  # whatever libsndfile cannot read, FFmpeg may
        _check_readable(path)
        y, native_sr = _decode_pyav(path, max_seconds)
        duration_s = _probe_pyav(path).duration_s
    if len(y) == 0:
        raise DecodeError("empty: no audio samples")
    # A float file may hold NaN/inf; one bad sample must not turn a whole map into NaN.
    finite = np.isfinite(y)
    if not finite.all():
        if not finite.any():
            raise DecodeError("no usable samples: every sample is NaN or infinite")
        y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    return y, native_sr, float(max(duration_s, len(y) / native_sr))


def load(
    path: str | os.PathLike,
    sample_rate: int = 22050,
    max_seconds: float | None = None,
    resample_quality: str = "HQ",
) -> tuple[np.ndarray, float]:
    """Decode a file to a mono float32 signal at ``sample_rate``.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file; never opened for writing.
    sample_rate : int
        Target rate in Hz.
    max_seconds : float, optional
        Stop decoding after this many seconds (from the start). Long tracks are
        cropped later anyway, so this saves most of the decoding time.
    resample_quality : str
        soxr quality recipe, see :func:`resample`.

    Returns
    -------
    y : np.ndarray
        Mono signal, float32, at ``sample_rate``.
    duration_s : float
        Duration of the whole file in seconds (not only the decoded part).

    Raises
    ------
    DecodeError
        Undecodable, empty or unreadable file, with the reason as message.
    """
    y, native_sr, duration_s = decode(path, max_seconds)
    return resample(to_mono(y), native_sr, sample_rate, resample_quality), duration_s


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


def _decode_windows_sf(path: Path, starts_s, length_s: float) -> tuple[list[np.ndarray], int, float]:
    name = _sf_name(path)
    with _quiet_native_stderr():
        with sf.SoundFile(name) as f:
            rate, total = int(f.samplerate), int(f.frames)
        count = int(np.ceil(length_s * rate))
        firsts = [min(max(int(round(start * rate)), 0), total) for start in starts_s]
        # A 72-s track's three 30-s windows overlap: each stretch of the file is decoded once.
        stretches = _stretches(sorted(firsts), count, total)
        decoded = _decode_stretches(name, stretches)
    stretch_firsts = [first for first, _ in stretches]
    windows = []
    for first in firsts:
        k = bisect.bisect_right(stretch_firsts, first) - 1  # the stretch holding this window
        offset = first - stretch_firsts[k]
        windows.append(decoded[k][offset : offset + min(count, total - first)])
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


def _decode_windows_pyav(path: Path, starts_s, length_s: float) -> tuple[list[np.ndarray], int]:
    import av

    windows = []
    try:
        with av.open(str(path)) as container:
            stream, rate, channels, end, resampler = _pyav_audio_stream(container)
            count = int(np.ceil(length_s * rate))
            at_start = True  # the container is where a full decode starts: no seek needed for a window at 0
            for start in starts_s:
                # Seek to the packet at or before ``start`` less a pre-roll (a lossy decoder flushed by
                # the seek needs a few frames before its output is what a full decode gives: AAC's first
                # frame after a seek was off by up to 0.3), then drop what comes before it by timestamp.
                target = max(start - SEEK_PREROLL_S, 0.0)
                if not (at_start and target == 0.0):
                    container.seek(int(target / stream.time_base), stream=stream, backward=True)
                at_start = False
                first = int(round(max(start, 0.0) * rate))
                chunks, position, got = [], None, 0
                for frame in container.decode(stream):
                    if position is None:
                        position = int(round(float(frame.pts * frame.time_base) * rate)) if frame.pts is not None else 0
                    for out in resampler.resample(frame):
                        block = out.to_ndarray().reshape(-1, channels)
                        skip = min(max(first - position, 0), len(block))
                        position += len(block)
                        if skip < len(block):
                            chunks.append(block[skip:])
                            got += len(block) - skip
                    if got >= count:
                        break
                y = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)
                if end is not None:
                    y = y[: max(end - first, 0)]
                windows.append(y[:count].astype(np.float32, copy=False))
    except DecodeError:
        raise
    except Exception as exc:
        raise _os_reason(path, exc) or DecodeError(f"not decodable audio ({_short(exc)})") from None
    return windows, rate


def load_windows(
    path: str | os.PathLike,
    starts_s,
    length_s: float,
    sample_rate: int = 22050,
    resample_quality: str = "HQ",
) -> tuple[list[np.ndarray], float]:
    """Decode only some windows of a file, each by seeking to its start, to mono at ``sample_rate``.

    A long file costs the windows it is asked for, not its length: libsndfile seeks
    to the window's first frame; FFmpeg (PyAV) seeks to the packet before it and the
    samples before the window's start are dropped by their timestamps.

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
        soxr quality recipe, see :func:`resample`.

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
    _check_readable(path)
    if length_s <= 0:
        raise ValueError(f"window length must be positive, got {length_s}")
    try:
        windows, native_sr, duration_s = _decode_windows_sf(path, starts_s, length_s)
    except Exception:  # whatever libsndfile cannot read, FFmpeg may
        _check_readable(path)
        windows, native_sr = _decode_windows_pyav(path, starts_s, length_s)
        duration_s = _probe_pyav(path).duration_s
    if not windows or all(len(w) == 0 for w in windows):
        raise DecodeError("empty: no audio samples")
    if not any(np.isfinite(w).any() for w in windows):  # as decode() says it
        raise DecodeError("no usable samples: every sample is NaN or infinite")
    out = []
    for w in windows:
        w = np.nan_to_num(w, nan=0.0, posinf=0.0, neginf=0.0) if not np.isfinite(w).all() else w
        out.append(resample(to_mono(w), native_sr, sample_rate, resample_quality))
    return out, float(duration_s)


_quiet_lock = threading.Lock()
_quiet_depth = 0
_saved_stderr_fd: int | None = None


@contextlib.contextmanager
def _quiet_native_stderr():
    """Hide what C libraries print on stderr while they read a file.

    libmpg123 (inside libsndfile) prints lines like "Note: Trying to resync..."
    for every damaged MP3; songmap reports such files itself. Nested and
    concurrent uses share one redirection. ``SONGMAP_DEBUG=1`` keeps the output.
    """
    global _quiet_depth, _saved_stderr_fd
    if os.environ.get("SONGMAP_DEBUG"):
        yield
        return
    try:
        with _quiet_lock:
            if _quiet_depth == 0:
                devnull = os.open(os.devnull, os.O_WRONLY)
                try:
                    saved = os.dup(2)
                    os.dup2(devnull, 2)
                finally:
                    os.close(devnull)
                _saved_stderr_fd = saved
            _quiet_depth += 1
    except OSError:  # no stderr to redirect
        yield
        return
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _saved_stderr_fd is not None:
                os.dup2(_saved_stderr_fd, 2)
                os.close(_saved_stderr_fd)
                _saved_stderr_fd = None


def _sf_name(path: Path) -> str | bytes:
    # soundfile encodes str names strictly; a name that is not valid UTF-8 (latin-1 bytes from an
    # old zip) only survives as the original bytes.
    name = str(path)
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(path)


def _check_readable(path: Path) -> None:
    """Raise DecodeError with the reason when ``path`` is not a readable, non-empty regular file.

    Never opens the file, so a named pipe cannot block the run.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DecodeError("broken symbolic link (target not found)" if os.path.islink(path) else "file not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DecodeError("symbolic link loop") from None
        raise DecodeError(f"cannot read file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise DecodeError("is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise DecodeError("not a regular file (a named pipe, socket or device)")
    if st.st_size == 0:
        raise DecodeError("empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise DecodeError("cannot read file (permission denied)")


def _os_reason(path: Path, exc: BaseException) -> DecodeError | None:
    """The user-facing reason for an operating-system error met while decoding, or None."""
    if isinstance(exc, FileNotFoundError):
        return DecodeError("file not found")
    if isinstance(exc, PermissionError):
        return DecodeError("cannot read file (permission denied)")
    if isinstance(exc, OSError) and exc.errno == errno.EIO:
        return DecodeError("cannot read file (input/output error)")
    return None


def _short(exc: BaseException) -> str:
    # FFmpeg's errors are OSErrors whose str() carries an errno and the path; the reason is enough.
    text = getattr(exc, "strerror", None)
    text = text if isinstance(text, str) and text else str(exc)
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return _FFMPEG_REASONS.get(text, text)[:160]


# FFmpeg's words for the two commonest failures, in the user's terms.
_FFMPEG_REASONS = {
    "Invalid data found when processing input": "not a known audio format",
    "End of file": "the file ends early: a truncated download?",
}
