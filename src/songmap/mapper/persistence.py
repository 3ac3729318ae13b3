"""Saved models: ``model.safetensors`` (format 3, no PyTorch needed) and the ``model.pt`` of earlier versions.

The file is a `safetensors <https://huggingface.co/docs/safetensors>`_ file:
tensors ``band_mean``, ``band_std`` and ``state.<name>`` for each entry of the
autoencoder's ``state_dict``; its metadata ``"format"`` is ``"songmap-model"``
and ``"songmap"`` a JSON object with ``format``, ``format_version``,
``songmap_version``, ``params``, ``feature_params``, ``crop_seconds``,
``model_config`` and ``training``. ``model_config`` names the input width
``input_width``; files written before songmap 0.1.0's renovation call it
``time_bins`` and still load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from songmap._version import __version__
from songmap.io.atomic import atomic_write_bytes

__all__ = ["MODEL_FILE", "LEGACY_MODEL_FILE", "MODEL_FORMAT", "MODEL_FORMAT_VERSION", "write_model", "read_model"]

MODEL_FORMAT = "songmap-model"
# 3: a safetensors file (model.safetensors), readable without PyTorch.
# 2: presets, the modulation representation and the neighbour term; 1: the first model.
# Versions 1 and 2 are torch.save files (model.pt) and still load (version 1 as preset "seed").
MODEL_FORMAT_VERSION = 3

#: File name of the model in a `songmap map` output folder, and the one older versions wrote.
MODEL_FILE = "model.safetensors"
LEGACY_MODEL_FILE = "model.pt"


def write_model(
    path: str | os.PathLike,
    *,
    params: dict,
    feature_params: dict,
    crop_seconds: float,
    model_config: dict,
    training: dict,
    weights: dict[str, np.ndarray],
    band_mean: np.ndarray,
    band_std: np.ndarray,
) -> None:
    """Write a fitted map's model file atomically (its temporary name is renamed).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.safetensors`` file.
    params : dict
        The mapper's ``params_`` (JSON-able).
    feature_params : dict
        The spectrogram parameters (``dataclasses.asdict`` of a ``FeatureParams``).
    crop_seconds : float
        The crop length of the fit.
    model_config : dict
        The autoencoder's constructor arguments.
    training : dict
        ``losses``, ``best_epoch``, ``best_loss`` and ``stopped_early`` of the training.
    weights : dict of str to np.ndarray
        The autoencoder's ``state_dict`` as arrays.
    band_mean, band_std : np.ndarray
        The normalisation of the model inputs.
    """
    from safetensors.numpy import save

    header = {
        "format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION, "songmap_version": __version__,
        "params": params,
        "feature_params": feature_params,
        "crop_seconds": float(crop_seconds),
        "model_config": dict(model_config),
        "training": {
            "losses": [float(x) for x in training["losses"]],
            "best_epoch": int(training["best_epoch"]),
            "best_loss": float(training["best_loss"]),
            "stopped_early": bool(training["stopped_early"]),
        },
    }
    tensors = {f"state.{name}": value for name, value in weights.items()}
    tensors["band_mean"] = np.asarray(band_mean, dtype=np.float32)
    tensors["band_std"] = np.asarray(band_std, dtype=np.float32)
    arrays = {name: np.ascontiguousarray(value) for name, value in tensors.items()}
    data = save(arrays, metadata={"format": MODEL_FORMAT, "songmap": json.dumps(header)})
    atomic_write_bytes(path, _metadata_sorted(data))


def _metadata_sorted(data: bytes) -> bytes:
    """A safetensors file's bytes with its ``__metadata__`` keys in sorted order.

    safetensors writes the metadata from a Rust ``HashMap``, so two saves of the same model put its
    keys in either order and the files differ byte-wise. Reordering keeps the header's length; when
    the header does not read back to exactly its own bytes (an escape that Python's ``json`` spells
    otherwise), the file is left as it was.
    """
    size = int.from_bytes(data[:8], "little")
    raw = data[8 : 8 + size]
    text = raw.decode("utf-8").rstrip(" ")
    header = json.loads(text)

    def compact(value) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    if compact(header) != text or not isinstance(header.get("__metadata__"), dict):
        return data
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    canonical = compact(header).encode("utf-8")
    return data[:8] + canonical.ljust(size, b" ") + data[8 + size :]


def read_model(path: str | os.PathLike) -> dict:
    """The contents of a model file of any format: its header plus ``weights``, ``band_mean``, ``band_std``.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Not a songmap model, or one saved by a newer songmap.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    with open(path, "rb") as f:
        is_torch_zip = f.read(4) == b"PK\x03\x04"
    state = _read_torch_model(path) if is_torch_zip else _read_safetensors_model(path)
    if state.get("format_version", 0) > MODEL_FORMAT_VERSION:
        raise ValueError(f"{path} was saved by a newer songmap ({state.get('songmap_version')}); upgrade songmap")
    config = state.get("model_config")
    if isinstance(config, dict) and "time_bins" in config:
        config = dict(config)
        config["input_width"] = config.pop("time_bins")
        state["model_config"] = config
    if isinstance(state.get("params"), dict):
        params = dict(state["params"])
        # Models saved before presets existed are the notebooks' model: pooled input, no neighbour term.
        params.setdefault("preset", "seed")
        # Models saved before augmented training were trained without copies.
        params.setdefault("augment", 0)
        params.setdefault("invariance_weight", 0.0)
        params.setdefault("nuisance_dims", 0)
        state["params"] = params
    return state


def _read_safetensors_model(path: Path) -> dict:
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
    from songmap.model.torch_files import load_torch_file

    try:
        state = load_torch_file(path)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable songmap model ({exc.__class__.__name__})") from None
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path} is not a songmap model")
    state["weights"] = dict(state.get("state_dict", {}))
    return state
