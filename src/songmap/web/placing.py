"""The fitted model as the map page carries it, so the page can place dropped songs by itself.

``static/place.js`` decodes a dropped file with the Web Audio API, computes the
model's input in JavaScript and runs the encoder; everything it needs comes from
here, generated from the saved model: the feature parameters
(:class:`songmap.features.spectrogram.FeatureParams`), the crop length, the
representation and its width, the normalisation, the encoder's weights and the
constants of the Python code it mirrors (silence threshold, modulation offset,
batch-norm epsilon, leaky-ReLU slope).

Weights travel as base64 little-endian float16 (half the size of float32; the
tests hold the page's coordinates to ``songmap embed``'s within 1 % of the map's
extent), the normalisation statistics as float32.
"""

from __future__ import annotations

import base64
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from songmap.features.modulation import MODULATION_OFFSET
from songmap.features.spectrogram import MIN_SECONDS, SILENCE_DBFS, FeatureParams
from songmap.mapper.estimator import SongMapper
from songmap.mapper.persistence import LEGACY_MODEL_FILE, MODEL_FILE
from songmap.model import numpy_encoder

__all__ = ["PAGE_MODEL_FORMAT", "page_model", "page_model_for"]

#: Version of the object below; place.js refuses one it does not know.
PAGE_MODEL_FORMAT = 1


def _b64(values: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()).decode("ascii")


def _tensor(values: np.ndarray, dtype: str = "float16") -> dict[str, Any]:
    values = np.asarray(values)
    return {"shape": list(values.shape), "dtype": dtype, "data": _b64(values, dtype)}


def page_model(mapper: SongMapper) -> dict[str, Any]:
    """What the page needs to place a song as ``mapper.transform`` does.

    Parameters
    ----------
    mapper : SongMapper
        A fitted (or loaded) mapper.

    Returns
    -------
    dict
        JSON-able: ``format``, ``featureParams`` (the fields of FeatureParams), ``cropSeconds``,
        ``representation``, ``width``, ``constants``, ``bandMean``/``bandStd`` (float32 tensors)
        and ``layers`` (per convolution: ``weight`` ``(o, c, 3, 3)``, ``bias``, and batch norm's
        ``gamma``, ``beta``, ``mean``, ``var``; float16 tensors) and ``latent`` (``weight``
        ``(latent, flat)``, ``bias``).
    """
    params = FeatureParams(sample_rate=int(mapper.sample_rate), n_mels=int(mapper.n_mels),
                           n_fft=int(mapper.n_fft), hop_length=int(mapper.hop_length))
    weights = mapper.weights_
    n_layers = len({key.split(".")[1] for key in weights if key.startswith("encoder_conv.")}) // 2
    layers = []
    for layer in range(n_layers):  # the keys numpy_encoder.encode_numpy reads
        conv, norm = f"encoder_conv.{3 * layer}", f"encoder_conv.{3 * layer + 1}"
        layers.append({
            "weight": _tensor(weights[f"{conv}.weight"]), "bias": _tensor(weights[f"{conv}.bias"]),
            "gamma": _tensor(weights[f"{norm}.weight"]), "beta": _tensor(weights[f"{norm}.bias"]),
            "mean": _tensor(weights[f"{norm}.running_mean"]), "var": _tensor(weights[f"{norm}.running_var"]),
        })
    return {
        "format": PAGE_MODEL_FORMAT,
        "featureParams": asdict(params),
        "cropSeconds": float(mapper.crop_seconds_),
        "representation": mapper.representation_,
        "width": mapper.input_width,
        "constants": {
            "minSeconds": MIN_SECONDS,
            "silenceDbfs": SILENCE_DBFS,
            "modulationOffset": MODULATION_OFFSET,
            "batchNormEps": numpy_encoder.BATCH_NORM_EPS,
            "leakySlope": numpy_encoder.LEAKY_SLOPE,
        },
        "bandMean": _tensor(mapper.band_mean_, "float32"),
        "bandStd": _tensor(mapper.band_std_, "float32"),
        "layers": layers,
        "latent": {"weight": _tensor(weights["to_latent.weight"]), "bias": _tensor(weights["to_latent.bias"])},
    }


def page_model_for(out_dir: str | os.PathLike) -> dict[str, Any]:
    """:func:`page_model` of the model in a ``songmap map`` output folder, or why there is none.

    Returns
    -------
    dict
        :func:`page_model`'s object, or ``{"unavailable": reason}`` (no model in the folder,
        or one that cannot be read), which the page shows next to its Place button.
    """
    out_dir = Path(out_dir)
    path = out_dir / MODEL_FILE
    if not path.is_file() and (out_dir / LEGACY_MODEL_FILE).is_file():
        path = out_dir / LEGACY_MODEL_FILE
    if not path.is_file():
        return {"unavailable": f"this folder has no {MODEL_FILE} (run 'songmap map' again to place songs in the page)"}
    try:
        return page_model(SongMapper.load(path))
    except (ValueError, OSError, ImportError) as exc:
        return {"unavailable": f"the model in this folder cannot be read ({str(exc)[:160]})"}
