"""Feature stage: crop length, loop-padding, log-mel spectrograms and their cache.

How a mixed collection (0.5 s effects next to 10-minute tracks) becomes inputs
of one shape, as in the original notebooks but bounded:

1. The crop length is the ``crop_percentile``-th percentile of the collection's
   durations, clamped to ``[min_crop_s, max_crop_s]`` (default 1 s .. 30 s), so
   a library of long tracks does not turn into 10-minute inputs and a pack of
   blips does not turn into 30 ms inputs.
2. Each file is decoded only up to that length, turned into a log-mel
   spectrogram (dB relative to the track's own peak, floored 80 dB below it:
   loudness does not move a track on the map) and cached.
3. Shorter tracks are loop-padded by repeating their frames, longer ones
   cropped, so every spectrogram has the crop's number of frames.
4. The time axis is average-pooled into ``time_bins`` columns, which keeps the
   model's input small whatever the crop length.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from songmap._fileio import atomic_write_bytes
from songmap.audio import DecodeError, load

__all__ = [
    "FeatureParams",
    "TrackFeatures",
    "FeatureCache",
    "crop_seconds",
    "loop_pad_or_crop",
    "mel_filterbank",
    "log_mel_spectrogram",
    "pool_time",
    "extract_features",
    "extract_collection",
    "frames_for_seconds",
]


@dataclass(frozen=True)
class FeatureParams:
    """Everything that determines a track's log-mel spectrogram.

    Attributes
    ----------
    sample_rate : int
        Rate audio is resampled to, Hz.
    n_mels : int
        Number of mel bands.
    n_fft : int
        FFT size in samples.
    hop_length : int
        Hop between frames in samples.
    fmin, fmax : float
        Lowest and highest mel band edges in Hz; ``fmax=None`` means Nyquist.
    top_db : float
        Dynamic range kept below each track's peak, dB.
    """

    sample_rate: int = 22050
    n_mels: int = 128
    n_fft: int = 2048
    hop_length: int = 512
    fmin: float = 0.0
    fmax: float | None = None
    top_db: float = 80.0

    def __post_init__(self) -> None:
        if not 1000 <= self.sample_rate <= 384000:
            raise ValueError(f"sample rate must be between 1000 and 384000 Hz, got {self.sample_rate}")
        if not 1 <= self.n_mels <= self.n_fft // 2 + 1:
            raise ValueError(f"n_mels must be between 1 and n_fft/2+1={self.n_fft // 2 + 1}, got {self.n_mels}")
        if self.hop_length < 1 or self.n_fft < 16:
            raise ValueError("hop_length must be >= 1 and n_fft >= 16")

    def key(self) -> str:
        """Stable text form, used in cache keys and saved models."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class TrackFeatures:
    """A track's cached log-mel spectrogram.

    Attributes
    ----------
    log_mel : np.ndarray
        ``(n_mels, frames)`` float32, dB relative to the track's peak (max 0).
    duration_s : float
        Duration of the whole file.
    covered_s : float
        Seconds of audio the spectrogram covers (all of it when ``complete``).
    complete : bool
        True when the whole file was decoded.
    """

    log_mel: np.ndarray
    duration_s: float
    covered_s: float
    complete: bool

    def covers(self, seconds: float) -> bool:
        """Whether this spectrogram holds at least ``seconds`` of the track (or all of it)."""
        return self.complete or self.covered_s + 1e-6 >= seconds


def crop_seconds(durations, percentile: float = 75.0, min_crop_s: float = 1.0, max_crop_s: float = 30.0) -> float:
    """Length every track is loop-padded or cropped to.

    Parameters
    ----------
    durations : array_like
        Durations of the collection's tracks in seconds.
    percentile : float
        Percentile of the durations (the notebooks used 75).
    min_crop_s, max_crop_s : float
        Bounds, so that extreme collections still give inputs of a useful size.

    Returns
    -------
    float
        Crop length in seconds.
    """
    if not 0 <= percentile <= 100:
        raise ValueError(f"crop percentile must be between 0 and 100, got {percentile}")
    if min_crop_s <= 0 or max_crop_s < min_crop_s:
        raise ValueError("crop bounds must satisfy 0 < min_crop_s <= max_crop_s")
    durations = np.asarray(durations, dtype=np.float64)
    if durations.size == 0:
        raise ValueError("no durations to choose a crop length from")
    return float(np.clip(np.percentile(durations, percentile), min_crop_s, max_crop_s))


def frames_for_seconds(seconds: float, params: FeatureParams) -> int:
    """Number of STFT frames (centred) that ``seconds`` of audio give."""
    return int(round(seconds * params.sample_rate)) // params.hop_length + 1


def loop_pad_or_crop(x: np.ndarray, length: int, axis: int = -1) -> np.ndarray:
    """Repeat ``x`` along ``axis`` until it is ``length`` long, or cut it there.

    Looping (rather than zero-padding) keeps a short jingle's texture over the
    whole input, as the original notebooks did.

    Parameters
    ----------
    x : np.ndarray
        Signal (1-D samples) or spectrogram (frames on ``axis``); must not be empty.
    length : int
        Target length along ``axis``.
    axis : int
        Axis to pad or crop.

    Returns
    -------
    np.ndarray
    """
    n = x.shape[axis]
    if n == 0:
        raise ValueError("cannot loop-pad an empty array")
    if length <= 0:
        raise ValueError("length must be positive")
    if n < length:
        reps = [1] * x.ndim
        reps[axis] = -(-length // n)
        x = np.tile(x, reps)
    return np.take(x, np.arange(length), axis=axis)


def _hz_to_mel(hz):
    # Slaney's auditory toolbox scale: linear below 1 kHz, logarithmic above (librosa's default).
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = hz / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    log_region = hz >= min_log_hz
    mels = np.where(log_region, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mels)
    return mels


def _mel_to_hz(mels):
    mels = np.asarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Slaney-normalised triangular mel filters, equal to ``librosa.filters.mel``'s defaults.

    Parameters
    ----------
    sample_rate : int
        Sampling rate in Hz.
    n_fft : int
        FFT size.
    n_mels : int
        Number of bands.
    fmin, fmax : float
        Band edges in Hz; ``fmax=None`` means ``sample_rate / 2``.

    Returns
    -------
    np.ndarray
        ``(n_mels, n_fft // 2 + 1)`` float32 weights.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel_edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(mel_edges)
    ramps = mel_edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    # Slaney normalisation: each filter has unit area, so bands are comparable.
    weights *= (2.0 / (mel_edges[2 : n_mels + 2] - mel_edges[:n_mels]))[:, None]
    return weights.astype(np.float32)


_FILTERBANKS: dict[tuple, torch.Tensor] = {}


def _filterbank_tensor(params: FeatureParams) -> torch.Tensor:
    key = (params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax)
    if key not in _FILTERBANKS:
        _FILTERBANKS[key] = torch.from_numpy(
            mel_filterbank(params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax)
        )
    return _FILTERBANKS[key]


def log_mel_spectrogram(y: np.ndarray, params: FeatureParams = FeatureParams()) -> np.ndarray:
    """Log-mel power spectrogram in dB relative to the signal's peak.

    Same definition as ``librosa.power_to_db(librosa.feature.melspectrogram(y),
    ref=np.max, top_db=80)`` (centred Hann-window STFT), computed with
    ``torch.stft``, which is several times faster on a CPU.

    Parameters
    ----------
    y : np.ndarray
        Mono signal at ``params.sample_rate``, non-empty. Signals shorter than
        one FFT are loop-padded to one FFT first.
    params : FeatureParams

    Returns
    -------
    np.ndarray
        ``(n_mels, 1 + len(y) // hop_length)`` float32 in ``[-top_db, 0]``.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError("expected a non-empty mono signal")
    n_frames = 1 + len(y) // params.hop_length
    if len(y) <= params.n_fft // 2:
        # A blip shorter than half an FFT would be mostly padding; looping keeps its texture.
        y = loop_pad_or_crop(y, params.n_fft // 2 + 1)
    window = torch.hann_window(params.n_fft)
    with torch.no_grad():
        spec = torch.stft(
            torch.from_numpy(y),
            n_fft=params.n_fft,
            hop_length=params.hop_length,
            window=window,
            center=True,
            pad_mode="constant",  # librosa >= 0.10 pads with zeros too
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        mel = _filterbank_tensor(params) @ power
        db = 10.0 * torch.log10(torch.clamp(mel, min=1e-10))[:, :n_frames]
        db = torch.clamp(db - db.max(), min=-params.top_db)
    return np.ascontiguousarray(db.numpy(), dtype=np.float32)


def pool_time(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Average a ``(bands, frames)`` array into ``n_bins`` equal time columns.

    Parameters
    ----------
    x : np.ndarray
        ``(bands, frames)`` with ``frames >= n_bins``, or fewer frames (then
        loop-padded to ``n_bins`` first).
    n_bins : int
        Number of output columns.

    Returns
    -------
    np.ndarray
        ``(bands, n_bins)`` float32.
    """
    if x.shape[1] < n_bins:
        x = loop_pad_or_crop(x, n_bins, axis=1)
    edges = np.linspace(0, x.shape[1], n_bins + 1).round().astype(int)
    sums = np.add.reduceat(x.astype(np.float64), edges[:-1], axis=1)
    return (sums / np.diff(edges)[None, :]).astype(np.float32)


def extract_features(path: str | os.PathLike, params: FeatureParams, max_seconds: float | None) -> TrackFeatures:
    """Decode (at most ``max_seconds`` of) a file and compute its log-mel spectrogram.

    Raises
    ------
    DecodeError
        With the reason when the file cannot be used.
    """
    y, duration_s = load(path, params.sample_rate, max_seconds=max_seconds)
    if not np.any(y):
        raise DecodeError("silent: every sample is zero")
    covered_s = len(y) / params.sample_rate
    complete = max_seconds is None or covered_s + 1.0 / params.sample_rate >= duration_s
    # Rounded to the cache's float16 here, so a fresh run and a cached run see identical inputs.
    log_mel = log_mel_spectrogram(y, params).astype(np.float16).astype(np.float32)
    return TrackFeatures(log_mel, duration_s, covered_s, bool(complete))


class FeatureCache:
    """On-disk cache of :class:`TrackFeatures`, one ``.npz`` per file and parameter set.

    Entries are keyed by the file's resolved path, size and modification time
    plus the feature parameters, so an edited file or a changed ``--n-mels`` is
    recomputed. Entries are written to a temporary name and renamed, so an
    interrupted run never leaves a half-written entry.

    Parameters
    ----------
    folder : str or os.PathLike
        Cache folder (created on first write).
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _entry_path(self, path: Path, params: FeatureParams) -> Path:
        st = path.stat()
        ident = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{params.key()}"
        return self.folder / (hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()[:32] + ".npz")

    def get(self, path: str | os.PathLike, params: FeatureParams) -> TrackFeatures | None:
        """Cached features for ``path``, or None."""
        try:
            entry = self._entry_path(Path(path), params)
            with np.load(entry) as data:
                return TrackFeatures(
                    data["log_mel"].astype(np.float32),
                    float(data["duration_s"]),
                    float(data["covered_s"]),
                    bool(data["complete"]),
                )
        except (OSError, KeyError, ValueError):
            return None

    def put(self, path: str | os.PathLike, params: FeatureParams, features: TrackFeatures) -> None:
        """Store features for ``path`` atomically."""
        entry = self._entry_path(Path(path), params)
        self.folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        # float16 halves the cache; dB values in [-80, 0] keep ~0.03 dB precision.
        np.savez(
            buffer,
            log_mel=features.log_mel.astype(np.float16),
            duration_s=features.duration_s,
            covered_s=features.covered_s,
            complete=features.complete,
        )
        atomic_write_bytes(entry, buffer.getvalue())


def extract_collection(
    paths: Sequence[str | os.PathLike],
    params: FeatureParams,
    max_seconds: float | None,
    cache: FeatureCache | None = None,
    on_file: Callable[[int, int, Path], None] | None = None,
) -> tuple[dict[int, TrackFeatures], list[tuple[Path, str]]]:
    """Features of many files, from the cache where it covers ``max_seconds``.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        Audio files.
    params : FeatureParams
    max_seconds : float or None
        Seconds of each file that are needed (the crop length).
    cache : FeatureCache, optional
        Where features are looked up first and stored after computing.
    on_file : callable, optional
        ``on_file(done, total, path)`` after each file.

    Returns
    -------
    features : dict
        Index into ``paths`` -> :class:`TrackFeatures`, for the files that worked.
    skipped : list of (Path, str)
        Files that did not, with the reason.
    """
    features: dict[int, TrackFeatures] = {}
    skipped: list[tuple[Path, str]] = []
    for done, path in enumerate(map(Path, paths), start=1):
        feats = cache.get(path, params) if cache is not None else None
        if feats is None or (max_seconds is not None and not feats.covers(max_seconds)):
            try:
                feats = extract_features(path, params, max_seconds=max_seconds)
            except DecodeError as exc:
                skipped.append((path, str(exc)))
                feats = None
            except (OSError, MemoryError) as exc:
                skipped.append((path, f"cannot read file ({exc.__class__.__name__}: {exc})"))
                feats = None
            if feats is not None and cache is not None:
                try:
                    cache.put(path, params, feats)
                except OSError:
                    pass  # a read-only or full disk only costs the cache, not the run
        if feats is not None:
            features[done - 1] = feats
        if on_file is not None:
            on_file(done, len(paths), path)
    return features, skipped
