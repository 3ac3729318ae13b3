"""Model stage: the convolutional autoencoder with a two-neuron bottleneck, and its training.

The encoder is a stack of stride-2 convolutions (filter counts adjustable, as
in the notebooks) followed by a linear layer to exactly ``latent_dim=2``
neurons; the decoder mirrors it. Training minimises the reconstruction error
of the normalised model inputs (time-pooled log-mel spectrograms or their
modulation spectra, see :mod:`songmap.mapping`). The two bottleneck values of
a track are its coordinates on the map.

Optionally (``TrainingConfig.neighbour_weight > 0``) the loss also asks the
bottleneck to keep each track's neighbours: the t-SNE objective, the
Kullback-Leibler divergence between Gaussian neighbour affinities of the inputs
and Student-t affinities of the 2-D codes (as in parametric t-SNE). A pure
autoencoder spends its two neurons on whatever reconstructs the most pixels,
which are the broad directions of the data (nonlinear PCA); the extra term
makes it also place near each other the tracks that are near in the input,
which is what a map is read for. The decoder is kept: the code must still
describe the track, and :meth:`SongMapper.transform` places new songs with the
trained encoder, which a t-SNE map cannot do.
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

__all__ = [
    "ConvAutoencoder",
    "TrainingConfig",
    "TrainingResult",
    "train_autoencoder",
    "encode",
    "seed_everything",
    "neighbour_affinities",
    "neighbour_loss",
    "default_perplexity",
]


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
    neighbour_weight : float
        Weight of the t-SNE neighbour term next to the reconstruction error
        (0 = a plain autoencoder, as in the notebooks).
    perplexity : float or None
        Effective number of neighbours of the input affinities; None adapts it
        to the collection (:func:`default_perplexity`).
    neighbour_batch : int
        Collections up to this size are kept whole in the neighbour term at
        every step; larger ones are trained in batches of this many tracks,
        each with its own affinities.
    """

    epochs: int = 300
    batch_size: int = 16
    learning_rate: float = 2e-3
    patience: int = 25
    min_delta: float = 0.005
    seed: int = 0
    neighbour_weight: float = 0.0
    perplexity: float | None = None
    neighbour_batch: int = 512


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


def default_perplexity(n: int) -> float:
    """Perplexity for ``n`` points: t-SNE's usual 30, lowered to half of the other points for small sets.

    Half rather than the more common third: on collections of a few dozen songs
    the maps are read (and measured) by their 10 nearest neighbours, a fifth of
    the collection, and wider affinities keep those neighbourhoods better. The
    t-SNE baseline of ``songmap compare`` uses the same rule, so that the two
    are compared at the same neighbourhood size.
    """
    return float(max(1.0, min(30.0, (n - 1) / 2.0)))


def neighbour_affinities(inputs: torch.Tensor, perplexity: float | None = None, tolerance: float = 1e-5) -> torch.Tensor:
    """Symmetric t-SNE input affinities ``P`` (summing to 1) of the rows of ``inputs``.

    Each row gets a Gaussian kernel whose width is found by bisection so that
    its neighbour distribution has the wanted perplexity; ``P = (P_row + P_row.T) / 2n``.

    Parameters
    ----------
    inputs : torch.Tensor
        ``(n, ...)`` features (flattened here), n >= 2.
    perplexity : float, optional
        Effective number of neighbours; default :func:`default_perplexity`.
    tolerance : float
        Accepted error of the entropy, in nats.

    Returns
    -------
    torch.Tensor
        ``(n, n)`` float32, zero diagonal.
    """
    x = inputs.detach().reshape(len(inputs), -1).double()
    n = len(x)
    perplexity = default_perplexity(n) if perplexity is None else float(perplexity)
    perplexity = min(perplexity, n - 1.0)
    squared = torch.cdist(x, x).square()
    squared.fill_diagonal_(float("inf"))
    # Distances relative to each row's nearest neighbour keep exp() in range for any feature scale.
    squared = squared - squared.min(dim=1, keepdim=True).values
    target = math.log(max(perplexity, 1.0 + 1e-6))
    lo = torch.zeros(n, 1, dtype=torch.float64)
    hi = torch.full((n, 1), float("inf"), dtype=torch.float64)
    beta = torch.full((n, 1), 1.0, dtype=torch.float64) / squared[torch.isfinite(squared)].median().clamp_min(1e-12)
    for _ in range(200):
        weights = torch.exp(-squared * beta)
        rows = weights / weights.sum(dim=1, keepdim=True)
        entropy = -(rows * torch.log(rows.clamp_min(1e-300))).sum(dim=1, keepdim=True)
        if torch.all((entropy - target).abs() < tolerance):
            break
        too_flat = entropy > target  # too many neighbours: narrow the kernel (raise beta)
        lo = torch.where(too_flat, beta, lo)
        hi = torch.where(too_flat, hi, beta)
        beta = torch.where(torch.isinf(hi), beta * 2.0, (lo + hi) / 2.0)
    affinities = (rows + rows.T) / (2.0 * n)
    return affinities.clamp_min(1e-12).fill_diagonal_(0.0).float()


def neighbour_loss(codes: torch.Tensor, affinities: torch.Tensor) -> torch.Tensor:
    """t-SNE's KL(P || Q) between input affinities and the Student-t affinities of the codes.

    Parameters
    ----------
    codes : torch.Tensor
        ``(n, latent_dim)`` bottleneck values.
    affinities : torch.Tensor
        ``(n, n)`` from :func:`neighbour_affinities` for the same rows.
    """
    # Explicit differences rather than torch.cdist: its backward is not deterministic-safe at 0.
    squared = (codes[:, None, :] - codes[None, :, :]).square().sum(dim=-1)
    kernel = 1.0 / (1.0 + squared)
    kernel = kernel * (1.0 - torch.eye(len(codes), dtype=kernel.dtype))
    q = kernel / kernel.sum()
    mask = affinities > 0
    return (affinities[mask] * (torch.log(affinities[mask]) - torch.log(q[mask].clamp_min(1e-12)))).sum()


def train_autoencoder(
    model: ConvAutoencoder,
    inputs: np.ndarray,
    config: TrainingConfig,
    on_epoch: Callable[[int, float], None] | None = None,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> TrainingResult:
    """Fit ``model`` to reconstruct ``inputs``; keeps the weights of the best epoch.

    With ``config.neighbour_weight > 0`` the loss is the reconstruction error
    of each batch plus that weight times :func:`neighbour_loss`: for
    collections of up to ``config.neighbour_batch`` tracks, every step encodes
    the whole collection for that term (affinities computed once); larger
    collections are trained in batches of ``neighbour_batch`` tracks, each
    with its own affinities.

    Parameters
    ----------
    model : ConvAutoencoder
        Freshly initialised model (initialise it after :func:`seed_everything`).
    inputs : np.ndarray
        ``(n_tracks, n_mels, time_bins)`` features, for instance a
        ``np.memmap``: only the rows of the current batch are read from it, so
        memory is bounded by the batch, not by the number of tracks.
    config : TrainingConfig
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, loss)`` after each epoch (progress bars).
    prepare : callable, optional
        Applied to each batch of rows read from ``inputs`` (normalisation);
        default: used as they are.

    Returns
    -------
    TrainingResult
    """
    n = len(inputs)

    def rows(index: torch.Tensor | slice) -> torch.Tensor:
        picked = inputs[index.numpy() if isinstance(index, torch.Tensor) else index]
        picked = prepare(picked) if prepare is not None else picked
        return torch.from_numpy(np.ascontiguousarray(picked, dtype=np.float32)).unsqueeze(1)

    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    result = TrainingResult()
    best_state = copy.deepcopy(model.state_dict())
    since_best = 0
    neighbours = config.neighbour_weight > 0 and n >= 3
    whole = neighbours and n <= config.neighbour_batch
    batch_size = config.batch_size if not neighbours or whole else config.neighbour_batch
    # Up to neighbour_batch tracks every step encodes them all: hold them (that many rows at most).
    data = rows(slice(None)) if whole else None
    full_affinities = neighbour_affinities(data, config.perplexity) if whole else None
    # BatchNorm needs more than one sample per batch in training mode.
    drop_last_single = n % batch_size == 1 and n > 1

    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total, seen = 0.0, 0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            if len(idx) == 1 and drop_last_single:
                continue
            batch = data[idx] if whole else rows(idx)
            optimizer.zero_grad(set_to_none=True)
            if whole:
                codes = model.encode(data)
                loss = F.mse_loss(model.decode(codes[idx]), batch)
                loss = loss + config.neighbour_weight * neighbour_loss(codes, full_affinities)
            elif neighbours and len(idx) >= 3:
                codes = model.encode(batch)
                loss = F.mse_loss(model.decode(codes), batch)
                loss = loss + config.neighbour_weight * neighbour_loss(codes, neighbour_affinities(batch, config.perplexity))
            else:
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


def encode(
    model: ConvAutoencoder,
    inputs: np.ndarray,
    batch_size: int = 256,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Bottleneck values of ``inputs`` ``(n, n_mels, time_bins)`` -> ``(n, latent_dim)`` float64.

    ``inputs`` is read ``batch_size`` rows at a time (it may be a ``np.memmap``);
    ``prepare`` is applied to each such block, as in :func:`train_autoencoder`.
    """
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            block = inputs[start : start + batch_size]
            block = prepare(block) if prepare is not None else block
            batch = torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32))
            out.append(model.encode(batch.unsqueeze(1)).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.latent_dim))
