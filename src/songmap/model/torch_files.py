"""Reading the ``torch.save`` files (``model.pt``) that songmap wrote before its model format 3."""

from __future__ import annotations

import os

import torch

__all__ = ["load_torch_file"]


def load_torch_file(path: str | os.PathLike):
    """What ``torch.save`` wrote to ``path`` (weights only, on the CPU), every tensor in it a NumPy array.

    Raises whatever :func:`torch.load` raises for a file it cannot read.
    """
    return _as_numpy(torch.load(path, map_location="cpu", weights_only=True))


def _as_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, dict):
        return {key: _as_numpy(item) for key, item in value.items()}
    return value
