"""benchmarks/map_ceiling.py's free coordinates: the neighbour term optimised without an encoder."""

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import torch  # noqa: E402

from map_ceiling import _bank_loss, _channels, encoder_codes, free_codes  # noqa: E402
from songmap.evaluation.quality import trustworthiness_at  # noqa: E402
from songmap.model.neighbours import neighbour_affinities, neighbour_loss  # noqa: E402


def _clusters(seed=0):
    """Four tight clusters of 15 points in 8 dimensions, far apart."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 5.0, (4, 8))
    return np.concatenate([rng.normal(c, 0.3, (15, 8)) for c in centres]), np.repeat(np.arange(4), 15)


def test_free_codes_keep_clusters_apart_and_neighbourhoods_true():
    x, labels = _clusters()
    codes = free_codes(x, start="pca", steps=120)
    assert codes.shape == (60, 2) and np.all(np.isfinite(codes))
    # every point's nearest map neighbour is in its own cluster
    d = np.linalg.norm(codes[:, None] - codes[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert np.all(labels[d.argmin(axis=1)] == labels)
    assert trustworthiness_at(x, codes, 10) > 0.9


def test_free_codes_are_more_faithful_after_optimising_than_at_the_start():
    x, _ = _clusters(1)
    start = free_codes(x, start="random", steps=0, seed=3)
    trained = free_codes(x, start="random", steps=150, seed=3)
    assert trustworthiness_at(x, trained, 10) > trustworthiness_at(x, start, 10) + 0.05


def test_free_codes_are_deterministic_and_check_the_start():
    x, _ = _clusters(2)
    np.testing.assert_array_equal(free_codes(x, start="random", steps=30, seed=5), free_codes(x, start="random", steps=30, seed=5))
    with pytest.raises(ValueError, match="start must be"):
        free_codes(x, start="umap")


def test_the_bank_term_moves_a_batch_as_the_whole_term_does():
    x, _ = _clusters(3)
    affinities = neighbour_affinities(torch.from_numpy(x).float())
    codes = torch.randn(60, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    rows = torch.tensor([3, 17, 18, 40, 59])
    whole = codes.clone().requires_grad_(True)
    neighbour_loss(whole, affinities).backward()
    batch = codes[rows].clone().requires_grad_(True)
    _bank_loss(codes.index_put((rows,), batch), rows, affinities).backward()
    torch.testing.assert_close(batch.grad, whole.grad[rows], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("bank", [None, 20])
def test_an_encoder_on_the_neighbour_term_learns_the_clusters(bank):
    rng = np.random.default_rng(4)
    centres = rng.normal(0.0, 3.0, (3, 32))
    x = np.concatenate([rng.normal(c, 0.3, (16, 32)) for c in centres])
    labels = np.repeat(np.arange(3), 16)
    start = encoder_codes(x, shape=(8, 4), steps=0, bank=bank, seed=1)
    codes = encoder_codes(x, shape=(8, 4), steps=80, bank=bank, seed=1)
    assert codes.shape == (48, 2) and np.all(np.isfinite(codes))
    d = np.linalg.norm(codes[:, None] - codes[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert np.mean(labels[d.argmin(axis=1)] == labels) > 0.95
    assert trustworthiness_at(x, codes, 5) > trustworthiness_at(x, start, 5)
    np.testing.assert_array_equal(codes, encoder_codes(x, shape=(8, 4), steps=80, bank=bank, seed=1))


def test_encoder_channels_are_read_or_refused_in_one_line():
    assert _channels("8,16,32") == (8, 16, 32)
    for bad in ("8,x", "0,8", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="positive channel counts"):
            _channels(bad)
