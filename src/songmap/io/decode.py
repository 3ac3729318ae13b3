"""Decoding: read a file's header, decode it at its own rate, and resample to mono at one rate.

libsndfile (through ``soundfile``) reads wav, flac, ogg/vorbis, opus, mp3 and aiff
quickly and can stop after a given number of frames, which is what lets songmap
decode only the part of a long track it will use. What libsndfile cannot read
(m4a/aac, some odd mp3s) falls back to FFmpeg through PyAV.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from songmap.io.decode_errors import DecodeError, check_readable, pyav_errors, usable_samples

__all__ = ["AudioInfo", "probe", "decode", "load", "to_mono", "resample"]


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


def probe_pyav(path: Path) -> AudioInfo:
    """The header of a file only FFmpeg can read (see :func:`probe`)."""
    import av  # imported lazily: FFmpeg is only needed for formats libsndfile lacks

    with pyav_errors(), av.open(str(path)) as container:
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
    check_readable(path)
    try:
        with quiet_native_stderr():
            info = sf.info(soundfile_name(path))
        return AudioInfo(f"{info.format}/{info.subtype}", int(info.samplerate), int(info.channels), int(info.frames))
    except Exception:  # whatever libsndfile cannot read, FFmpeg may
        check_readable(path)  # it may have gone or become unreadable meanwhile
        return probe_pyav(path)


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


def pyav_audio_stream(container):
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


#: The damage note of a file that ends before its header says (a partial download).
TRUNCATED_NOTE = "the file ends early: a truncated download?"

#: libsndfile's log of a WAV whose data chunk runs past the end ("data : 441000 (should be 132269)"):
#: it reads what is there and counts only those frames, so its frame count cannot tell.
_SHORT_DATA = re.compile(r"^data : (\d+) \(should be (\d+)\)", re.MULTILINE)
#: libsndfile's log of an Ogg cut short: it reads up to the last whole page (none at all when
#: the file ends within its first pages).
_OGG_ENDED = "Last page lacks an end-of-stream bit"


def sndfile_frames(f: sf.SoundFile, notes: list[str]) -> int:
    """The frames libsndfile will read from the open ``f``; a truncated file gets a note in ``notes``.

    A truncated Ogg has no frames for libsndfile although FFmpeg decodes what is there, so no
    frames is an error here: the caller's fallback then tries FFmpeg.
    """
    log = f.extra_info
    short = _SHORT_DATA.search(log)
    if _OGG_ENDED in log or (short and int(short[2]) < int(short[1])):
        notes.append(TRUNCATED_NOTE)
    if f.frames <= 0:
        raise DecodeError("empty: no audio samples")
    return int(f.frames)


def distinct_notes(notes: list[str]) -> list[str]:
    """``notes`` without repeats: both decoders may note the same truncation when the first gave up."""
    return list(dict.fromkeys(part for note in notes for part in note.split("; ")))


#: Extensions FFmpeg decodes first, measured faster than libsndfile on the windows songmap reads
#: (Opus: 0.98 s against 1.98 s for a 4-minute song's 8 windows; libsndfile is faster for Vorbis,
#: MP3 and FLAC: BENCHMARKS.md "Full-length songs"). libsndfile stays the fallback.
FFMPEG_FIRST = frozenset({".opus"})


def salvaged_frames(container, stream, damage: list[BaseException]):
    """The decoded frames of ``stream``, past what is damaged, as FFmpeg's own tools decode them.

    A packet its decoder refuses is skipped (a flipped bit costs one frame, not the song), and
    where the demuxer cannot read on (a truncated download, a damaged stretch) decoding ends
    with what came before. Each such error is appended to ``damage``: the caller raises the
    first one when nothing decoded, and otherwise reports the file as damaged.
    """
    from av.error import FFmpegError

    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except FFmpegError as exc:
                damage.append(exc)
                continue
            yield from frames
    except FFmpegError as exc:
        damage.append(exc)


def damage_note(damage: list[BaseException]) -> str:
    """What :func:`salvaged_frames` met, in a user's words, for a file that was still decoded."""
    from av.error import FFmpegError

    ended = [exc for exc in damage if isinstance(exc, FFmpegError) and "End of file" in str(exc)]
    refused = len(damage) - len(ended)
    parts = ([f"the decoder refused {refused} damaged packet{'s' if refused != 1 else ''}"] if refused else []) + (
        [TRUNCATED_NOTE] if ended else [])
    return "; ".join(parts)


def _decode_pyav(path: Path, max_seconds: float | None, damage: list[BaseException]) -> tuple[np.ndarray, int]:
    import av

    chunks: list[np.ndarray] = []
    total = 0
    with pyav_errors(), av.open(str(path)) as container:
        stream, rate, channels, length, resampler = pyav_audio_stream(container)
        limit = None if max_seconds is None else int(np.ceil(max_seconds * rate))
        for frame in salvaged_frames(container, stream, damage):
            for out in resampler.resample(frame):
                block = out.to_ndarray().reshape(-1, channels)
                chunks.append(block)
                total += len(block)
            if limit is not None and total >= limit:
                break
        if not chunks and damage:
            raise damage[0]  # nothing salvaged: the first error is the reason
    y = np.concatenate(chunks) if chunks else np.zeros((0, 1), np.float32)
    if max_seconds is not None:
        y = y[: int(np.ceil(max_seconds * rate))]
    if length is not None:
        y = y[:length]
    return y.astype(np.float32, copy=False), rate


def decode(path: str | os.PathLike, max_seconds: float | None = None, *,
           damage: list[str] | None = None) -> tuple[np.ndarray, int, float]:
    """Decode a file at its own rate, keeping its channels.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file; never opened for writing.
    max_seconds : float, optional
        Stop decoding after this many seconds from the start.
    damage : list of str, optional
        Where a damaged file that was still decoded says so: a note is appended (packets the
        decoder refused and skipped, a file that ends before its header says).

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
    check_readable(path)
    notes: list[str] = []
    y, native_sr, duration_s = with_fallback(path, lambda: _decode_sndfile(path, max_seconds, notes),
                                             lambda: _decode_ffmpeg(path, max_seconds, notes))
    if damage is not None:
        damage.extend(distinct_notes(notes))
    (y,) = usable_samples([y])
    return y, native_sr, float(max(duration_s, len(y) / native_sr))


def with_fallback(path: Path, sndfile, ffmpeg):
    """``sndfile()``, else ``ffmpeg()`` when libsndfile cannot read the file (FFmpeg first for
    :data:`FFMPEG_FIRST`, libsndfile then the fallback); FFmpeg's reason when both fail."""
    first, second = (ffmpeg, sndfile) if path.suffix.lower() in FFMPEG_FIRST else (sndfile, ffmpeg)
    try:
        return first()
    except Exception as error:  # whatever one decoder cannot read, the other may
        check_readable(path)
        try:
            return second()
        except Exception:
            if isinstance(error, DecodeError):  # FFmpeg went first: its reason is the user's
                raise error from None
            raise


def _decode_sndfile(path: Path, max_seconds: float | None, notes: list[str]) -> tuple[np.ndarray, int, float]:
    with quiet_native_stderr(), sf.SoundFile(soundfile_name(path)) as f:
        native_sr = int(f.samplerate)
        total_frames = sndfile_frames(f, notes)
        frames = -1 if max_seconds is None else int(np.ceil(max_seconds * native_sr))
        y = f.read(frames=frames, dtype="float32", always_2d=True)
    duration_s = total_frames / native_sr if native_sr else 0.0
    if len(y) < (total_frames if frames < 0 else min(frames, total_frames)):
        # A truncated download: the header promised more than the file holds.
        duration_s = len(y) / native_sr
        notes.append(TRUNCATED_NOTE)
    return y, native_sr, duration_s


def _decode_ffmpeg(path: Path, max_seconds: float | None, notes: list[str]) -> tuple[np.ndarray, int, float]:
    met: list[BaseException] = []
    y, native_sr = _decode_pyav(path, max_seconds, met)
    if met:
        notes.append(damage_note(met))
    return y, native_sr, probe_pyav(path).duration_s


def load(
    path: str | os.PathLike,
    sample_rate: int = 22050,
    max_seconds: float | None = None,
    resample_quality: str = "HQ",
    *,
    damage: list[str] | None = None,
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
    damage : list of str, optional
        Notes of a damaged file that was still decoded are appended (see :func:`decode`).

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
    y, native_sr, duration_s = decode(path, max_seconds, damage=damage)
    return resample(to_mono(y), native_sr, sample_rate, resample_quality), duration_s


_quiet_lock = threading.Lock()
_quiet_depth = 0
_saved_stderr_fd: int | None = None


@contextlib.contextmanager
def quiet_native_stderr():
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


def soundfile_name(path: Path) -> str | bytes:
    """The name soundfile opens ``path`` by: its str, or its bytes where the str is not valid UTF-8.

    soundfile encodes str names strictly; a name that is not valid UTF-8 (latin-1 bytes from an
    old zip) only survives as the original bytes.
    """
    name = str(path)
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(path)

