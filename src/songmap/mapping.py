"""Mapping stage: :class:`SongMapper`, a scikit-learn-style estimator from audio files to 2-D points.

>>> mapper = SongMapper(epochs=200, seed=0)
>>> xy = mapper.fit_transform(paths)        # (n, 2), one row per path
>>> mapper.save("model.safetensors")
>>> SongMapper.load("model.safetensors").transform(new_paths)   # placed on the same map, no retraining
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from songmap import __version__
from songmap.audio import DecodeError, probe
from songmap.encoder import encode_numpy
from songmap.features import (
    FeatureCache,
    FeatureParams,
    TrackFeatures,
    crop_seconds,
    extract_collection,
    frames_for_seconds,
    loop_pad_or_crop,
    pool_time,
)
from songmap.modulation import modulation_spectrum

# PyTorch (songmap.model) is imported only where a model is trained or asked for: `import torch`
# takes about a second, and placing songs on a saved map does not need it (songmap.encoder).

__all__ = ["SongMapper", "Progress", "NotFittedError", "PRESETS", "REPRESENTATIONS"]

MODEL_FORMAT = "songmap-model"
# 3: a safetensors file (model.safetensors), readable without PyTorch.
# 2: presets, the modulation representation and the neighbour term; 1: the first model.
# Versions 1 and 2 are torch.save files (model.pt) and still load (version 1 as preset "seed").
MODEL_FORMAT_VERSION = 3

#: File name of the model in a `songmap map` output folder, and the one older versions wrote.
MODEL_FILE = "model.safetensors"
LEGACY_MODEL_FILE = "model.pt"

#: What the autoencoder reads: the time-pooled spectrogram (the notebooks') or
#: each band's modulation spectrum (see :mod:`songmap.modulation`).
REPRESENTATIONS = ("pooled", "modulation")

#: Named configurations; a parameter given explicitly to :class:`SongMapper` wins over its preset.
#: "seed" is the notebooks' model, kept so the two can be compared (``songmap compare``,
#: BENCHMARKS.md "Map quality"); "default" is what measured best there:
#:
#: * ``representation="modulation"`` with ``crop_percentile=100`` (capped by
#:   ``max_crop_s``): a loop-start-invariant, noise-bed-robust input, estimated
#:   over up to 30 s because slow modulations need long windows;
#: * ``neighbour_weight=1.0``: the t-SNE neighbour term next to the
#:   reconstruction error (:mod:`songmap.model`).
PRESETS: dict[str, dict] = {
    "seed": {"representation": "pooled", "crop_percentile": 75.0, "modulation_bins": 16, "neighbour_weight": 0.0},
    "default": {"representation": "modulation", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 1.0},
}


class NotFittedError(ValueError, AttributeError):
    """Raised when a mapper is used before :meth:`SongMapper.fit`."""


@dataclass
class Progress:
    """Optional callbacks through which a long run reports what it is doing.

    Attributes
    ----------
    on_file : callable, optional
        ``on_file(done, total, path)`` after each file's features are ready.
    on_epoch : callable, optional
        ``on_epoch(epoch, max_epochs, loss)`` after each training epoch.
    audio_seconds : float
        Duration of the files whose features are ready so far (updated before
        each ``on_file`` call, for a realtime factor).
    """

    on_file: Callable[[int, int, Path], None] | None = None
    on_epoch: Callable[[int, int, float], None] | None = None
    audio_seconds: float = 0.0


#: Most gradient steps a fit takes. A small collection runs all its epochs under it; a large one
#: has many steps per epoch and needs fewer epochs, so training time stops growing with its size.
MAX_TRAINING_STEPS = 1500
#: ...but never fewer epochs than this: every track is seen several times.
MIN_EPOCHS = 8


def _epoch_budget(epochs: int, n_tracks: int, batch_size: int) -> int:
    """Epochs to run: ``epochs``, cut so that at most about MAX_TRAINING_STEPS steps are taken."""
    steps_per_epoch = max(1, -(-n_tracks // batch_size))
    return max(1, min(epochs, max(MIN_EPOCHS, MAX_TRAINING_STEPS // steps_per_epoch)))


class _InputRows:
    """Model inputs of a set of files, one row per file, in a memory-mapped temporary file.

    Rows are written as each file's features arrive, and training and encoding
    read them back a batch at a time, so the mapper's own memory does not grow
    with the number of tracks: the rows live in the operating system's page
    cache, which it can write out and drop. The file is unlinked as soon as it
    is made (POSIX), so nothing is left behind, not even after a kill.

    Parameters
    ----------
    n_rows : int
        Files that may have a row.
    row_shape : tuple of int
        ``(n_mels, input_width)``.
    folder : str or os.PathLike, optional
        Where the file is made (the feature cache's folder: on disk, where
        there is room for features); default: the system's temporary folder.
    """

    def __init__(self, n_rows: int, row_shape: tuple[int, ...], folder: str | os.PathLike | None = None):
        try:
            if folder is not None:
                Path(folder).mkdir(parents=True, exist_ok=True)
            self._file = tempfile.TemporaryFile(prefix="songmap-inputs-", dir=folder)
        except OSError:  # a read-only cache folder only costs where the rows go
            self._file = tempfile.TemporaryFile(prefix="songmap-inputs-")
        # np.memmap cannot map an empty file: a collection with no decodable file still gets one row.
        self.array = np.memmap(self._file, dtype=np.float32, mode="w+", shape=(max(n_rows, 1), *row_shape))
        self.durations = np.full(n_rows, np.nan)
        self.filled = np.zeros(n_rows, dtype=bool)
        #: Indices of the files that have a row, and those rows (set by :meth:`compact`).
        self.order = np.zeros(0, dtype=np.int64)
        self.rows = self.array[:0]

    def put(self, row: int, values: np.ndarray, duration_s: float) -> None:
        self.array[row] = values
        self.durations[row] = duration_s
        self.filled[row] = True

    def compact(self) -> None:
        """Move the filled rows to the front, in file order: ``rows[k]`` is file ``order[k]``."""
        self.order = np.flatnonzero(self.filled)
        for k, i in enumerate(self.order):
            if k != i:  # i > k: the row it overwrites has been moved already (or was never filled)
                self.array[k] = self.array[i]
        self.rows = self.array[: len(self.order)]

    def close(self) -> None:
        self.array = self.rows = None  # the mapping goes when the last view of it does
        self._file.close()

    def __enter__(self) -> _InputRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SongMapper:
    """Place songs on a 2-D map with a two-neuron convolutional autoencoder.

    Parameters
    ----------
    sample_rate : int
        Rate audio is resampled to (Hz).
    n_mels : int
        Mel bands of the spectrogram.
    n_fft, hop_length : int
        STFT size and hop in samples.
    preset : {"default", "seed"}
        Named configuration that fills in ``representation``, ``crop_percentile``,
        ``modulation_bins`` and ``neighbour_weight`` where they are not given
        (see :data:`PRESETS`): "seed" is the notebooks' plain autoencoder on
        time-pooled spectrograms, "default" the measured improvement.
    representation : {"pooled", "modulation"}, optional
        What the autoencoder reads per track: the log-mel spectrogram averaged
        into ``time_bins`` columns, or each band's modulation spectrum in
        ``modulation_bins`` columns. Either way a ``(n_mels, columns)`` image,
        centred per band over the collection and scaled per band (pooled) or
        by one spread for all bands (modulation, so quiet bands stay quiet).
    modulation_bins : int, optional
        Columns of the modulation representation.
    neighbour_weight : float, optional
        Weight of the t-SNE neighbour term in the training loss (0 = plain autoencoder).
    crop_percentile : float, optional
        Tracks are loop-padded or cropped to this percentile of the durations...
    min_crop_s, max_crop_s : float
        ...clamped to this range (seconds).
    time_bins : int
        Columns the cropped spectrogram's time axis is averaged into.
    filters : sequence of int
        Channels of the encoder's convolutions (the decoder mirrors them).
    epochs : int
        Maximum training epochs; training stops earlier when the loss stops improving.
    batch_size, learning_rate, patience : int, float, int
        Training settings, see :class:`songmap.model.TrainingConfig`.
    seed : int
        Makes training repeatable.
    cache_dir : str or os.PathLike, optional
        Folder for the feature cache; None computes features in memory only.
    on_error : {"skip", "raise"}
        What to do with a file that cannot be decoded: leave it out (its row
        of coordinates is NaN and the reason is reported), or raise ValueError.
    progress : Progress, optional
        Callbacks for progress bars.
    n_jobs : int
        Processes that extract features in parallel (-1: one per core).
    scheduler : str, optional
        Send feature extraction to Dask instead: ``"local"`` or a scheduler
        address such as ``"tcp://10.0.0.5:8786"`` (workers must share the cache folder).

    Attributes
    ----------
    crop_seconds_ : float
        Crop length chosen at fit time.
    band_mean_, band_std_ : np.ndarray
        Per-mel-band normalisation learned at fit time.
    model_ : ConvAutoencoder
        The trained autoencoder (PyTorch; made from ``weights_`` when first used).
    weights_ : dict of str to np.ndarray
        The autoencoder's ``state_dict`` as arrays; :meth:`transform` runs the
        encoder on them in NumPy (:mod:`songmap.encoder`), without PyTorch.
    model_config_ : dict
        The autoencoder's constructor arguments.
    training_ : TrainingResult
        Loss history and early-stopping information.
    embedding_ : np.ndarray
        ``(n, 2)`` coordinates of the fitted paths (NaN rows for skipped files).
    skipped_ : list of (Path, str)
        Files left out at fit time and why.
    durations_ : np.ndarray
        Duration in seconds of each fitted path (NaN for skipped files).
    """

    def __init__(
        self,
        sample_rate: int = 22050,
        n_mels: int = 128,
        n_fft: int = 2048,
        hop_length: int = 512,
        crop_percentile: float | None = None,
        min_crop_s: float = 1.0,
        max_crop_s: float = 30.0,
        time_bins: int = 64,
        filters: Sequence[int] = (16, 32, 64),
        epochs: int = 300,
        batch_size: int = 16,
        learning_rate: float = 2e-3,
        patience: int = 25,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = None,
        on_error: str = "skip",
        progress: Progress | None = None,
        n_jobs: int = 1,
        scheduler: str | None = None,
        preset: str = "default",
        representation: str | None = None,
        modulation_bins: int | None = None,
        neighbour_weight: float | None = None,
    ):
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        self.preset = preset
        # The preset only fills in what was not given, so SongMapper(**mapper.get_params()) is the same mapper.
        chosen = PRESETS[preset]
        crop_percentile = chosen["crop_percentile"] if crop_percentile is None else crop_percentile
        self.representation = chosen["representation"] if representation is None else representation
        self.modulation_bins = chosen["modulation_bins"] if modulation_bins is None else modulation_bins
        self.neighbour_weight = chosen["neighbour_weight"] if neighbour_weight is None else neighbour_weight
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.crop_percentile = crop_percentile
        self.min_crop_s = min_crop_s
        self.max_crop_s = max_crop_s
        self.time_bins = time_bins
        self.filters = tuple(filters)
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.seed = seed
        self.cache_dir = cache_dir
        self.on_error = on_error
        self.progress = progress
        self.n_jobs = n_jobs
        self.scheduler = scheduler

    # -- scikit-learn conventions -------------------------------------------------------------

    _PARAM_NAMES = (
        "sample_rate", "n_mels", "n_fft", "hop_length", "crop_percentile", "min_crop_s", "max_crop_s",
        "time_bins", "filters", "epochs", "batch_size", "learning_rate", "patience", "seed",
        "preset", "representation", "modulation_bins", "neighbour_weight",
    )

    # Settings of how and where to run, not of the map: never saved with the model.
    _RUNTIME_NAMES = ("cache_dir", "on_error", "progress", "n_jobs", "scheduler")

    def get_params(self, deep: bool = True) -> dict:
        """Parameters that define the map (not where caches live or how progress is shown)."""
        params = {name: getattr(self, name) for name in self._PARAM_NAMES}
        params["filters"] = list(self.filters)
        return params

    def set_params(self, **params) -> SongMapper:
        """Set parameters by name; unknown names raise ValueError."""
        for name, value in params.items():
            if name not in self._PARAM_NAMES and name not in self._RUNTIME_NAMES:
                raise ValueError(f"unknown parameter {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != _DEFAULTS.get(k)}
        return f"SongMapper({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # -- validation ---------------------------------------------------------------------------

    def _feature_params(self) -> FeatureParams:
        return FeatureParams(sample_rate=int(self.sample_rate), n_mels=int(self.n_mels), n_fft=int(self.n_fft), hop_length=int(self.hop_length))

    def _validate(self) -> None:
        if self.on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', got {self.on_error!r}")
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if int(self.time_bins) < 4:
            raise ValueError(f"time_bins must be at least 4, got {self.time_bins}")
        if self.representation not in REPRESENTATIONS:
            raise ValueError(f"representation must be one of {', '.join(REPRESENTATIONS)}, got {self.representation!r}")
        if int(self.modulation_bins) < 4:
            raise ValueError(f"modulation_bins must be at least 4, got {self.modulation_bins}")
        if not float(self.neighbour_weight) >= 0:
            raise ValueError(f"neighbour_weight must be 0 or more, got {self.neighbour_weight}")
        if int(self.n_jobs) < 1 and self.n_jobs != -1:
            raise ValueError(f"n_jobs must be -1 (all cores) or at least 1, got {self.n_jobs}")
        if int(self.batch_size) < 2:
            raise ValueError(f"batch_size must be at least 2, got {self.batch_size}")
        self._feature_params()  # validates rates and sizes
        crop_seconds([1.0], self.crop_percentile, self.min_crop_s, self.max_crop_s)

    def _check_fitted(self) -> None:
        if "weights_" not in self.__dict__:
            raise NotFittedError("this SongMapper is not fitted yet: call fit() or load() first")

    @property
    def model_(self):
        """The trained :class:`~songmap.model.ConvAutoencoder` (PyTorch), made from ``weights_`` on first use."""
        if "weights_" not in self.__dict__:
            raise AttributeError("model_: this SongMapper is not fitted yet")
        if self.__dict__.get("_model") is None:
            import torch

            from songmap.model import ConvAutoencoder

            model = ConvAutoencoder(**self.model_config_)
            model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.weights_.items()})
            self._model = model.eval()
        return self._model

    @property
    def training_(self):
        """:class:`~songmap.model.TrainingResult` of the fit (loss history, early stopping)."""
        if "_training" not in self.__dict__:
            raise AttributeError("training_: this SongMapper is not fitted yet")
        if isinstance(self._training, dict):  # as loaded; the class lives with PyTorch in songmap.model
            from songmap.model import TrainingResult

            t = self._training
            self._training = TrainingResult(list(t["losses"]), int(t["best_epoch"]), float(t["best_loss"]), bool(t["stopped_early"]))
        return self._training

    # -- features -----------------------------------------------------------------------------

    def _fail(self, path: Path, reason: str, skipped: list[tuple[Path, str]]) -> None:
        if self.on_error == "raise":
            raise ValueError(f"cannot map {str(path)!r}: {reason}")
        skipped.append((path, reason))

    def _durations(self, paths: Sequence[Path], skipped: list[tuple[Path, str]]) -> dict[int, float]:
        """Header durations of the decodable files (index -> seconds)."""
        durations: dict[int, float] = {}
        for i, path in enumerate(paths):
            try:
                info = probe(path)
            except DecodeError as exc:
                self._fail(path, str(exc), skipped)
                continue
            # 0 means the header does not say (some streams); decoding will tell whether it is empty.
            durations[i] = info.duration_s
        return durations

    def _track_inputs(
        self, paths: Sequence[Path], durations: dict[int, float], crop_s: float, skipped: list[tuple[Path, str]]
    ) -> _InputRows:
        """Each decodable file's model input: an :class:`_InputRows` (compacted) over ``paths``."""
        indices = list(durations)
        on_file = None
        if self.progress is not None and self.progress.on_file is not None:
            hooks = self.progress
            seconds = {paths[i]: durations[i] for i in indices}

            def on_file(done: int, total: int, path: Path) -> None:
                hooks.audio_seconds += seconds.get(path, 0.0)
                hooks.on_file(done, total, path)

        cache = FeatureCache(self.cache_dir) if self.cache_dir is not None else None
        jobs = (os.cpu_count() or 1) if self.n_jobs == -1 else int(self.n_jobs)
        store = _InputRows(len(paths), (int(self.n_mels), self.input_width), self.cache_dir)
        try:
            # Each spectrogram is reduced to its small model input as it arrives and written to
            # the store: memory does not grow by a spectrogram, nor even by an input, per track.
            _, failed = extract_collection(
                [paths[i] for i in indices], self._feature_params(), crop_s, cache, on_file, jobs=jobs,
                scheduler=self.scheduler,
                reduce=lambda k, f: store.put(indices[k], self._model_input(f, crop_s), f.duration_s),
            )
            for path, reason in failed:
                self._fail(path, reason, skipped)
            store.compact()
        except BaseException:
            store.close()
            raise
        return store

    @property
    def input_width(self) -> int:
        """Columns of the autoencoder's input image (time bins or modulation bins)."""
        return int(self.modulation_bins) if self.representation == "modulation" else int(self.time_bins)

    def _model_input(self, features: TrackFeatures, crop_s: float) -> np.ndarray:
        """Loop-pad/crop a spectrogram to the crop length, then pool time or take its
        modulation spectrum: ``(n_mels, input_width)``."""
        n_frames = frames_for_seconds(crop_s, self._feature_params())
        cropped = loop_pad_or_crop(features.log_mel, n_frames, axis=1)
        if self.representation == "modulation":
            return modulation_spectrum(cropped, int(self.modulation_bins))
        return pool_time(cropped, int(self.time_bins))

    def _normalise(self, inputs: np.ndarray) -> np.ndarray:
        return (inputs - self.band_mean_[None, :, None]) / self.band_std_[None, :, None]

    def _fit_normalisation(self, inputs: np.ndarray, block: int = 1024) -> None:
        """Set ``band_mean_`` and ``band_std_`` from ``inputs`` ``(n, n_mels, width)``, read
        ``block`` rows at a time (two passes; float64 sums)."""
        n, n_mels, width = inputs.shape
        total = np.zeros(n_mels)
        for start in range(0, n, block):
            total += inputs[start : start + block].sum(axis=(0, 2), dtype=np.float64)
        self.band_mean_ = (total / (n * width)).astype(np.float32)
        squares = np.zeros(n_mels)
        for start in range(0, n, block):
            centred = inputs[start : start + block] - self.band_mean_[None, :, None]
            squares += np.square(centred, dtype=np.float64).sum(axis=(0, 2))
        if self.representation == "modulation":
            # One spread for every band: scaling each band to unit variance would blow up the quiet
            # ones, where a noise bed under the music would then weigh as much as the music.
            spread = float(np.sqrt(squares.sum() / (n * n_mels * width)))
            self.band_std_ = np.full(n_mels, max(spread, 1e-3), dtype=np.float32)
        else:
            # A floor on the spread keeps bands that are silent in every track from blowing up.
            self.band_std_ = np.maximum(np.sqrt(squares / (n * width)), 1e-3).astype(np.float32)

    @staticmethod
    def _as_paths(paths) -> list[Path]:
        if isinstance(paths, (str, os.PathLike)):
            raise TypeError("expected a list of file paths, got a single path")
        return [Path(p) for p in paths]

    # -- estimator API ------------------------------------------------------------------------

    def fit(self, paths: Iterable[str | os.PathLike], y=None) -> SongMapper:
        """Decode the files, train the autoencoder and remember their coordinates.

        Parameters
        ----------
        paths : iterable of str or os.PathLike
            Audio files; at least two must be decodable.
        y : ignored

        Returns
        -------
        SongMapper
            ``self``.

        Raises
        ------
        ValueError
            Fewer than two decodable files, bad parameters, or (with
            ``on_error="raise"``) any undecodable file.
        """
        self._validate()
        paths = self._as_paths(paths)
        skipped: list[tuple[Path, str]] = []
        durations = self._durations(paths, skipped)
        if len(durations) < 2:
            raise ValueError(f"need at least 2 decodable audio files to make a map, found {len(durations)}")
        self.crop_seconds_ = crop_seconds(
            [d for d in durations.values() if d > 0], self.crop_percentile, self.min_crop_s, self.max_crop_s
        ) if any(d > 0 for d in durations.values()) else float(self.min_crop_s)
        with self._track_inputs(paths, durations, self.crop_seconds_, skipped) as store:
            if len(store.order) < 2:
                raise ValueError(f"need at least 2 decodable audio files to make a map, found {len(store.order)}")
            self._fit_normalisation(store.rows)
            from songmap.model import ConvAutoencoder, TrainingConfig, encode, seed_everything, train_autoencoder

            seed_everything(int(self.seed))
            model = ConvAutoencoder(int(self.n_mels), self.input_width, self.filters, latent_dim=2)
            config = TrainingConfig(
                epochs=_epoch_budget(int(self.epochs), len(store.order), int(self.batch_size)), batch_size=int(self.batch_size),
                learning_rate=float(self.learning_rate), patience=int(self.patience), seed=int(self.seed),
                neighbour_weight=float(self.neighbour_weight),
            )
            on_epoch = None
            if self.progress is not None and self.progress.on_epoch is not None:
                callback = self.progress.on_epoch
                on_epoch = lambda epoch, loss: callback(epoch, config.epochs, loss)  # noqa: E731
            started = time.perf_counter()
            with _deterministic_torch():
                self._training = train_autoencoder(model, store.rows, config, on_epoch, prepare=self._normalise)
                coords = encode(model, store.rows, prepare=self._normalise)
            # Training alone (features excluded), so `songmap compare` can set it next to PCA/t-SNE/UMAP.
            self.training_seconds_ = time.perf_counter() - started
            order, durations_s = store.order, store.durations[store.order]

        self._model = model
        self.model_config_ = model.config()
        self.weights_ = {name: value.detach().numpy().copy() for name, value in model.state_dict().items()}
        self.paths_ = paths
        self.skipped_ = skipped
        self.embedding_ = np.full((len(paths), 2), np.nan)
        self.embedding_[order] = coords
        self.durations_ = np.full(len(paths), np.nan)
        self.durations_[order] = durations_s
        return self

    def transform(self, paths: Iterable[str | os.PathLike], return_skipped: bool = False):
        """Place files on the fitted map without retraining.

        Parameters
        ----------
        paths : iterable of str or os.PathLike
            Audio files.
        return_skipped : bool
            Also return the files that could not be placed and why.

        Returns
        -------
        coords : np.ndarray
            ``(n, 2)``, one row per path; NaN rows for files that were skipped.
        skipped : list of (Path, str)
            Only when ``return_skipped`` is true.
        """
        self._check_fitted()
        paths = self._as_paths(paths)
        skipped: list[tuple[Path, str]] = []
        coords = np.full((len(paths), 2), np.nan)
        with self._track_inputs(paths, self._durations(paths, skipped), self.crop_seconds_, skipped) as store:
            if len(store.order):
                # The encoder in NumPy: no PyTorch import (about a second) to place a few songs.
                coords[store.order] = encode_numpy(self.weights_, store.rows, prepare=self._normalise)
        return (coords, skipped) if return_skipped else coords

    def features_for(self, paths: Iterable[str | os.PathLike]) -> np.ndarray:
        """The fitted map's reference space: each file's normalised model input, flattened.

        This is what the autoencoder reconstructs (``n_mels`` × ``input_width``
        values per track: time-pooled log-mel or modulation spectrum,
        normalised with the fit's statistics), and the space in which
        ``songmap compare`` runs PCA, t-SNE and UMAP and measures every map.

        Parameters
        ----------
        paths : iterable of str or os.PathLike
            Audio files (read through the feature cache when there is one).

        Returns
        -------
        np.ndarray
            ``(n, n_mels * input_width)`` float64; NaN rows for files that
            could not be decoded.
        """
        self._check_fitted()
        paths = self._as_paths(paths)
        skipped: list[tuple[Path, str]] = []
        out = np.full((len(paths), int(self.n_mels) * self.input_width), np.nan)
        with self._track_inputs(paths, self._durations(paths, skipped), self.crop_seconds_, skipped) as store:
            if len(store.order):
                out[store.order] = self._normalise(store.rows).reshape(len(store.order), -1)
        return out

    def fit_transform(self, paths: Iterable[str | os.PathLike], y=None) -> np.ndarray:
        """Fit and return the coordinates of ``paths``: ``(n, 2)``, NaN rows for skipped files."""
        return self.fit(paths).embedding_.copy()

    # -- persistence --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Save weights and everything needed to place new songs (parameters, crop, normalisation).

        The file is a `safetensors <https://huggingface.co/docs/safetensors>`_
        file, readable without PyTorch: tensors ``band_mean``, ``band_std`` and
        ``state.<name>`` for each entry of the model's ``state_dict``; its
        metadata ``"songmap"`` is a JSON object with ``format``,
        ``format_version``, ``songmap_version``, ``params``, ``feature_params``,
        ``crop_seconds``, ``model_config`` and ``training``. It is written to a
        temporary name and renamed.
        """
        from safetensors.numpy import save_file

        self._check_fitted()
        path = Path(path)
        # A loaded record stays a dict (turning it into a TrainingResult would import PyTorch).
        training = self._training if isinstance(self._training, dict) else asdict(self._training)
        header = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "songmap_version": __version__,
            "params": self.get_params(),
            "feature_params": asdict(self._feature_params()),
            "crop_seconds": float(self.crop_seconds_),
            "model_config": dict(self.model_config_),
            "training": {
                "losses": [float(x) for x in training["losses"]],
                "best_epoch": int(training["best_epoch"]),
                "best_loss": float(training["best_loss"]),
                "stopped_early": bool(training["stopped_early"]),
            },
        }
        tensors = {f"state.{name}": np.ascontiguousarray(value) for name, value in self.weights_.items()}
        tensors["band_mean"] = np.ascontiguousarray(self.band_mean_, dtype=np.float32)
        tensors["band_std"] = np.ascontiguousarray(self.band_std_, dtype=np.float32)
        tmp = path.with_name(f".{path.name}.tmp")
        save_file(tensors, str(tmp), metadata={"format": MODEL_FORMAT, "songmap": json.dumps(header)})
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs) -> SongMapper:
        """Load a mapper saved with :meth:`save` (or a ``model.pt`` of songmap before format 3).

        Parameters
        ----------
        path : str or os.PathLike
            ``model.safetensors`` file (or an older ``model.pt``).
        **kwargs
            Runtime settings to set on the loaded mapper (``cache_dir``, ``on_error``, ``progress``).

        Raises
        ------
        ValueError
            When the file is not a songmap model.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model file at {path}")
        with open(path, "rb") as f:
            is_torch_zip = f.read(4) == b"PK\x03\x04"
        state = _read_torch_model(path) if is_torch_zip else _read_model(path)
        if state.get("format_version", 0) > MODEL_FORMAT_VERSION:
            raise ValueError(f"{path} was saved by a newer songmap ({state.get('songmap_version')}); upgrade songmap")
        try:
            params = dict(state["params"])
            # Models saved before presets existed are the notebooks' model: pooled input, no neighbour term.
            params.setdefault("preset", "seed")
            mapper = cls(**params, **kwargs)
            mapper.crop_seconds_ = float(state["crop_seconds"])
            mapper.band_mean_ = np.asarray(state["band_mean"], dtype=np.float32)
            mapper.band_std_ = np.asarray(state["band_std"], dtype=np.float32)
            mapper.model_config_ = dict(state["model_config"])
            mapper.weights_ = dict(state["weights"])
            mapper._training = dict(state["training"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path} is not a complete songmap model ({exc.__class__.__name__}: {exc})") from None
        return mapper


def _read_model(path: Path) -> dict:
    """The contents of a format-3 model file (safetensors), without PyTorch."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            if metadata.get("format") != MODEL_FORMAT:
                raise ValueError(f"{path} is not a songmap model")
            state = json.loads(metadata["songmap"])
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable songmap model ({exc.__class__.__name__})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a complete songmap model (its header is not a JSON object)")
    state["band_mean"], state["band_std"] = tensors.get("band_mean"), tensors.get("band_std")
    state["weights"] = {name[len("state."):]: value for name, value in tensors.items() if name.startswith("state.")}
    return state


def _read_torch_model(path: Path) -> dict:
    """The contents of a ``model.pt`` written by songmap before format 3 (``torch.save``)."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable songmap model ({exc.__class__.__name__})") from None
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path} is not a songmap model")
    state = dict(state)
    state["weights"] = {name: value.numpy() for name, value in state.get("state_dict", {}).items()}
    for key in ("band_mean", "band_std"):
        if key in state:
            state[key] = state[key].numpy()
    return state


_DEFAULTS = SongMapper().get_params()


class _deterministic_torch:
    """Ask PyTorch for deterministic kernels while training/encoding, then restore the setting."""

    def __enter__(self):
        import torch

        self._previous = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)
        return self

    def __exit__(self, *exc):
        import torch

        torch.use_deterministic_algorithms(self._previous)
        return False
