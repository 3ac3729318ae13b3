"""The fitted model as the map page carries it, so the page can place dropped songs by itself.

The page's placer (``static/src/place/``) decodes a dropped file with the Web Audio API, computes the
model's input in JavaScript and runs the encoder; everything it needs comes from
here, generated from the saved model: the feature parameters
(:class:`songmap.features.spectrogram.FeatureParams`), the crop length, the
representation and its width, the normalisation, the encoder's weights and the
constants of the Python code it mirrors (silence threshold, modulation offset,
batch-norm epsilon, leaky-ReLU slope), and for a ``songwise`` map the windows
(:mod:`songmap.features.windows`) and the tonal view's constants
(:mod:`songmap.features.tonal`).

Resampling: the page decodes a file at its own rate (read from the file's header) and
resamples it to the model's rate with the filter of :func:`songmap.io.decode.resample`
(soxr's "HQ" recipe: a linear-phase Kaiser-windowed sinc, passband to
:data:`RESAMPLE_PASSBAND_END` of the lower Nyquist frequency, stopband
:data:`RESAMPLE_ATTENUATION_DB` down from it), rather than with the browser's own
resampler, whose anti-aliasing filter lets through what soxr removes near the model's
Nyquist frequency (white noise at 48 kHz landed 1.5 % of the map away).

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

from songmap.features import tonal
from songmap.features.modulation import MODULATION_OFFSET
from songmap.features.spectrogram import MIN_SECONDS, SILENCE_DBFS, FeatureParams
from songmap.features.windows import SILENT_WINDOW_DB
from songmap.mapper.fitted import FittedMap
from songmap.mapper.persistence import LEGACY_MODEL_FILE, MODEL_FILE
from songmap.model import numpy_encoder

__all__ = ["PAGE_MODEL_FORMAT", "page_model", "page_model_for", "RESAMPLE_PASSBAND_END", "RESAMPLE_ATTENUATION_DB"]

#: Version of the object below; the page's placer refuses one it does not know.
PAGE_MODEL_FORMAT = 1

#: soxr's "HQ" low-pass (songmap.io.decode.resample's quality): passband end as a fraction of the
#: lower of the two Nyquist frequencies (soxr's default rolloff), and stopband attenuation in dB
#: (its 20-bit precision). The placer designs its Kaiser-windowed sinc from them: on white noise at
#: 48 kHz its output is within 50 dB SNR of soxr's, on tones within 130 dB.
RESAMPLE_PASSBAND_END = 0.913
RESAMPLE_ATTENUATION_DB = 126.0


def _b64(values: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()).decode("ascii")


def _tensor(values: np.ndarray, dtype: str = "float16") -> dict[str, Any]:
    values = np.asarray(values)
    return {"shape": list(values.shape), "dtype": dtype, "data": _b64(values, dtype)}


def page_model(mapper: FittedMap) -> dict[str, Any]:
    """What the page needs to place a song as ``mapper.transform`` does.

    Parameters
    ----------
    mapper : FittedMap
        A fitted or loaded map (a fitted :class:`~songmap.mapper.SongMapper` is one).

    Returns
    -------
    dict
        JSON-able: ``format``, ``featureParams`` (the fields of FeatureParams), ``cropSeconds``,
        ``representation``, ``width``, ``constants``, ``resample`` (the resampling filter's
        ``passbandEnd`` and ``attenuationDb``), for ``songwise`` maps ``windows`` (``maxWindows``,
        ``silentWindowDb``, ``rows``: the image's blocks) and ``tonal`` (the tonal view's
        constants), ``bandMean``/``bandStd`` (float32 tensors, one per image row: for
        ``songwise`` the block normalisation, each view scaled to its share of the variance)
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
    songwise = {}
    if mapper.representation_ == "songwise":
        songwise = {
            "windows": {"maxWindows": int(mapper.max_windows), "silentWindowDb": SILENT_WINDOW_DB,
                        "rows": [int(mapper.n_mels), tonal.PITCH_CLASSES]},
            "tonal": {"pitchClasses": tonal.PITCH_CLASSES, "offset": tonal.TONAL_OFFSET, "block": tonal.CHROMA_BLOCK,
                      "patchFrames": tonal.PATCH_FRAMES, "patchHop": tonal.PATCH_HOP, "fmin": tonal.CHROMA_FMIN,
                      "fmax": tonal.CHROMA_FMAX, "centreHz": tonal.CHROMA_CENTRE_HZ,
                      "octaveWidth": tonal.CHROMA_OCTAVE_WIDTH, "bumpSemitones": tonal.CHROMA_BUMP_SEMITONES,
                      "silence": tonal.CHROMA_SILENCE},
        }
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
        "resample": {"passbandEnd": RESAMPLE_PASSBAND_END, "attenuationDb": RESAMPLE_ATTENUATION_DB},
        **songwise,
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
        return page_model(FittedMap.load(path))
    except (ValueError, OSError, ImportError) as exc:
        return {"unavailable": f"the model in this folder cannot be read ({str(exc)[:160]})"}
