"""The trained encoder's forward pass in NumPy: placing songs on a map without importing PyTorch.

Training needs PyTorch (:mod:`songmap.model.training`); placing a song needs only the
encoder half of the autoencoder in evaluation mode — three strided
convolutions, batch normalisation with its running statistics, leaky ReLU and
one linear layer. ``import torch`` alone takes about a second, most of
``songmap embed``, so :meth:`songmap.mapper.SongMapper.transform` runs this
instead, on the weights stored in ``model.safetensors``. A test holds it equal
to :meth:`songmap.model.autoencoder.ConvAutoencoder.encode`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["encode_numpy", "BATCH_NORM_EPS", "LEAKY_SLOPE"]

#: The encoder's constants, shared with songmap.model.autoencoder.ConvAutoencoder (which builds its
#: layers with them) and the map page's encoder: BatchNorm2d's eps and the LeakyReLU slope.
BATCH_NORM_EPS = 1e-5
LEAKY_SLOPE = 0.2


def _conv3x3_stride2(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``nn.Conv2d(kernel_size=3, stride=2, padding=1)``: ``(n, c, h, w)`` -> ``(n, o, ceil(h/2), ceil(w/2))``."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    patches = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    return np.einsum("nchwij,ocij->nohw", patches, weight, optimize=True) + bias[None, :, None, None]


def encode_numpy(
    weights: Mapping[str, np.ndarray],
    inputs: np.ndarray,
    batch_size: int = 256,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Bottleneck values of ``inputs`` with a trained :class:`~songmap.model.autoencoder.ConvAutoencoder`'s weights.

    Parameters
    ----------
    weights : mapping of str to np.ndarray
        The model's ``state_dict`` as arrays (``encoder_conv.*``, ``to_latent.*``).
    inputs : np.ndarray
        ``(n, n_mels, width)``, read ``batch_size`` rows at a time (may be a ``np.memmap``).
    batch_size : int
    prepare : callable, optional
        Applied to each block of rows first (normalisation), as in :func:`songmap.model.training.encode`.

    Returns
    -------
    np.ndarray
        ``(n, latent_dim)`` float64.
    """
    n_layers = len({key.split(".")[1] for key in weights if key.startswith("encoder_conv.")}) // 2
    out = []
    for start in range(0, len(inputs), batch_size):
        block = inputs[start : start + batch_size]
        x = np.asarray(prepare(block) if prepare is not None else block, dtype=np.float32)[:, None]
        for layer in range(n_layers):
            conv, norm = f"encoder_conv.{3 * layer}", f"encoder_conv.{3 * layer + 1}"
            x = _conv3x3_stride2(x, weights[f"{conv}.weight"], weights[f"{conv}.bias"])
            scale = weights[f"{norm}.weight"] / np.sqrt(weights[f"{norm}.running_var"] + BATCH_NORM_EPS)
            x = (x - weights[f"{norm}.running_mean"][None, :, None, None]) * scale[None, :, None, None]
            x = x + weights[f"{norm}.bias"][None, :, None, None]
            x = np.where(x > 0, x, LEAKY_SLOPE * x)
        flat = x.reshape(len(x), -1)
        out.append((flat @ weights["to_latent.weight"].T + weights["to_latent.bias"]).astype(np.float64))
    return np.concatenate(out) if out else np.zeros((0, len(weights["to_latent.bias"])))
