"""Model stage: the convolutional autoencoder with a two-neuron bottleneck, and its training.

The encoder is a stack of stride-2 convolutions (filter counts adjustable, as
in the notebooks) followed by a linear layer to exactly ``latent_dim=2``
neurons; the decoder mirrors it. Training minimises the reconstruction error
of the normalised, time-pooled log-mel spectrograms. The two bottleneck
values of a track are its coordinates on the map.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ConvAutoencoder", "TrainingConfig", "TrainingResult", "train_autoencoder", "encode", "seed_everything"]


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for ``(1, n_mels, time_bins)`` inputs.

    Parameters
    ----------
    n_mels : int
        Input height (mel bands).
    time_bins : int
        Input width (time columns).
    filters : sequence of int
        Output channels of each stride-2 convolution of the encoder.
    latent_dim : int
        Bottleneck size; 2 for a map.
    """

    def __init__(self, n_mels: int = 128, time_bins: int = 64, filters: Sequence[int] = (16, 32, 64), latent_dim: int = 2):
        super().__init__()
        filters = [int(f) for f in filters]
        if not filters or any(f < 1 for f in filters):
            raise ValueError("filters must be one or more positive channel counts")
        if latent_dim < 1:
            raise ValueError("latent_dim must be positive")
        self.n_mels, self.time_bins, self.filters, self.latent_dim = n_mels, time_bins, filters, latent_dim

        layers: list[nn.Module] = []
        channels = 1
        height, width = n_mels, time_bins
        for f in filters:
            layers += [nn.Conv2d(channels, f, kernel_size=3, stride=2, padding=1), nn.BatchNorm2d(f), nn.LeakyReLU(0.2)]
            channels = f
            height, width = math.ceil(height / 2), math.ceil(width / 2)
        self.encoder_conv = nn.Sequential(*layers)
        self._code_shape = (channels, height, width)
        flat = channels * height * width
        self.to_latent = nn.Linear(flat, latent_dim)
        self.from_latent = nn.Linear(latent_dim, flat)

        layers = []
        for f_in, f_out in zip(filters[::-1], filters[::-1][1:] + [filters[0]]):
            layers += [
                nn.ConvTranspose2d(f_in, f_out, kernel_size=4, stride=2, padding=1),
                nn.BatchNorm2d(f_out),
                nn.LeakyReLU(0.2),
            ]
        layers.append(nn.Conv2d(filters[0], 1, kernel_size=3, padding=1))
        self.decoder_conv = nn.Sequential(*layers)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, n_mels, time_bins)`` -> ``(batch, latent_dim)``."""
        return self.to_latent(self.encoder_conv(x).flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(batch, latent_dim)`` -> ``(batch, 1, n_mels, time_bins)``."""
        h = self.from_latent(z).view(-1, *self._code_shape)
        out = self.decoder_conv(h)
        if out.shape[-2:] != (self.n_mels, self.time_bins):
            # Sizes that are not powers of two round up on the way down; cut back to the input's size.
            out = out[..., : self.n_mels, : self.time_bins]
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def config(self) -> dict:
        """Constructor arguments, for saving."""
        return {"n_mels": self.n_mels, "time_bins": self.time_bins, "filters": list(self.filters), "latent_dim": self.latent_dim}


@dataclass
class TrainingConfig:
    """How the autoencoder is trained.

    Attributes
    ----------
    epochs : int
        Maximum number of passes over the data.
    batch_size : int
        Tracks per gradient step.
    learning_rate : float
        Adam step size.
    patience : int
        Stop after this many epochs without a relative loss improvement of ``min_delta``.
    min_delta : float
        Relative improvement that counts, e.g. 0.005 = 0.5 %.
    seed : int
        Seed for weights and batch order.
    """

    epochs: int = 300
    batch_size: int = 16
    learning_rate: float = 2e-3
    patience: int = 25
    min_delta: float = 0.005
    seed: int = 0


@dataclass
class TrainingResult:
    """What training did: per-epoch losses, the best epoch, whether it stopped early."""

    losses: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_loss: float = float("inf")
    stopped_early: bool = False


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so that training is repeatable."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train_autoencoder(
    model: ConvAutoencoder,
    inputs: np.ndarray,
    config: TrainingConfig,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainingResult:
    """Fit ``model`` to reconstruct ``inputs``; keeps the weights of the best epoch.

    Parameters
    ----------
    model : ConvAutoencoder
        Freshly initialised model (initialise it after :func:`seed_everything`).
    inputs : np.ndarray
        ``(n_tracks, n_mels, time_bins)`` normalised features.
    config : TrainingConfig
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, loss)`` after each epoch (progress bars).

    Returns
    -------
    TrainingResult
    """
    data = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)).unsqueeze(1)
    n = data.shape[0]
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    result = TrainingResult()
    best_state = copy.deepcopy(model.state_dict())
    since_best = 0
    # BatchNorm needs more than one sample per batch in training mode.
    drop_last_single = n % config.batch_size == 1 and n > 1

    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total, seen = 0.0, 0
        for start in range(0, n, config.batch_size):
            idx = order[start : start + config.batch_size]
            if len(idx) == 1 and drop_last_single:
                continue
            batch = data[idx]
            optimizer.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(batch), batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        epoch_loss = total / max(seen, 1)
        result.losses.append(epoch_loss)
        if epoch_loss < result.best_loss:
            # Only a clear improvement resets the patience, but the lowest loss is what is kept.
            since_best = 0 if epoch_loss < result.best_loss * (1 - config.min_delta) else since_best + 1
            result.best_loss, result.best_epoch = epoch_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
        if on_epoch is not None:
            on_epoch(epoch, epoch_loss)
        if since_best >= config.patience:
            result.stopped_early = True
            break

    model.load_state_dict(best_state)
    model.eval()
    return result


def encode(model: ConvAutoencoder, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Bottleneck values of ``inputs`` ``(n, n_mels, time_bins)`` -> ``(n, latent_dim)`` float64."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(inputs[start : start + batch_size], dtype=np.float32))
            out.append(model.encode(batch.unsqueeze(1)).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.latent_dim))
