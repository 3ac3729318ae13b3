"""SongMapper: a scikit-learn estimator from audio files to 2-D points.

>>> mapper = SongMapper(epochs=200, seed=0)                        # doctest: +SKIP
>>> xy = mapper.fit_transform(paths)        # (n, 2), one row per path
>>> mapper.save("model.safetensors")
>>> SongMapper.load("model.safetensors").transform(new_paths)   # placed on the same map, no retraining

PyTorch (:mod:`songmap.model`) is imported only where a model is trained or asked for: ``import torch``
takes about a second, and placing songs on a saved map does not need it (:mod:`songmap.model.numpy_encoder`).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from songmap.features.augment import NUISANCE_TRACKS, copied_tracks
from songmap.features.shaping import crop_seconds
from songmap.mapper.fitted import FittedMap, incomplete_model
from songmap.mapper.inputs import (
    InputRows,
    input_normalisation,
    probe_durations,
)
from songmap.mapper.parameters import PARAMETER_CONSTRAINTS, check_resolved
from songmap.mapper.persistence import read_model
from songmap.mapper.presets import resolve_preset
from songmap.mapper.progress import Progress

__all__ = ["SongMapper"]

class SongMapper(FittedMap, BaseEstimator):
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
        Named configuration (:data:`~songmap.mapper.parameters.PRESETS`) that fills in the parameters
        left None when :meth:`fit` runs: "seed" is the notebooks' plain autoencoder on time-pooled
        spectrograms, "default" (= "songwise") the measured best, "modulation" each track's start.
    representation : {"pooled", "modulation", "songwise"}, optional
        What the autoencoder reads per track: the log-mel spectrogram averaged into
        ``time_bins`` columns, or each band's modulation spectrum in ``modulation_bins``
        columns, a ``(n_mels, columns)`` image (normalised as
        :func:`~songmap.mapper.inputs.input_normalisation` says); "songwise" reads the
        whole track through up to ``max_windows`` windows, the mean of their modulation
        spectra with the tonal view under it, ``(n_mels + 12, modulation_bins)``
        (:mod:`songmap.features.windows`).
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
        For "songwise": augmented copies of each track, the same windows heard through random
        recording chains (band limits, EQ tilt, noise, a codec's losses; :mod:`songmap.features.augment`),
        for ``nuisance_dims`` and ``invariance_weight`` (both need ``neighbour_weight > 0``); 0 or None:
        none. Only fitting computes them, and without ``invariance_weight`` only for up to
        :data:`~songmap.features.augment.NUISANCE_TRACKS` evenly spaced tracks.
    invariance_weight : float, optional
        Weight of a term that pulls the copies' codes to their track's (see
        :class:`songmap.model.training.TrainingConfig`); the default preset's is 0.
    nuisance_dims : int, optional
        With ``augment``: main directions of the copies' changes shrunk, by their Wiener gain, in the
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
        Training epochs, at most (:func:`~songmap.model.training.epoch_budget`). The plain autoencoder
        stops earlier when its loss stops improving; with the neighbour term an epoch is one step over
        the collection (blocks of 512 tracks above 2048), at most 300, and training anneals and stops
        once the loss stops improving by 2 % over 10 steps.
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

    All parameters are keyword-only and stored as given; they are checked
    (``_parameter_constraints``) and the preset is resolved in :meth:`fit`, as
    in scikit-learn, whose ``BaseEstimator`` gives ``get_params``,
    ``set_params`` and the ``repr``.

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
    damaged_ : dict of int to str
        Fitted paths (by index) that were damaged but decoded in part, with what was damaged.
    """

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        *,
        sample_rate: int = 22050, n_mels: int = 128, n_fft: int = 2048, hop_length: int = 512,
        crop_percentile: float | None = None, min_crop_s: float = 1.0, max_crop_s: float = 30.0, time_bins: int = 64,
        filters: Sequence[int] | None = None, epochs: int = 300, batch_size: int = 16, learning_rate: float = 2e-3,
        patience: int = 25, seed: int = 0,
        cache_dir: str | os.PathLike | None = None, on_error: str = "skip", progress: Progress | None = None, n_jobs: int = 1,
        scheduler: str | None = None,
        preset: str = "default", representation: str | None = None, modulation_bins: int | None = None,
        neighbour_weight: float | None = None, max_windows: int = 8, tonal_weight: float | None = None,
        augment: int | None = None, invariance_weight: float | None = None, nuisance_dims: int | None = None,
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

    def _resolved(self) -> dict:
        """The map-defining parameters, preset resolved (:func:`~songmap.mapper.parameters.resolve_preset`), in the
        signature's order, which ``embeddings.json`` and model files keep (``get_params`` sorts them by name)."""
        params = self.get_params(deep=False)
        return resolve_preset({name: params[name] for name in inspect.signature(type(self).__init__).parameters if name in params})

    def _checked_params(self) -> dict:
        """Check every parameter (:data:`~songmap.mapper.parameters.PARAMETER_CONSTRAINTS`); the resolved ones."""
        self._validate_params()
        params = self._resolved()
        check_resolved(params)
        return params

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
        from songmap.model.device import torch_device

        self.params_ = self._checked_params()
        paths = self._as_paths(paths)
        device = torch_device(self.device)  # before the features: a missing GPU is said at once
        skipped: list[tuple[Path, str]] = []
        durations = probe_durations(paths, on_error=self.on_error, skipped=skipped)
        if len(durations) < 2:
            raise ValueError(f"need at least 2 decodable audio files to make a map, found {len(durations)}")
        self.crop_seconds_ = crop_seconds(
            [d for d in durations.values() if d > 0], self.params_["crop_percentile"], self.min_crop_s, self.max_crop_s
        ) if any(d > 0 for d in durations.values()) else float(self.min_crop_s)
        copies, copied = None, None
        pull = float(self.params_.get("invariance_weight") or 0.0)
        if self.augment_ > 0:
            # The pull encodes every track's copies; the nuisance directions need a few hundred tracks'.
            candidates = np.array(sorted(durations), dtype=np.int64)
            copied = candidates[copied_tracks(len(candidates), limit=None if pull > 0 else NUISANCE_TRACKS)]
            copies = InputRows(len(copied), (self.augment_, self.input_height, self.input_width), self.cache_dir)
        with self._track_inputs(paths, durations, skipped, progress=self.progress, augmented=copies, copied=copied) as store:
            if len(store.order) < 2:
                raise ValueError(f"need at least 2 decodable audio files to make a map, found {len(store.order)}")
            self.band_mean_, self.band_std_ = input_normalisation(
                store.rows, representation=self.representation_, n_mels=int(self.n_mels), tonal_weight=self.params_.get("tonal_weight")
            )
            from songmap.model.training import TrainingConfig, fit_autoencoder

            config = TrainingConfig(
                batch_size=int(self.batch_size), learning_rate=float(self.learning_rate), patience=int(self.patience),
                seed=int(self.seed), neighbour_weight=float(self.params_["neighbour_weight"]),
                invariance_weight=pull if copies is not None else 0.0,
                nuisance_dims=int(self.params_.get("nuisance_dims") or 0) if copies is not None else 0,
            )
            # Training alone (features excluded), so `songmap compare` can set it next to PCA/t-SNE/UMAP.
            model, self._training, coords, self.training_seconds_ = fit_autoencoder(
                store.rows, filters=self.params_["filters"], epochs=int(self.epochs), config=config, device=device,
                prepare=self._normalise, augmented=None if copies is None else copies.rows,
                augmented_rows=None if copies is None else np.searchsorted(store.order, copied[copies.order]),
                on_epoch=self.progress.on_epoch if self.progress is not None else None,
            )
            order, durations_s, damaged = store.order, store.durations[store.order], dict(store.damage)
        if copies is not None:
            copies.close()

        self._model = model
        self.model_config_ = model.config()
        self.weights_ = model.arrays()
        self.paths_ = paths
        self.skipped_ = skipped
        self.embedding_ = np.full((len(paths), 2), np.nan)
        self.embedding_[order] = coords
        self.durations_ = np.full(len(paths), np.nan)
        self.durations_[order] = durations_s
        self.damaged_ = damaged
        return self

    def fit_transform(self, paths: Iterable[str | os.PathLike], y=None) -> np.ndarray:
        """Fit and return the coordinates of ``paths``: ``(n, 2)``, NaN rows for skipped files."""
        return self.fit(paths).embedding_.copy()

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
            mapper = cls(**dict(state["params"]), **kwargs)
            mapper._restore(state, mapper._resolved())
        except (KeyError, TypeError, ValueError) as exc:
            raise incomplete_model(path, exc) from None
        return mapper
