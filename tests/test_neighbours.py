"""The neighbour term's input affinities and perplexity rule (songmap.model.neighbours)."""

from __future__ import annotations

import math

import pytest
import torch

from songmap.model.neighbours import default_perplexity, neighbour_affinities, neighbour_affinities_of_distances


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
