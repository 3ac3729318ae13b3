"""Log-mel spectrograms: the parameters that define them, and one file's spectrogram.

Each file is decoded (only as far as needed), scaled to a peak of 1 and turned
into a log-mel spectrogram in dB relative to the track's own peak, floored 80 dB
below it: loudness does not move a track on the map.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass

import numpy as np

from songmap.features.shaping import loop_pad_or_crop
from songmap.io.decode import load
from songmap.io.decode_errors import DecodeError

__all__ = [
    "FeatureParams",
    "TrackFeatures",
    "failures_as_decode_errors",
    "MIN_SECONDS",
    "SILENCE_DBFS",
    "frames_for_seconds",
    "mel_filterbank",
    "log_mel_spectrogram",
    "power_spectrogram",
    "log_mel_from_power",
    "mel_envelopes_from_power",
    "extract_features",
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
    damage : str
        What was damaged in a file that still decoded ("" for an intact one):
        :func:`songmap.io.decode.decode`'s notes.
    """

    log_mel: np.ndarray
    duration_s: float
    covered_s: float
    complete: bool
    damage: str = ""

    def covers(self, seconds: float) -> bool:
        """Whether this spectrogram holds at least ``seconds`` of the track (or all of it)."""
        return self.complete or self.covered_s + 1e-6 >= seconds


def frames_for_seconds(seconds: float, params: FeatureParams) -> int:
    """Number of STFT frames (centred) that ``seconds`` of audio give."""
    return int(round(seconds * params.sample_rate)) // params.hop_length + 1


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


_FILTERBANKS: dict[tuple, list] = {}
_WINDOWS: dict[int, np.ndarray] = {}
#: FFT bins per block of the banded mel product (:func:`_banded_blocks`).
MEL_BLOCK_BINS = 64
#: Frames per block of the STFT (:func:`power_spectrogram`): 64 x 2048 float32 is 512 KiB.
STFT_BLOCK_FRAMES = 64


def _banded_blocks(weights: np.ndarray, *, block_bins: int = MEL_BLOCK_BINS) -> list[tuple[int, int, int, int, np.ndarray]]:
    """A ``(bins, bands)`` filterbank as blocks of ``block_bins`` bins and the bands weighted there.

    A mel band spans a few neighbouring bins, so most of a dense
    ``(bins, bands)`` filterbank is zero (92 % of the 128-band mel bank at
    ``n_fft=2048``). :func:`_banded_product` multiplies by the blocks alone: the same sums
    with a thirteenth of the multiplications, 1.1 ms instead of 3.9 ms for a 30-s window
    (BENCHMARKS.md, "Full-length songs"). BLAS does each block; a sparse matrix
    product (``scipy.sparse``) would first copy the ``(frames, bins)`` power into its
    layout.

    Parameters
    ----------
    weights : np.ndarray
        ``(bins, bands)`` non-negative weights.
    block_bins : int
        Bins per block.

    Returns
    -------
    list of tuple
        ``(bin_lo, bin_hi, band_lo, band_hi, block)``: ``block`` is
        ``weights[bin_lo:bin_hi, band_lo:band_hi]``, contiguous; blocks without
        weight are left out.
    """
    blocks = []
    for lo in range(0, weights.shape[0], block_bins):
        hi = min(lo + block_bins, weights.shape[0])
        bands = np.flatnonzero(weights[lo:hi].any(axis=0))
        if bands.size:
            band_lo, band_hi = int(bands[0]), int(bands[-1]) + 1
            blocks.append((lo, hi, band_lo, band_hi, np.ascontiguousarray(weights[lo:hi, band_lo:band_hi])))
    return blocks


def _banded_product(power: np.ndarray, blocks: list, n_bands: int) -> np.ndarray:
    """``power @ weights`` from :func:`_banded_blocks`'s blocks: ``(frames, bins)`` -> ``(frames, n_bands)`` float32."""
    out = np.zeros((power.shape[0], n_bands), np.float32)
    for lo, hi, band_lo, band_hi, block in blocks:
        out[:, band_lo:band_hi] += power[:, lo:hi] @ block
    return out


def _filterbank(params: FeatureParams) -> list:
    key = (params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax)
    if key not in _FILTERBANKS:
        # Transposed once, so each spectrogram is (frames, bins) @ (bins, mels), block by block.
        _FILTERBANKS[key] = _banded_blocks(
            mel_filterbank(params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax).T
        )
    return _FILTERBANKS[key]


def _hann(n_fft: int) -> np.ndarray:
    if n_fft not in _WINDOWS:
        # Periodic Hann window, as librosa (scipy.signal.get_window("hann", n, fftbins=True)) uses.
        _WINDOWS[n_fft] = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    return _WINDOWS[n_fft]


def power_spectrogram(y: np.ndarray, params: FeatureParams = FeatureParams()) -> np.ndarray:
    """Power of the centred Hann-window STFT that :func:`log_mel_spectrogram` (and the tonal view) read.

    Parameters
    ----------
    y : np.ndarray
        Mono signal at ``params.sample_rate``, non-empty. Signals shorter than
        half an FFT are loop-padded first.
    params : FeatureParams

    Returns
    -------
    np.ndarray
        ``(1 + len(y) // hop_length, n_fft // 2 + 1)`` float32: frames × frequency bins.
    """
    import scipy.fft  # here, not at the top: `songmap embed` pays for it only when it computes features

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError("expected a non-empty mono signal")
    n_frames = 1 + len(y) // params.hop_length
    if len(y) <= params.n_fft // 2:
        # A blip shorter than half an FFT would be mostly padding; looping keeps its texture.
        y = loop_pad_or_crop(y, params.n_fft // 2 + 1)
    padded = np.pad(y, params.n_fft // 2)  # centred frames; librosa >= 0.10 pads with zeros too
    frames = np.lib.stride_tricks.sliding_window_view(padded, params.n_fft)[:: params.hop_length][:n_frames]
    hann = _hann(params.n_fft)
    power = np.empty((n_frames, params.n_fft // 2 + 1), np.float32)
    # A block of frames at a time: its windowed copy and its spectrum stay in the CPU's cache, where
    # all frames at once (10 MB each for 30 s) went through memory: 8.3 -> 5.7 ms for 30 s (BENCHMARKS.md).
    for start in range(0, n_frames, STFT_BLOCK_FRAMES):
        block = slice(start, start + STFT_BLOCK_FRAMES)
        spectrum = scipy.fft.rfft(frames[block] * hann, axis=1, workers=1, overwrite_x=True)
        np.abs(spectrum, out=power[block])  # |z|, then squared in place: no complex temporaries
    return np.square(power, out=power)


def log_mel_from_power(power: np.ndarray, params: FeatureParams = FeatureParams()) -> np.ndarray:
    """``(frames, bins)`` STFT power -> ``(n_mels, frames)`` float32 dB relative to its peak, floored ``top_db`` below."""
    db = 10.0 * np.log10(np.maximum(_banded_product(power, _filterbank(params), params.n_mels), 1e-10)).T
    return np.ascontiguousarray(np.maximum(db - db.max(), -params.top_db), dtype=np.float32)


def mel_envelopes_from_power(power: np.ndarray, params: FeatureParams = FeatureParams()) -> np.ndarray:
    """``(frames, bins)`` STFT power -> ``(n_mels, frames)`` float32 mel amplitudes relative to their peak.

    ``10 ** (log_mel_from_power(power) / 20)``, in ``[10 ** (-top_db / 20), 1]``,
    as a square root (what the modulation spectrum reads), not through decibels.
    """
    mel = _banded_product(power, _filterbank(params), params.n_mels)
    np.maximum(mel, np.float32(1e-10), out=mel)
    mel /= mel.max()
    np.sqrt(mel, out=mel)
    return np.ascontiguousarray(np.maximum(mel, np.float32(10.0 ** (-params.top_db / 20.0))).T)


def log_mel_spectrogram(y: np.ndarray, params: FeatureParams = FeatureParams()) -> np.ndarray:
    """Log-mel power spectrogram in dB relative to the signal's peak.

    Same definition as ``librosa.power_to_db(librosa.feature.melspectrogram(y),
    ref=np.max, top_db=80)`` (centred Hann-window STFT, zero padding), computed
    in single precision with ``scipy.fft.rfft`` over a strided view of the
    frames, a block of frames at a time, and a product with the nonzero blocks
    of a cached filterbank.

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
    return log_mel_from_power(power_spectrogram(y, params), params)


def extract_features(path: str | os.PathLike, params: FeatureParams, max_seconds: float | None) -> TrackFeatures:
    """Decode (at most ``max_seconds`` of) a file and compute its log-mel spectrogram.

    Files shorter than :data:`MIN_SECONDS` and files whose peak stays below
    :data:`SILENCE_DBFS` are rejected (they would give a spectrogram of nothing
    but its floor); every other signal is scaled to a peak of 1 first, so a
    quiet copy of a track gets the same features as the track.

    Raises
    ------
    DecodeError
        With the reason when the file cannot be used; any other failure on a
        strange file is turned into a DecodeError too, so one file never stops a run.
    """
    with failures_as_decode_errors():
        return _extract_features(path, params, max_seconds)


@contextlib.contextmanager
def failures_as_decode_errors():
    """Turn any failure on one file into a :class:`DecodeError` with a one-line reason.

    Feature extraction runs on files nobody has looked at; one strange file must
    be skipped with its reason, never stop a run.
    """
    try:
        yield
    except DecodeError:
        raise
    except MemoryError:
        raise DecodeError("too large to decode in memory") from None
    except OSError as exc:
        raise DecodeError(f"cannot read file ({exc.strerror or exc})") from None
    except Exception as exc:  # a bug or a file nobody foresaw: skip it, say why
        raise DecodeError(f"could not be processed ({type(exc).__name__}: {str(exc)[:160]})") from None


#: Shortest file that is mapped, in seconds (a single-sample "click" is not a track).
MIN_SECONDS = 0.001
#: Files whose peak level is below this are silent (16-bit audio's smallest step is -90.3 dBFS).
SILENCE_DBFS = -90.0


def _extract_features(path: str | os.PathLike, params: FeatureParams, max_seconds: float | None) -> TrackFeatures:
    damage: list[str] = []
    y, duration_s = load(path, params.sample_rate, max_seconds=max_seconds, damage=damage)
    if duration_s < MIN_SECONDS or len(y) == 0:
        raise DecodeError(f"too short: {duration_s * 1000:.2g} ms of audio, less than {MIN_SECONDS * 1000:g} ms")
    peak = float(np.max(np.abs(y)))
    if peak == 0.0:
        raise DecodeError("silent: every sample is zero")
    if 20 * np.log10(peak) < SILENCE_DBFS:
        raise DecodeError(f"silent: peak level {20 * np.log10(peak):.0f} dBFS, below {SILENCE_DBFS:g} dBFS")
    covered_s = len(y) / params.sample_rate
    complete = max_seconds is None or covered_s + 1.0 / params.sample_rate >= duration_s
    # Rounded to the cache's float16 here, so a fresh run and a cached run see identical inputs.
    log_mel = log_mel_spectrogram(y / np.float32(peak), params).astype(np.float16).astype(np.float32)
    return TrackFeatures(log_mel, duration_s, covered_s, bool(complete), "; ".join(damage))
