"""Where and how repeatably PyTorch trains: the device of ``SongMapper(device=...)`` and deterministic kernels.

PyTorch is imported inside the functions: :class:`songmap.mapper.SongMapper` checks its
``device`` against :data:`DEVICES` when it is imported, and placing songs on a saved map
never needs PyTorch (``import torch`` takes about a second).
"""

from __future__ import annotations

import os
import sys

__all__ = ["DEVICES", "torch_device", "deterministic_torch", "set_deterministic"]

#: Values of ``SongMapper(device=...)``: "auto" trains on a CUDA GPU when PyTorch sees one.
DEVICES = ("auto", "cpu", "cuda")


def torch_device(device: str) -> str:
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


class deterministic_torch:
    """Ask PyTorch for deterministic kernels while training/encoding, then restore the setting."""

    def __enter__(self):
        import torch

        self._previous = torch.are_deterministic_algorithms_enabled()
        set_deterministic(True)
        return self

    def __exit__(self, *exc):
        set_deterministic(self._previous)
        return False


def set_deterministic(mode: bool) -> None:
    """``torch.use_deterministic_algorithms(mode)``, without its import of ``torch._inductor`` (1-2 s of a
    `songmap map`) when nothing has imported it: that import only sets the compiler's flag, and eager
    training compiles nothing."""
    import torch

    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(mode)
    else:
        torch._C._set_deterministic_algorithms(mode)
