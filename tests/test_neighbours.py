"""The neighbour term's input affinities, perplexity rule and loss (songmap.model.neighbours)."""

from __future__ import annotations

import math

import pytest
import torch

from songmap.model.neighbours import (
    default_perplexity,
    neighbour_affinities,
    neighbour_affinities_of_distances,
    neighbour_loss,
)


def test_perplexity_is_thirty_or_half_of_the_other_tracks() -> None:
    assert default_perplexity(1000) == default_perplexity(61) == 30.0
    assert default_perplexity(24) == 11.5 and default_perplexity(2) == 1.0


def test_affinities_are_a_symmetric_distribution_with_the_default_perplexity() -> None:
    points = torch.randn(24, 5, generator=torch.Generator().manual_seed(0))
    p = neighbour_affinities(points)
    assert torch.allclose(p, p.T) and float(p.sum()) == pytest.approx(1.0, abs=1e-5)
    assert torch.all(torch.diagonal(p) == 0)
    # Each row's conditional distribution has the wanted perplexity; P is their symmetric mean,
    # so the perplexities of its rows scatter around it.
    rows = p / p.sum(dim=1, keepdim=True)
    perplexities = torch.exp(-(rows * torch.log(rows.clamp_min(1e-30))).sum(dim=1))
    assert float(perplexities.median()) == pytest.approx(default_perplexity(24), rel=0.15)


def _entropy(p: torch.Tensor) -> float:
    return -float((p[p > 0] * torch.log(p[p > 0])).sum())


def test_wider_perplexity_spreads_each_track_over_more_neighbours() -> None:
    points = torch.randn(40, 3, generator=torch.Generator().manual_seed(1)).double()
    squared = torch.cdist(points, points).square()
    narrow, wide = neighbour_affinities_of_distances(squared, 5.0), neighbour_affinities_of_distances(squared, 30.0)
    assert _entropy(wide) > _entropy(narrow) + math.log(2)


def test_affinities_do_not_depend_on_the_scale_of_the_features() -> None:
    points = torch.randn(30, 4, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(neighbour_affinities(points), neighbour_affinities(points * 1e4), atol=1e-6)


def _kl_of_student_t(codes: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """KL(P || Q) from its definition, in float64: Q the normalised Student-t kernel off the diagonal."""
    kernel = 1.0 / (1.0 + torch.cdist(codes, codes).square())
    kernel.fill_diagonal_(0.0)
    q = kernel / kernel.sum()
    off = ~torch.eye(len(codes), dtype=torch.bool)
    return (p[off] * torch.log(p[off] / q[off])).sum()


def test_loss_is_the_kl_divergence_of_the_student_t_affinities_and_its_gradient() -> None:
    generator = torch.Generator().manual_seed(2)
    p = neighbour_affinities(torch.randn(30, 6, generator=generator))
    codes = (3.0 * torch.randn(30, 2, generator=generator)).requires_grad_()
    loss = neighbour_loss(codes, p)
    (gradient,) = torch.autograd.grad(loss, codes)

    reference_codes = codes.detach().double().requires_grad_()
    reference = _kl_of_student_t(reference_codes, p.double())
    (reference_gradient,) = torch.autograd.grad(reference, reference_codes)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    assert torch.allclose(gradient.double(), reference_gradient, rtol=1e-4, atol=1e-7)


def test_loss_is_lower_for_a_map_that_keeps_the_neighbours() -> None:
    generator = torch.Generator().manual_seed(3)
    points = torch.randn(40, 2, generator=generator)
    p = neighbour_affinities(points)
    shuffled = points[torch.randperm(40, generator=generator)]
    assert float(neighbour_loss(points, p)) < float(neighbour_loss(shuffled, p))
