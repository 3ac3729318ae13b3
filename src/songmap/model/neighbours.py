"""The t-SNE neighbour term: input affinities P and KL(P || Q) of the 2-D codes (parametric t-SNE).

The Kullback-Leibler divergence between Gaussian neighbour affinities of the
inputs and Student-t affinities of the 2-D codes. PyTorch is imported inside the
functions that need it: :func:`default_perplexity` is shared with the t-SNE
baseline of ``songmap compare``, which must not pay a second for ``import torch``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["default_perplexity", "neighbour_affinities", "neighbour_affinities_of_distances", "neighbour_loss"]


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
    import torch

    x = inputs.detach().reshape(len(inputs), -1).double()
    return neighbour_affinities_of_distances(torch.cdist(x, x).square(), perplexity, tolerance)


def neighbour_affinities_of_distances(squared: torch.Tensor, perplexity: float | None = None,
                                      tolerance: float = 1e-5) -> torch.Tensor:
    """:func:`neighbour_affinities` of ``(n, n)`` squared distances (any dissimilarity, diagonal ignored)."""
    import torch

    squared = squared.double().clone()
    n = len(squared)
    perplexity = default_perplexity(n) if perplexity is None else float(perplexity)
    perplexity = min(perplexity, n - 1.0)
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
    import torch

    # Explicit differences rather than torch.cdist: its backward is not deterministic-safe at 0.
    squared = (codes[:, None, :] - codes[None, :, :]).square().sum(dim=-1)
    # KL = sum P log P - sum P log q, with log q = -log(1 + d^2) - log Z: written out, it needs
    # neither q nor a mask of P's zeros (the diagonal), whose indexing was most of the term's cost
    # (1 164 tracks: 61 -> 26 ms forward and backward; BENCHMARKS.md "The neighbour term without a mask").
    off_diagonal_kernel = (1.0 / (1.0 + squared)).sum() - len(codes)
    entropy = torch.xlogy(affinities, affinities).sum()
    return entropy + (affinities * torch.log1p(squared)).sum() + torch.log(off_diagonal_kernel) * affinities.sum()
