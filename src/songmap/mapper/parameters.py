"""The parameters of :class:`~songmap.mapper.SongMapper`: what each may be, the named presets that fill in
those left None, and which are settings of how to run rather than of the map."""

from __future__ import annotations

import os
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, Options, StrOptions

from songmap.features.shaping import REPRESENTATIONS, crop_seconds
from songmap.features.spectrogram import FeatureParams
from songmap.mapper.progress import Progress
from songmap.model.device import DEVICES

__all__ = ["PRESETS", "RUNTIME_PARAMS", "PARAMETER_CONSTRAINTS", "resolve_preset", "check_resolved"]

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
#: "modulation" reads each track's first crop (up to 30 s) as its modulation spectrum, with no tonal
#: view. Saved models keep the representation they were made with, whatever a preset now says.
PRESETS: dict[str, dict] = {
    "seed": {"representation": "pooled", "crop_percentile": 75.0, "modulation_bins": 16, "neighbour_weight": 0.0,
             "filters": [16, 32, 64]},
    "default": {"representation": "songwise", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 1.0,
                "tonal_weight": 1.0, "augment": 2, "invariance_weight": 0.5, "nuisance_dims": 2, "filters": [8, 16, 32]},
    "modulation": {"representation": "modulation", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 1.0,
                   "filters": [16, 32, 64]},
    "songwise": {"representation": "songwise", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 1.0,
                 "tonal_weight": 1.0, "augment": 2, "invariance_weight": 0.5, "nuisance_dims": 2, "filters": [8, 16, 32]},
}

#: Settings of how and where to run, not of the map: never saved with the model.
RUNTIME_PARAMS = frozenset({"cache_dir", "on_error", "progress", "n_jobs", "scheduler", "device"})


def resolve_preset(params: dict) -> dict:
    """The map-defining ``params`` (a ``get_params()``) with their preset filled in where a value is None (JSON-able).

    Raises
    ------
    ValueError
        ``params["preset"]`` names no preset.
    """
    preset = params["preset"]
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    resolved = {name: value for name, value in params.items() if name not in RUNTIME_PARAMS}
    for name, value in PRESETS[preset].items():
        if resolved[name] is None:
            resolved[name] = value
    resolved["filters"] = [int(f) for f in resolved["filters"]]
    return resolved


_AT_LEAST_0 = Interval(Integral, 0, None, closed="left")
_AT_LEAST_1 = Interval(Integral, 1, None, closed="left")
_NOT_NEGATIVE = Interval(Real, 0, None, closed="left")
_POSITIVE = Interval(Real, 0, None, closed="neither")

#: What each parameter may be: scikit-learn's ``_parameter_constraints``, checked by ``_validate_params``
#: when :meth:`SongMapper.fit` runs (None: the preset's value). What depends on other parameters or on
#: the preset is checked by :func:`check_resolved`.
PARAMETER_CONSTRAINTS: dict[str, list] = {
    "sample_rate": [_AT_LEAST_1],
    "n_mels": [_AT_LEAST_1],
    "n_fft": [_AT_LEAST_1],
    "hop_length": [_AT_LEAST_1],
    "crop_percentile": [Interval(Real, 0, 100, closed="both"), None],
    "min_crop_s": [_POSITIVE],
    "max_crop_s": [_POSITIVE],
    "time_bins": [Interval(Integral, 4, None, closed="left")],
    "filters": ["array-like", None],
    "epochs": [_AT_LEAST_1],
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "learning_rate": [_POSITIVE],
    "patience": [_AT_LEAST_0],
    "seed": [Integral],
    "cache_dir": [str, os.PathLike, None],
    "on_error": [StrOptions({"skip", "raise"})],
    "progress": [Progress, None],
    "n_jobs": [_AT_LEAST_1, Options(Integral, {-1})],
    "scheduler": [str, None],
    "preset": [StrOptions(set(PRESETS))],
    "representation": [StrOptions(set(REPRESENTATIONS)), None],
    "modulation_bins": [Interval(Integral, 4, None, closed="left"), None],
    "neighbour_weight": [_NOT_NEGATIVE, None],
    "max_windows": [_AT_LEAST_1],
    "tonal_weight": [_POSITIVE, None],
    "augment": [_AT_LEAST_0, None],
    "invariance_weight": [_NOT_NEGATIVE, None],
    "nuisance_dims": [_AT_LEAST_0, None],
    "device": [StrOptions(set(DEVICES))],
}


def check_resolved(params: dict) -> None:
    """Check what no single constraint says about resolved ``params`` (:func:`resolve_preset`).

    Raises
    ------
    ValueError
        Augmented copies without the "songwise" representation and the neighbour term, rates
        and sizes that do not fit together (``FeatureParams``), crop bounds out of order, or
        no positive channel counts.
    """
    if int(params.get("augment") or 0) > 0 and (params["representation"] != "songwise" or not float(params["neighbour_weight"]) > 0):
        raise ValueError("augment needs the 'songwise' representation and neighbour_weight above 0")
    FeatureParams(sample_rate=int(params["sample_rate"]), n_mels=int(params["n_mels"]), n_fft=int(params["n_fft"]),
                  hop_length=int(params["hop_length"]))
    crop_seconds([1.0], params["crop_percentile"], params["min_crop_s"], params["max_crop_s"])
    if not params["filters"] or any(f < 1 for f in params["filters"]):
        raise ValueError(f"filters must be one or more positive channel counts, got {params['filters']!r}")
