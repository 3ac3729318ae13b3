"""What each parameter of :class:`~songmap.mapper.SongMapper` may be: scikit-learn's parameter constraints,
and the checks of parameters resolved through their preset (:mod:`songmap.mapper.presets`)."""

from __future__ import annotations

import os
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, Options, StrOptions

from songmap.features.shaping import REPRESENTATIONS, crop_seconds
from songmap.features.spectrogram import FeatureParams
from songmap.mapper.presets import PRESETS
from songmap.mapper.progress import Progress
from songmap.model.device import DEVICES

__all__ = ["PARAMETER_CONSTRAINTS", "check_resolved"]

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
