"""A fitted map without its estimator: what places songs on a saved map, with no scikit-learn or PyTorch import.

:class:`~songmap.mapper.SongMapper` is a :class:`FittedMap` once it is fitted or loaded; ``songmap embed``
loads only a :class:`FittedMap` (:meth:`FittedMap.load`), because importing scikit-learn's ``BaseEstimator``
takes about a second, longer than placing a 3-minute song.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from songmap.features.spectrogram import FeatureParams
from songmap.features.tonal import PITCH_CLASSES
from songmap.features.windows import WindowSpec
from songmap.mapper.inputs import InputRows, collect_inputs, collect_windows, describe_inputs, probe_durations
from songmap.mapper.persistence import read_model, write_model
from songmap.mapper.presets import RUNTIME_DEFAULTS, RUNTIME_PARAMS, resolve_preset
from songmap.mapper.progress import Progress
from songmap.model.numpy_encoder import encode_numpy

__all__ = ["FittedMap", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """A map that is not fitted yet was asked to place songs (scikit-learn's exception of the same name and bases)."""


def incomplete_model(path: str | os.PathLike, exc: Exception) -> ValueError:
    """The error for a model file that lacks what a map needs, or holds it in the wrong shape."""
    return ValueError(f"{path} is not a complete songmap model ({exc.__class__.__name__}: {exc})")


class FittedMap:
    """The saved state of a fitted map and what it does without training: place songs, read their features, save.

    Its attributes are :class:`~songmap.mapper.SongMapper`'s fitted ones (``params_``, ``crop_seconds_``,
    ``band_mean_``, ``band_std_``, ``model_config_``, ``weights_``) beside the map's parameters.
    """

    @classmethod
    def load(cls, path: str | os.PathLike, **runtime) -> FittedMap:
        """Load a map saved with :meth:`save` (or a ``model.pt`` of songmap before format 3) to place songs.

        Parameters
        ----------
        path : str or os.PathLike
            ``model.safetensors`` file (or an older ``model.pt``).
        **runtime
            Runtime settings (``cache_dir``, ``on_error``, ``progress``, ``n_jobs``, ``scheduler``).

        Raises
        ------
        ValueError
            When the file is not a songmap model.
        """
        state = read_model(path)
        fitted = cls.__new__(cls)
        try:
            params = resolve_preset({name: value for name, value in dict(state["params"]).items() if name not in RUNTIME_PARAMS})
            fitted.__dict__.update(params)
            fitted.__dict__.update(RUNTIME_DEFAULTS | runtime)
            fitted._restore(state, params)
        except (KeyError, TypeError, ValueError) as exc:
            raise incomplete_model(path, exc) from None
        return fitted

    def _restore(self, state: dict, params: dict) -> None:
        """Set the fitted attributes from a model file's ``state`` (:func:`~songmap.mapper.persistence.read_model`)
        and its resolved ``params``."""
        self.params_ = params
        self.crop_seconds_ = float(state["crop_seconds"])
        self.band_mean_ = np.asarray(state["band_mean"], dtype=np.float32)
        self.band_std_ = np.asarray(state["band_std"], dtype=np.float32)
        self.model_config_ = dict(state["model_config"])
        self.weights_ = dict(state["weights"])
        self._training = dict(state["training"])

    def _feature_params(self) -> FeatureParams:
        return FeatureParams(sample_rate=int(self.sample_rate), n_mels=int(self.n_mels), n_fft=int(self.n_fft), hop_length=int(self.hop_length))

    def __sklearn_is_fitted__(self) -> bool:
        return "weights_" in self.__dict__

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("this SongMapper is not fitted yet: call fit() or load() first")

    @property
    def model_(self):
        """The trained :class:`~songmap.model.autoencoder.ConvAutoencoder` (PyTorch), made from ``weights_`` on first use."""
        if "weights_" not in self.__dict__:
            raise AttributeError("model_: this SongMapper is not fitted yet")
        if self.__dict__.get("_model") is None:
            from songmap.model.autoencoder import ConvAutoencoder

            self._model = ConvAutoencoder.from_arrays(self.model_config_, self.weights_)
        return self._model

    @property
    def training_(self):
        """:class:`~songmap.model.training.TrainingResult` of the fit (loss history, early stopping)."""
        if "_training" not in self.__dict__:
            raise AttributeError("training_: this SongMapper is not fitted yet")
        if isinstance(t := self._training, dict):  # as loaded; the class lives with PyTorch in songmap.model.training
            from songmap.model.training import TrainingResult

            self._training = TrainingResult(list(t["losses"]), int(t["best_epoch"]), float(t["best_loss"]), bool(t["stopped_early"]))
        return self._training

    # -- features ---------------------------------------------------------------------------

    def _track_inputs(self, paths: Sequence[Path], durations: dict[int, float], skipped: list[tuple[Path, str]],
                      progress: Progress | None = None, augmented: InputRows | None = None,
                      copied: np.ndarray | None = None) -> InputRows:
        """Each decodable file's model input, as the fitted map reads it (see :func:`~songmap.mapper.inputs.collect_inputs`)."""
        return collect_inputs(
            paths, durations, params=self._feature_params(), crop_s=self.crop_seconds_, representation=self.representation_,
            row_shape=(self.input_height, self.input_width), windows=self._window_spec(augment=augmented is not None),
            cache_dir=self.cache_dir, jobs=(os.cpu_count() or 1) if self.n_jobs == -1 else int(self.n_jobs),
            scheduler=self.scheduler, on_error=self.on_error, skipped=skipped, progress=progress, augmented=augmented,
            copied=copied,
        )

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
        """The windows of each track "songwise" reads (None for the others); with ``augment``, the copies too."""
        if self.representation_ != "songwise":
            return None
        return WindowSpec(window_s=float(self.crop_seconds_), max_windows=int(self.max_windows), n_bins=self.input_width,
                          augment=self.augment_ if augment else 0, augment_seed=int(self.seed) if augment else 0)

    @property
    def reference_space_name(self) -> str:
        """Human description of :meth:`features_for`'s space, stored next to quality figures."""
        return describe_inputs(self.representation_, n_mels=int(self.n_mels), width=self.input_width,
                               max_windows=int(self.max_windows))

    def _normalise(self, inputs: np.ndarray) -> np.ndarray:
        return (inputs - self.band_mean_[None, :, None]) / self.band_std_[None, :, None]

    @staticmethod
    def _as_paths(paths) -> list[Path]:
        if isinstance(paths, (str, os.PathLike)):
            raise TypeError("expected a list of file paths, got a single path")
        return [Path(p) for p in paths]

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
        with self._track_inputs(paths, probe_durations(paths, on_error=self.on_error, skipped=skipped), skipped) as store:
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
        with self._track_inputs(paths, probe_durations(paths, on_error=self.on_error, skipped=skipped), skipped) as store:
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
        return self._encode_windows(self._read_windows(paths))

    def features_and_windows(self, paths: Iterable[str | os.PathLike]) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray] | None]]:
        """:meth:`features_for` and :meth:`transform_windows` of a "songwise" map, from one read of each file's windows.

        A track's input is the mean of its window images, so both come from the same
        cache entries (reading them twice cost 4 s of a 10 000-track map's document).
        """
        windows = self._read_windows(paths)
        features = np.full((len(windows), self.input_height * self.input_width), np.nan)
        read = [i for i, entry in enumerate(windows) if entry is not None]
        if read:  # the mean of the non-silent windows, as WindowedFeatures.summary makes it
            summaries = np.stack([windows[i][1].mean(axis=0, dtype=np.float64).astype(np.float32) for i in read])
            features[read] = self._normalise(summaries).reshape(len(read), -1)
        return features, self._encode_windows(windows)

    def _read_windows(self, paths: Iterable[str | os.PathLike]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Each file's ``(starts, images)`` of its non-silent windows on a fitted "songwise" map (None: not decodable)."""
        self._check_fitted()
        if self.representation_ != "songwise":
            raise ValueError(f"windows are placed only on 'songwise' maps; this one reads {self.representation_!r}")
        return collect_windows(self._as_paths(paths), params=self._feature_params(), crop_s=self.crop_seconds_,
                               windows=self._window_spec(), cache_dir=self.cache_dir)

    def _encode_windows(self, windows: list, *, group: int = 4096) -> list:
        """``(starts, coords)`` (or None) per file: the windows of many files through the encoder together,
        about ``group`` at a time (36 MB of images), not file by file (10 000 one-window clips took 5 s as
        10 000 calls)."""
        placed: list = [None] * len(windows)
        batch: list[int] = []
        size = 0
        for index, entry in enumerate(windows):
            if entry is not None:
                batch.append(index)
                size += len(entry[1])
            if batch and (size >= group or index == len(windows) - 1):
                images = [windows[i][1] for i in batch]
                coords = encode_numpy(self.weights_, np.concatenate(images), prepare=self._normalise)
                for i, xy in zip(batch, np.split(coords, np.cumsum([len(w) for w in images])[:-1])):
                    placed[i] = (windows[i][0], xy)
                batch, size = [], 0
        return placed

    def save(self, path: str | os.PathLike) -> None:
        """Save weights and everything needed to place new songs (parameters, crop, normalisation), atomically
        (the format: :mod:`songmap.mapper.persistence`)."""
        self._check_fitted()
        # A loaded record stays a dict (turning it into a TrainingResult would import PyTorch).
        training = self._training if isinstance(self._training, dict) else asdict(self._training)
        write_model(path, params=self.params_, feature_params=asdict(self._feature_params()), crop_seconds=self.crop_seconds_,
                    model_config=self.model_config_, training=training, weights=self.weights_,
                    band_mean=self.band_mean_, band_std=self.band_std_)
