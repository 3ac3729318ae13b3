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
import itertools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

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


_FILTERBANKS: dict[tuple, np.ndarray] = {}
_WINDOWS: dict[int, np.ndarray] = {}


def _filterbank(params: FeatureParams) -> np.ndarray:
    key = (params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax)
    if key not in _FILTERBANKS:
        # Transposed once, so each spectrogram is one (frames, bins) @ (bins, mels) product.
        _FILTERBANKS[key] = np.ascontiguousarray(
            mel_filterbank(params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax).T
        )
    return _FILTERBANKS[key]


def _hann(n_fft: int) -> np.ndarray:
    if n_fft not in _WINDOWS:
        # Periodic Hann window, as librosa (scipy.signal.get_window("hann", n, fftbins=True)) uses.
        _WINDOWS[n_fft] = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    return _WINDOWS[n_fft]


def log_mel_spectrogram(y: np.ndarray, params: FeatureParams = FeatureParams()) -> np.ndarray:
    """Log-mel power spectrogram in dB relative to the signal's peak.

    Same definition as ``librosa.power_to_db(librosa.feature.melspectrogram(y),
    ref=np.max, top_db=80)`` (centred Hann-window STFT, zero padding), computed
    in single precision with ``scipy.fft.rfft`` over a strided view of the
    frames and one matrix product with a cached filterbank.

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
    spectrum = scipy.fft.rfft(frames * _hann(params.n_fft), axis=1, workers=1)
    power = np.square(spectrum.real) + np.square(spectrum.imag)
    db = 10.0 * np.log10(np.maximum(power @ _filterbank(params), 1e-10)).T
    return np.ascontiguousarray(np.maximum(db - db.max(), -params.top_db), dtype=np.float32)


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
    try:
        return _extract_features(path, params, max_seconds)
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
    y, duration_s = load(path, params.sample_rate, max_seconds=max_seconds)
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


def _features_for_file(
    path: Path, params: FeatureParams, max_seconds: float | None, cache_dir: str | None
) -> tuple[TrackFeatures | None, str | None]:
    """One file's features, through the cache: ``(features, None)`` or ``(None, reason)``.

    A module-level function so that worker processes (and Dask workers) can run it; each
    worker writes its own cache entry, so the parent never holds more than one result.
    """
    cache = FeatureCache(cache_dir) if cache_dir is not None else None
    feats = cache.get(path, params) if cache is not None else None
    if feats is not None and (max_seconds is None or feats.covers(max_seconds)):
        return feats, None
    try:
        feats = extract_features(path, params, max_seconds=max_seconds)
    except DecodeError as exc:  # extract_features turns every per-file failure into one
        return None, str(exc)
    if cache is not None:
        try:
            cache.put(path, params, feats)
        except OSError:
            pass  # a read-only or full disk only costs the cache, not the run
    return feats, None


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: the parent turns it into one line and shuts the
    # pool down; workers that took it too would each print a KeyboardInterrupt traceback.
    import signal

    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One process per core already: BLAS threads (the mel filterbank product) would only fight
    # over the cores. Set for the life of the worker.
    threadpool_limits(1)


def _run_serial(tasks):
    """Yield ``(index, result)`` computed in this process, with BLAS on one thread."""
    from threadpoolctl import threadpool_limits

    # One file's spectrogram is a few small products: waking a second BLAS thread for each costs
    # more than it saves (as PyTorch's thread pool did when the STFT ran there).
    with threadpool_limits(1):
        for index, args in tasks:
            yield index, _features_for_file(*args)


def _run_local(tasks, jobs: int):
    """Yield ``(index, result)`` from a process pool, keeping only a few files in flight."""
    import concurrent.futures as cf
    import multiprocessing

    # forkserver, not fork: forking a process that has used PyTorch's thread pool can deadlock.
    context = multiprocessing.get_context("forkserver")
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init) as pool:
        pending: dict = {}
        queue = iter(tasks)
        try:
            for index, args in itertools.islice(queue, 4 * jobs):
                pending[pool.submit(_features_for_file, *args)] = index
            while pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    yield index, future.result()
                    for next_index, args in itertools.islice(queue, 1):
                        pending[pool.submit(_features_for_file, *args)] = next_index
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _check_reachable(address: str) -> None:
    """Fail in a moment, not after Dask's connect timeout, when nothing listens at ``address``."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return  # inproc://, ucx://, ...: leave it to Dask
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 8786), timeout=5):
            pass
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _run_dask(tasks, scheduler: str, jobs: int):
    """Yield ``(index, result)`` from a dask.distributed cluster (``"local"`` starts a LocalCluster)."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError("the Dask backend needs dask.distributed: pip install 'songmap[dask]'") from None
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        _check_reachable(scheduler)
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        queue = iter(tasks)
        window = 4 * max(jobs, sum(client.nthreads().values()) or 1)
        futures = {}
        for index, args in itertools.islice(queue, window):
            futures[client.submit(_features_for_file, *args, pure=False)] = index
        completed = as_completed(list(futures))
        for future in completed:
            index = futures.pop(future)
            yield index, future.result()
            future.release()
            for next_index, args in itertools.islice(queue, 1):
                new = client.submit(_features_for_file, *args, pure=False)
                futures[new] = next_index
                completed.add(new)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def extract_collection(
    paths: Sequence[str | os.PathLike],
    params: FeatureParams,
    max_seconds: float | None,
    cache: FeatureCache | None = None,
    on_file: Callable[[int, int, Path], None] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    reduce: Callable[[TrackFeatures], object] | None = None,
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
        Where features are looked up first and stored after computing. With
        ``scheduler``, it must be on a file system the Dask workers share.
    on_file : callable, optional
        ``on_file(done, total, path)`` after each file (in completion order).
    jobs : int
        Worker processes; 1 computes in this process.
    scheduler : str, optional
        ``"local"`` (a dask.distributed LocalCluster with ``jobs`` workers) or
        the address of a Dask scheduler (``tcp://host:8786``); the per-file
        work is sent there instead of to local processes.
    reduce : callable, optional
        Called as ``reduce(index, features)`` for each file's features as they
        arrive; its result is kept instead, so a large collection need not
        hold every spectrogram.

    Returns
    -------
    features : dict
        Index into ``paths`` -> :class:`TrackFeatures`, for the files that worked.
    skipped : list of (Path, str)
        Files that did not, with the reason, in the order of ``paths``.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    paths = [Path(p) for p in paths]
    cache_dir = str(cache.folder) if cache is not None else None
    if scheduler is not None:
        # Workers on other machines need absolute paths.
        tasks = ((i, (p.resolve(), params, max_seconds, cache_dir and str(Path(cache_dir).resolve()))) for i, p in enumerate(paths))
        results = _run_dask(tasks, scheduler, jobs)
    else:
        tasks = ((i, (p, params, max_seconds, cache_dir)) for i, p in enumerate(paths))
        if jobs > 1 and len(paths) > 1:
            results = _run_local(tasks, min(jobs, len(paths)))
        else:
            results = _run_serial(tasks)
    features: dict[int, TrackFeatures] = {}
    failed: dict[int, str] = {}
    for done, (index, (feats, reason)) in enumerate(results, start=1):
        if feats is not None:
            features[index] = reduce(index, feats) if reduce is not None else feats
        else:
            failed[index] = reason
        if on_file is not None:
            on_file(done, len(paths), paths[index])
    skipped = [(paths[i], failed[i]) for i in sorted(failed)]
    return features, skipped
