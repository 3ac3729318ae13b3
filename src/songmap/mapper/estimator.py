"""SongMapper: a scikit-learn-style estimator from audio files to 2-D points.

>>> mapper = SongMapper(epochs=200, seed=0)                        # doctest: +SKIP
>>> xy = mapper.fit_transform(paths)        # (n, 2), one row per path
>>> mapper.save("model.safetensors")
>>> SongMapper.load("model.safetensors").transform(new_paths)   # placed on the same map, no retraining

PyTorch (:mod:`songmap.model.training`) is imported only where a model is
trained or asked for: ``import torch`` takes about a second, and placing songs
on a saved map does not need it (:mod:`songmap.model.numpy_encoder`).

Over 400 lines because it is one class, scikit-learn's estimator contract end to end, and its
numpy-style docstrings are most of it; the parts that are not the estimator live in ``inputs`` and
``persistence``.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from songmap.features.cache import FeatureCache
from songmap.features.parallel import iter_features
from songmap.features.shaping import REPRESENTATIONS, crop_seconds, model_input
from songmap.features.spectrogram import FeatureParams, frames_for_seconds
from songmap.features.tonal import PITCH_CLASSES
from songmap.features.windows import WindowSpec
from songmap.io.decode import probe
from songmap.io.decode_errors import DecodeError
from songmap.mapper.inputs import InputRows, block_normalisation, normalisation_statistics
from songmap.mapper.persistence import read_model, write_model
from songmap.model.numpy_encoder import encode_numpy

__all__ = ["SongMapper", "Progress", "NotFittedError", "PRESETS", "REPRESENTATIONS"]

#: Named configurations; a parameter given explicitly to :class:`SongMapper` wins over its preset.
#: "seed" is the notebooks' model, kept so the two can be compared (``songmap compare``,
#: BENCHMARKS.md "Map quality"); "default" is what measured best there, the same as "songwise":
#:
#: * ``representation="songwise"``: the whole track through up to ``max_windows`` windows of
#:   ``crop_percentile=100`` of the durations (capped by ``max_crop_s``), each window's modulation
#:   spectrum (loop-start-invariant, noise-bed-robust) with the key-invariant tonal view under it,
#:   the two views weighted alike (``tonal_weight=1``);
#: * ``neighbour_weight=1.0``: the t-SNE neighbour term next to the
#:   reconstruction error (:mod:`songmap.model.neighbours`);
#: * ``augment=2``: two copies of each track through random recording chains
#:   (:mod:`songmap.features.augment`), whose codes training pulls to the track's
#:   (``invariance_weight=0.5``), and whose 2 main directions of change are left out of the
#:   neighbour term's distances (``nuisance_dims=2``): lo-fi copies land by their song;
#: * ``filters=(8, 16, 32)``: half the encoder's channels of the other presets, 40 % less training time
#:   with no copy pair beyond rank 5 at seeds 0-5 (BENCHMARKS.md "Half the channels").
#:
#: "modulation" is the default before whole songs (each track's first crop, no tonal view).
#: Saved models keep the representation they were made with, whatever a preset now says.
PRESETS: dict[str, dict] = {
    "seed": {"representation": "pooled", "crop_percentile": 75.0, "modulation_bins": 16, "neighbour_weight": 0.0,
             "filters": [16, 32, 64]},
    "default": {"representation": "songwise", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 1.0,
                "tonal_weight": 1.0, "augment": 2, "invariance_weight": 0.5, "nuisance_dims": 2, "filters": [8, 16, 32]},
    # Each track's first crop (up to 30 s) as its modulation spectrum, no tonal view (the default until issue 11).
    "modulation": {"representation": "modulation", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 1.0,
                   "filters": [16, 32, 64]},
    # Whole songs (up to max_windows windows) and the tonal view beside the modulation spectrum (issue 11).
    "songwise": {"representation": "songwise", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 1.0,
                 "tonal_weight": 1.0, "augment": 2, "invariance_weight": 0.5, "nuisance_dims": 2, "filters": [8, 16, 32]},
}

# Settings of how and where to run, not of the map: never saved with the model.
_RUNTIME_PARAMS = frozenset({"cache_dir", "on_error", "progress", "n_jobs", "scheduler", "device"})

#: Values of ``SongMapper(device=...)``: "auto" trains on a CUDA GPU when PyTorch sees one.
DEVICES = ("auto", "cpu", "cuda")


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
#: The same for training with the neighbour term, whose steps take blocks of up to
#: ``TrainingConfig.neighbour_batch`` tracks (one step per epoch up to that many tracks). 60 steps
#: hold the fixture's and the copy benchmark's quality of 100 over seeds 0-5 (trustworthiness@10
#: 0.928-0.930 against 0.930, mean; the same one copy pair beyond rank 5; BENCHMARKS.md "Steps and
#: weights"); 50 missed three copy pairs.
MAX_NEIGHBOUR_STEPS = 60
#: ...but never fewer epochs than this: every track is seen several times.
MIN_EPOCHS = 8
#: With the neighbour term the decoder only regularises the map (the encoder alone places songs):
#: for a collection trained whole (up to ``TrainingConfig.neighbour_batch`` tracks) its channels are
#: the encoder's mirrored divided by this, at least 4 each ((16, 32, 64) -> (16, 8, 4, 4)), which
#: halves a step's cost at the same map quality (BENCHMARKS.md "Training speed (issue 12)"). Larger
#: collections, trained in blocks whose cost is the encoder's, keep the mirror (with the lighter one
#: 10 000 short tracks lost trustworthiness@10, 0.920 -> 0.890), and so does the plain autoencoder
#: ("seed"): reconstruction is all it learns.
DECODER_CHANNEL_DIVISOR = 4


def _decoder_filters(filters: Sequence[int], neighbour_term: bool, n_tracks: int) -> list[int] | None:
    """The decoder's channels for ``filters`` (None: the encoder's mirror, see ``DECODER_CHANNEL_DIVISOR``)."""
    from songmap.model.training import TrainingConfig

    if not neighbour_term or n_tracks > TrainingConfig.neighbour_batch:
        return None
    mirror = [int(f) for f in filters][::-1] + [int(filters[0])]
    return [max(4, f // DECODER_CHANNEL_DIVISOR) for f in mirror]


def _epoch_budget(epochs: int, n_tracks: int, batch_size: int, max_steps: int = MAX_TRAINING_STEPS) -> int:
    """Epochs to run: ``epochs``, cut so that at most about ``max_steps`` steps are taken."""
    steps_per_epoch = max(1, -(-n_tracks // batch_size))
    return max(1, min(epochs, max(MIN_EPOCHS, max_steps // steps_per_epoch)))


def _torch_device(device: str) -> str:
    """The torch device of ``SongMapper(device=...)``: "auto" is "cuda" when PyTorch sees a GPU, else "cpu"."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU (use device 'auto' or 'cpu')")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        # Deterministic cuBLAS (torch.use_deterministic_algorithms) needs this before its first use.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return device


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
    preset : {"default", "songwise", "modulation", "seed"}
        Named configuration that fills in ``representation``, ``crop_percentile``,
        ``modulation_bins`` and ``neighbour_weight`` where they are None
        (see :data:`PRESETS`), when :meth:`fit` runs: "seed" is the notebooks'
        plain autoencoder on time-pooled spectrograms, "default" the measured
        improvement (whole songs, "songwise"), "modulation" the default before it.
    representation : {"pooled", "modulation", "songwise"}, optional
        What the autoencoder reads per track: the log-mel spectrogram averaged
        into ``time_bins`` columns, or each band's modulation spectrum in
        ``modulation_bins`` columns. Either way a ``(n_mels, columns)`` image,
        centred per band over the collection and scaled per band (pooled) or
        by one spread for all bands (modulation, so quiet bands stay quiet).
        "songwise" (presets "default" and "songwise") reads the whole track through up to
        ``max_windows`` windows and stacks the tonal view under the modulation
        spectrum: a ``(n_mels + 12, modulation_bins)`` image, the mean of the
        windows' images (:mod:`songmap.features.windows`), each view scaled to
        its share of the total variance (``tonal_weight``).
    modulation_bins : int, optional
        Columns of the modulation representation.
    neighbour_weight : float, optional
        Weight of the t-SNE neighbour term in the training loss (0 = plain autoencoder).
    max_windows : int
        Most windows (of the crop length each, evenly spread) per track, for "songwise".
    tonal_weight : float, optional
        Total variance of the tonal view relative to the modulation spectrum's, for
        "songwise" (1: equal weight; see :func:`songmap.mapper.inputs.block_normalisation`).
    augment : int, optional
        For "songwise": augmented copies of each track, the same windows heard
        through random recording chains (band limits, EQ tilt, noise, a codec's
        losses; :mod:`songmap.features.augment`), whose codes training pulls to
        the track's own (needs ``neighbour_weight > 0``); 0 or None: none. Only
        fitting computes them; placing songs reads no copies.
    invariance_weight : float, optional
        Weight of that invariance term (see :class:`songmap.model.training.TrainingConfig`).
    nuisance_dims : int, optional
        With ``augment``: main directions of the copies' changes left out of the
        distances the neighbour term keeps (:class:`songmap.model.training.TrainingConfig`), 0 or None: none.
    crop_percentile : float, optional
        Tracks are loop-padded or cropped to this percentile of the durations...
    min_crop_s, max_crop_s : float
        ...clamped to this range (seconds).
    time_bins : int
        Columns the cropped spectrogram's time axis is averaged into.
    filters : sequence of int, optional
        Channels of the encoder's convolutions (the decoder mirrors them);
        default: the preset's, (8, 16, 32) for "default"/"songwise" and
        (16, 32, 64) for "seed"/"modulation".
    epochs : int
        Training epochs. The plain autoencoder (``neighbour_weight=0``) stops
        earlier when its loss stops improving; with the neighbour term an
        epoch is one step over the whole collection (blocks of 512 tracks
        for larger ones) and all epochs run, on a cosine step-size schedule.
    batch_size, learning_rate, patience : int, float, int
        Training settings, see :class:`songmap.model.training.TrainingConfig`.
    seed : int
        Makes training repeatable.
    cache_dir : str or os.PathLike, optional
        Folder for the feature cache; None computes features in memory only.
    on_error : {"skip", "raise"}
        What to do with a file that cannot be decoded: leave it out (its row
        of coordinates is NaN and the reason is reported), or raise ValueError.
    progress : Progress, optional
        Callbacks for progress bars while :meth:`fit` runs.
    n_jobs : int
        Processes that extract features in parallel (-1: one per core).
    scheduler : str, optional
        Send feature extraction to Dask instead: ``"local"`` or a scheduler
        address such as ``"tcp://10.0.0.5:8786"`` (workers must share the cache folder).
    device : {"auto", "cpu", "cuda"}
        Where the autoencoder is trained: "auto" on a CUDA GPU when PyTorch
        sees one, else on the CPU. A setting of how to run, not saved with the model.

    All parameters are keyword-only and stored as given; they are checked and
    the preset is resolved in :meth:`fit`, as in scikit-learn.

    Attributes
    ----------
    params_ : dict
        The parameters the map was made with, the preset resolved (JSON-able;
        saved with the model and in ``embeddings.json``).
    representation_ : str
        The resolved ``representation``.
    crop_seconds_ : float
        Crop length chosen at fit time.
    band_mean_, band_std_ : np.ndarray
        Per-mel-band normalisation learned at fit time.
    model_ : ConvAutoencoder
        The trained autoencoder (PyTorch; made from ``weights_`` when first used).
    weights_ : dict of str to np.ndarray
        The autoencoder's ``state_dict`` as arrays; :meth:`transform` runs the
        encoder on them in NumPy (:mod:`songmap.model.numpy_encoder`), without PyTorch.
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
        *,
        sample_rate: int = 22050,
        n_mels: int = 128,
        n_fft: int = 2048,
        hop_length: int = 512,
        crop_percentile: float | None = None,
        min_crop_s: float = 1.0,
        max_crop_s: float = 30.0,
        time_bins: int = 64,
        filters: Sequence[int] | None = None,
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
        max_windows: int = 8,
        tonal_weight: float | None = None,
        augment: int | None = None,
        invariance_weight: float | None = None,
        nuisance_dims: int | None = None,
        device: str = "auto",
    ):
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.crop_percentile = crop_percentile
        self.min_crop_s = min_crop_s
        self.max_crop_s = max_crop_s
        self.time_bins = time_bins
        self.filters = filters
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
        self.preset = preset
        self.representation = representation
        self.modulation_bins = modulation_bins
        self.neighbour_weight = neighbour_weight
        self.max_windows = max_windows
        self.tonal_weight = tonal_weight
        self.augment = augment
        self.invariance_weight = invariance_weight
        self.nuisance_dims = nuisance_dims
        self.device = device

    # -- scikit-learn conventions -------------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p.name for p in inspect.signature(cls.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self, deep: bool = True) -> dict:
        """Every constructor parameter by name, as stored (scikit-learn's contract)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> SongMapper:
        """Set parameters by name; unknown names raise ValueError."""
        names = self._param_names()
        for name, value in params.items():
            if name not in names:
                raise ValueError(f"unknown parameter {name!r} for SongMapper (parameters: {', '.join(names)})")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = {k: v for k, v in self.get_params().items() if not _same(v, defaults.get(k))}
        return f"SongMapper({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def _resolved(self) -> dict:
        """The map-defining parameters with the preset filled in where a parameter is None (JSON-able)."""
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        params = {k: v for k, v in self.get_params().items() if k not in _RUNTIME_PARAMS}
        for name, value in PRESETS[self.preset].items():
            if params[name] is None:
                params[name] = value
        params["filters"] = [int(f) for f in params["filters"]]
        return params

    # -- validation ---------------------------------------------------------------------------

    def _feature_params(self) -> FeatureParams:
        return FeatureParams(sample_rate=int(self.sample_rate), n_mels=int(self.n_mels), n_fft=int(self.n_fft), hop_length=int(self.hop_length))

    def _validate(self) -> dict:
        """Check every parameter; returns them with the preset resolved (see :meth:`_resolved`)."""
        r = self._resolved()
        if self.on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', got {self.on_error!r}")
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if int(self.time_bins) < 4:
            raise ValueError(f"time_bins must be at least 4, got {self.time_bins}")
        if r["representation"] not in REPRESENTATIONS:
            raise ValueError(f"representation must be one of {', '.join(REPRESENTATIONS)}, got {r['representation']!r}")
        if int(r["modulation_bins"]) < 4:
            raise ValueError(f"modulation_bins must be at least 4, got {r['modulation_bins']}")
        if r.get("tonal_weight") is not None and not float(r["tonal_weight"]) > 0:
            raise ValueError(f"tonal_weight must be more than 0, got {r['tonal_weight']}")
        if int(self.max_windows) < 1:
            raise ValueError(f"max_windows must be at least 1, got {self.max_windows}")
        if int(r.get("augment") or 0) < 0:
            raise ValueError(f"augment must be 0 or more copies, got {r['augment']}")
        if not float(r.get("invariance_weight") or 0.0) >= 0:
            raise ValueError(f"invariance_weight must be 0 or more, got {r['invariance_weight']}")
        if int(r.get("nuisance_dims") or 0) < 0:
            raise ValueError(f"nuisance_dims must be 0 or more, got {r['nuisance_dims']}")
        if int(r.get("augment") or 0) > 0 and (r["representation"] != "songwise" or not float(r["neighbour_weight"]) > 0):
            raise ValueError("augment needs the 'songwise' representation and neighbour_weight above 0")
        if not float(r["neighbour_weight"]) >= 0:
            raise ValueError(f"neighbour_weight must be 0 or more, got {r['neighbour_weight']}")
        if int(self.n_jobs) < 1 and self.n_jobs != -1:
            raise ValueError(f"n_jobs must be -1 (all cores) or at least 1, got {self.n_jobs}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if int(self.batch_size) < 2:
            raise ValueError(f"batch_size must be at least 2, got {self.batch_size}")
        self._feature_params()  # validates rates and sizes
        crop_seconds([1.0], r["crop_percentile"], self.min_crop_s, self.max_crop_s)
        filters = tuple(int(f) for f in r["filters"])
        if not filters or any(f < 1 for f in filters):
            raise ValueError(f"filters must be one or more positive channel counts, got {self.filters!r}")
        return r

    def _check_fitted(self) -> None:
        if "weights_" not in self.__dict__:
            raise NotFittedError("this SongMapper is not fitted yet: call fit() or load() first")

    @property
    def model_(self):
        """The trained :class:`~songmap.model.autoencoder.ConvAutoencoder` (PyTorch), made from ``weights_`` on first use."""
        if "weights_" not in self.__dict__:
            raise AttributeError("model_: this SongMapper is not fitted yet")
        if self.__dict__.get("_model") is None:
            import torch

            from songmap.model.autoencoder import ConvAutoencoder

            model = ConvAutoencoder(**self.model_config_)
            model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.weights_.items()})
            self._model = model.eval()
        return self._model

    @property
    def training_(self):
        """:class:`~songmap.model.TrainingResult` of the fit (loss history, early stopping)."""
        if "_training" not in self.__dict__:
            raise AttributeError("training_: this SongMapper is not fitted yet")
        if isinstance(self._training, dict):  # as loaded; the class lives with PyTorch in songmap.model.training
            from songmap.model.training import TrainingResult

            t = self._training
            self._training = TrainingResult(list(t["losses"]), int(t["best_epoch"]), float(t["best_loss"]), bool(t["stopped_early"]))
        return self._training

    # -- features ---------------------------------------------------------------------------

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
        self,
        paths: Sequence[Path],
        durations: dict[int, float],
        skipped: list[tuple[Path, str]],
        progress: Progress | None = None,
        augmented: InputRows | None = None,
    ) -> InputRows:
        """Each decodable file's model input: an :class:`InputRows` (compacted) over ``paths``.

        Each spectrogram is reduced to its small model input as it arrives and written to
        the rows: memory does not grow by a spectrogram, nor even by an input, per track.
        With ``augmented`` (rows of ``(augment, height, width)``), each track's augmented
        copies are written there too, compacted to the same order.
        """
        indices = list(durations)
        params = self._feature_params()
        n_frames = frames_for_seconds(self.crop_seconds_, params)
        cache = FeatureCache(self.cache_dir) if self.cache_dir is not None else None
        jobs = (os.cpu_count() or 1) if self.n_jobs == -1 else int(self.n_jobs)
        store = InputRows(len(paths), (self.input_height, self.input_width), self.cache_dir)
        try:
            results = iter_features(
                [paths[i] for i in indices], params, self.crop_seconds_, cache=cache, jobs=jobs, scheduler=self.scheduler,
                windows=self._window_spec(augment=augmented is not None),
            )
            failed = {}
            for done, (k, features, reason) in enumerate(results, start=1):
                row = indices[k]
                if features is None:
                    failed[row] = reason
                elif self.representation_ == "songwise":  # the mean of the track's window images
                    values = features.summary()
                else:
                    values = model_input(features.log_mel, n_frames=n_frames, representation=self.representation_,
                                         width=self.input_width)
                if features is not None:
                    store.put(row, values, features.duration_s)
                    if augmented is not None:
                        augmented.put(row, features.augmented, features.duration_s)
                if progress is not None:
                    progress.audio_seconds += durations[row]
                    if progress.on_file is not None:
                        progress.on_file(done, len(indices), paths[row])
            for row in sorted(failed):
                self._fail(paths[row], failed[row], skipped)
            store.compact()
            if augmented is not None:
                augmented.compact()
        except BaseException:
            store.close()
            raise
        return store

    @property
    def representation_(self) -> str:
        """The representation the map was made with (``params_["representation"]``), once :meth:`fit` has begun."""
        if "params_" not in self.__dict__:
            raise NotFittedError("this SongMapper is not fitted yet: call fit() or load() first")
        return self.params_["representation"]

    @property
    def input_width(self) -> int:
        """Columns of the autoencoder's input image (time bins or modulation bins) of the fitted map."""
        width = "time_bins" if self.representation_ == "pooled" else "modulation_bins"
        return int(self.params_[width])

    @property
    def input_height(self) -> int:
        """Rows of the autoencoder's input image: the mel bands, and for "songwise" the tonal block's 12 under them."""
        return int(self.n_mels) + (PITCH_CLASSES if self.representation_ == "songwise" else 0)

    @property
    def augment_(self) -> int:
        """Augmented copies per track the map was trained with (0 for maps made before augmentation)."""
        return int(self.params_.get("augment") or 0)

    def _window_spec(self, augment: bool = False) -> WindowSpec | None:
        """Which windows of each track the "songwise" representation reads (None for the others);
        with ``augment``, also the augmented copies training reads."""
        if self.representation_ != "songwise":
            return None
        return WindowSpec(window_s=float(self.crop_seconds_), max_windows=int(self.max_windows), n_bins=self.input_width,
                          augment=self.augment_ if augment else 0, augment_seed=int(self.seed) if augment else 0)

    @property
    def reference_space_name(self) -> str:
        """Human description of :meth:`features_for`'s space, stored next to quality figures."""
        if self.representation_ == "songwise":
            return (f"whole-song modulation spectra ({self.n_mels} mel bands) and tonal view ({PITCH_CLASSES} rows) x "
                    f"{self.input_width} bins, mean of up to {int(self.max_windows)} windows, each view centred per row "
                    "and scaled to equal total variance, flattened")
        if self.representation_ == "modulation":
            return (f"modulation spectra ({self.n_mels} mel bands x {self.input_width} modulation bins), "
                    "centred per band, one scale, flattened")
        return (f"time-pooled log-mel ({self.n_mels} mel bands x {self.input_width} time bins), "
                "standardised per band, flattened")

    def _normalise(self, inputs: np.ndarray) -> np.ndarray:
        return (inputs - self.band_mean_[None, :, None]) / self.band_std_[None, :, None]

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
        self.params_ = self._validate()
        paths = self._as_paths(paths)
        device = _torch_device(self.device)  # before the features: a missing GPU is said at once
        skipped: list[tuple[Path, str]] = []
        durations = self._durations(paths, skipped)
        if len(durations) < 2:
            raise ValueError(f"need at least 2 decodable audio files to make a map, found {len(durations)}")
        self.crop_seconds_ = crop_seconds(
            [d for d in durations.values() if d > 0], self.params_["crop_percentile"], self.min_crop_s, self.max_crop_s
        ) if any(d > 0 for d in durations.values()) else float(self.min_crop_s)
        copies = None
        if self.augment_ > 0:
            copies = InputRows(len(paths), (self.augment_, self.input_height, self.input_width), self.cache_dir)
        with self._track_inputs(paths, durations, skipped, progress=self.progress, augmented=copies) as store:
            if len(store.order) < 2:
                raise ValueError(f"need at least 2 decodable audio files to make a map, found {len(store.order)}")
            if self.representation_ == "songwise":  # two views, each with the same total variance
                weight = 1.0 if self.params_.get("tonal_weight") is None else float(self.params_["tonal_weight"])
                self.band_mean_, self.band_std_ = block_normalisation(
                    store.rows, blocks=[int(self.n_mels), PITCH_CLASSES], weights=[1.0, weight]
                )
            else:  # modulation spectra get one spread for all bands (see normalisation_statistics)
                self.band_mean_, self.band_std_ = normalisation_statistics(
                    store.rows, one_scale=self.representation_ == "modulation"
                )
            from songmap.model.autoencoder import ConvAutoencoder
            from songmap.model.training import TrainingConfig, encode, seed_everything, train_autoencoder

            seed_everything(int(self.seed))
            filters = tuple(int(f) for f in self.params_["filters"])
            model = ConvAutoencoder(self.input_height, self.input_width, filters, latent_dim=2,
                                    decoder_filters=_decoder_filters(filters, float(self.params_["neighbour_weight"]) > 0,
                                                                    len(store.order)))
            config = TrainingConfig(
                batch_size=int(self.batch_size), learning_rate=float(self.learning_rate), patience=int(self.patience),
                seed=int(self.seed), neighbour_weight=float(self.params_["neighbour_weight"]),
                invariance_weight=float(self.params_.get("invariance_weight") or 0.0) if copies is not None else 0.0,
                nuisance_dims=int(self.params_.get("nuisance_dims") or 0) if copies is not None else 0,
            )
            if config.neighbour_weight > 0:  # steps of neighbour_batch tracks (see train_autoencoder)
                config.epochs = _epoch_budget(int(self.epochs), len(store.order), config.neighbour_batch, MAX_NEIGHBOUR_STEPS)
            else:
                config.epochs = _epoch_budget(int(self.epochs), len(store.order), int(self.batch_size))
            on_epoch = None
            if self.progress is not None and self.progress.on_epoch is not None:
                callback = self.progress.on_epoch
                on_epoch = lambda epoch, loss: callback(epoch, config.epochs, loss)  # noqa: E731
            started = time.perf_counter()
            with _deterministic_torch():
                self._training = train_autoencoder(model, store.rows, config, on_epoch, prepare=self._normalise,
                                                   device=device, augmented=None if copies is None else copies.rows)
                coords = encode(model, store.rows, prepare=self._normalise)
            # Training alone (features excluded), so `songmap compare` can set it next to PCA/t-SNE/UMAP.
            self.training_seconds_ = time.perf_counter() - started
            order, durations_s = store.order, store.durations[store.order]
        if copies is not None:
            copies.close()

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
        with self._track_inputs(paths, self._durations(paths, skipped), skipped) as store:
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
        out = np.full((len(paths), self.input_height * self.input_width), np.nan)
        with self._track_inputs(paths, self._durations(paths, skipped), skipped) as store:
            if len(store.order):
                out[store.order] = self._normalise(store.rows).reshape(len(store.order), -1)
        return out

    def transform_windows(self, paths: Iterable[str | os.PathLike]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Place each window of each file on the fitted map: the track's path through the song.

        Only for the "songwise" representation, whose per-window images are
        kept in the feature cache (:mod:`songmap.features.windows`): each is
        normalised as the track inputs are and placed by the encoder (in NumPy).

        Parameters
        ----------
        paths : iterable of str or os.PathLike
            Audio files.

        Returns
        -------
        list
            Per path, ``(starts, coords)``: window starts in seconds ``(w,)`` and
            their map coordinates ``(w, 2)``, silent windows left out; None for
            files that could not be decoded.
        """
        self._check_fitted()
        if self.representation_ != "songwise":
            raise ValueError(f"windows are placed only on 'songwise' maps; this one reads {self.representation_!r}")
        paths = self._as_paths(paths)
        cache = FeatureCache(self.cache_dir) if self.cache_dir is not None else None
        out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(paths)
        results = iter_features(paths, self._feature_params(), self.crop_seconds_, cache=cache, jobs=1, windows=self._window_spec())
        for k, features, _reason in results:
            if features is not None:
                images = features.images[features.used]
                out[k] = (features.starts[features.used], encode_numpy(self.weights_, images, prepare=self._normalise))
        return out

    def fit_transform(self, paths: Iterable[str | os.PathLike], y=None) -> np.ndarray:
        """Fit and return the coordinates of ``paths``: ``(n, 2)``, NaN rows for skipped files."""
        return self.fit(paths).embedding_.copy()

    # -- persistence --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Save weights and everything needed to place new songs (parameters, crop, normalisation).

        The format is described in :mod:`songmap.mapper.persistence`; the file
        is written to a temporary name and renamed.
        """
        self._check_fitted()
        # A loaded record stays a dict (turning it into a TrainingResult would import PyTorch).
        training = self._training if isinstance(self._training, dict) else asdict(self._training)
        header = {
            "params": self.params_,
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
        tensors = {f"state.{name}": value for name, value in self.weights_.items()}
        tensors["band_mean"] = np.asarray(self.band_mean_, dtype=np.float32)
        tensors["band_std"] = np.asarray(self.band_std_, dtype=np.float32)
        write_model(path, header, tensors)

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
        state = read_model(path)
        try:
            params = dict(state["params"])
            # Models saved before presets existed are the notebooks' model: pooled input, no neighbour term.
            params.setdefault("preset", "seed")
            # Models saved before augmented training were trained without copies.
            params.setdefault("augment", 0)
            params.setdefault("invariance_weight", 0.0)
            params.setdefault("nuisance_dims", 0)
            mapper = cls(**params, **kwargs)
            mapper.params_ = mapper._resolved()
            mapper.crop_seconds_ = float(state["crop_seconds"])
            mapper.band_mean_ = np.asarray(state["band_mean"], dtype=np.float32)
            mapper.band_std_ = np.asarray(state["band_std"], dtype=np.float32)
            mapper.model_config_ = dict(state["model_config"])
            mapper.weights_ = dict(state["weights"])
            mapper._training = dict(state["training"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path} is not a complete songmap model ({exc.__class__.__name__}: {exc})") from None
        return mapper


def _same(a, b) -> bool:
    """Equal parameter values, comparing sequences by their items ((16, 32) == [16, 32])."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b


class _deterministic_torch:
    """Ask PyTorch for deterministic kernels while training/encoding, then restore the setting."""

    def __enter__(self):
        import torch

        self._previous = torch.are_deterministic_algorithms_enabled()
        _set_deterministic(torch, True)
        return self

    def __exit__(self, *exc):
        import torch

        _set_deterministic(torch, self._previous)
        return False


def _set_deterministic(torch, mode: bool) -> None:
    """``torch.use_deterministic_algorithms(mode)``, without its import of ``torch._inductor`` (1-2 s of a
    `songmap map`) when nothing has imported it: that import only sets the compiler's flag, and eager
    training compiles nothing."""
    import sys

    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(mode)
    else:
        torch._C._set_deterministic_algorithms(mode)
