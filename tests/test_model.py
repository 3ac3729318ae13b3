"""Model stage: the two-neuron convolutional autoencoder and its training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from songmap.model.autoencoder import ConvAutoencoder
from songmap.model.training import TrainingConfig, encode, seed_everything, train_autoencoder


@pytest.mark.parametrize("n_mels, time_bins, filters", [(128, 64, (16, 32, 64)), (40, 30, (8, 16)), (96, 17, (4, 8, 8, 8))])
def test_latent_is_two_dimensional_and_output_matches_input(n_mels: int, time_bins: int, filters) -> None:
    model = ConvAutoencoder(n_mels, time_bins, filters)
    x = torch.randn(3, 1, n_mels, time_bins)
    assert model.encode(x).shape == (3, 2)
    assert model(x).shape == x.shape
    assert isinstance(model.to_latent, torch.nn.Linear) and model.to_latent.out_features == 2


def test_filter_counts_are_adjustable() -> None:
    small = sum(p.numel() for p in ConvAutoencoder(64, 32, (4, 8)).parameters())
    large = sum(p.numel() for p in ConvAutoencoder(64, 32, (32, 64)).parameters())
    assert large > 4 * small
    with pytest.raises(ValueError):
        ConvAutoencoder(64, 32, ())


def _clusters(n_per: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((3, 32, 16))
    x = np.concatenate([b + 0.1 * rng.standard_normal((n_per, 32, 16)) for b in base]).astype(np.float32)
    labels = np.repeat(np.arange(3), n_per)
    return x, labels


def _train(seed: int, x: np.ndarray, epochs: int = 40):
    seed_everything(seed)
    model = ConvAutoencoder(32, 16, (8, 16))
    result = train_autoencoder(model, x, TrainingConfig(epochs=epochs, batch_size=8, seed=seed, patience=1000))
    return model, result


def test_training_reduces_loss_and_separates_clusters() -> None:
    x, labels = _clusters()
    model, result = _train(0, x)
    assert result.losses[-1] < 0.5 * result.losses[0]
    z = encode(model, x)
    centroids = np.array([z[labels == k].mean(axis=0) for k in range(3)])
    within = np.mean([np.linalg.norm(z[labels == k] - centroids[k], axis=1).mean() for k in range(3)])
    between = np.min([np.linalg.norm(centroids[a] - centroids[b]) for a in range(3) for b in range(a + 1, 3)])
    assert between > 2 * within


def test_training_is_deterministic_for_a_seed() -> None:
    x, _ = _clusters()
    m1, r1 = _train(7, x, epochs=10)
    m2, r2 = _train(7, x, epochs=10)
    m3, _ = _train(8, x, epochs=10)
    assert r1.losses == r2.losses
    np.testing.assert_array_equal(encode(m1, x), encode(m2, x))
    assert not np.allclose(encode(m1, x), encode(m3, x))


def test_early_stopping_keeps_best_weights() -> None:
    x, _ = _clusters()
    seed_everything(0)
    model = ConvAutoencoder(32, 16, (8, 16))
    snapshots = []  # the weights after each epoch
    result = train_autoencoder(
        model, x, TrainingConfig(epochs=500, batch_size=8, patience=5, min_delta=0.0, learning_rate=5e-2),
        on_epoch=lambda epoch, loss: snapshots.append({k: v.clone() for k, v in model.state_dict().items()}),
    )
    assert result.stopped_early
    assert len(result.losses) < 500
    assert result.best_loss == min(result.losses) and result.best_epoch == int(np.argmin(result.losses))
    assert result.best_epoch < len(result.losses) - 1  # the last epoch was not the best, so keeping the best matters
    # The kept weights are exactly those after the best epoch, not the last epoch's.
    kept = model.state_dict()
    assert all(torch.equal(kept[k], snapshots[result.best_epoch][k]) for k in kept)
    assert not all(torch.equal(kept[k], snapshots[-1][k]) for k in kept)


class _RowReader:
    """An array-like over ``x`` that records how many rows each read asked for."""

    def __init__(self, x: np.ndarray):
        self.x, self.reads = x, []

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index):
        rows = self.x[index]
        self.reads.append(len(rows))
        return rows


@pytest.mark.parametrize("neighbour_weight, neighbour_batch", [(0.0, 512), (1.0, 512), (1.0, 10)])
def test_training_reads_batches_from_a_memmap_and_prepares_each(tmp_path, neighbour_weight: float, neighbour_batch: int) -> None:
    """Training on raw rows in a memmap, normalised batch by batch, is the same training as on a
    normalised in-memory copy; and outside the whole-collection neighbour mode no read exceeds a batch."""
    x, _ = _clusters()
    x = 3.0 * x + 5.0
    mean, std = x.mean(axis=(0, 2), keepdims=True), x.std(axis=(0, 2), keepdims=True)
    stored = np.memmap(tmp_path / "rows.f32", dtype=np.float32, mode="w+", shape=x.shape)
    stored[:] = x
    config = TrainingConfig(epochs=6, batch_size=8, seed=1, patience=1000, neighbour_weight=neighbour_weight,
                            neighbour_whole=neighbour_batch, neighbour_batch=neighbour_batch)
    runs = []
    for inputs, prepare in [((x - mean) / std, None), (_RowReader(stored), lambda rows: (rows - mean) / std)]:
        seed_everything(1)
        model = ConvAutoencoder(32, 16, (8, 16))
        result = train_autoencoder(model, inputs, config, prepare=prepare)
        runs.append((result.losses, encode(model, inputs, batch_size=5, prepare=prepare), inputs))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    reads = runs[1][2].reads
    whole_collection = neighbour_weight > 0 and len(x) <= neighbour_batch
    largest_batch = len(x) if whole_collection else (neighbour_batch if neighbour_weight > 0 else 8)
    assert max(reads) == largest_batch
    assert whole_collection or len(reads) > 6  # every step read its own batch


@pytest.mark.parametrize("n_mels, width, filters", [(128, 16, (16, 32, 64)), (40, 30, (8, 16)), (96, 17, (4, 8, 8, 8))])
def test_numpy_encoder_matches_the_pytorch_encoder(n_mels: int, width: int, filters) -> None:
    """songmap.model.numpy_encoder (used to place songs without PyTorch) computes what ConvAutoencoder.encode does,
    batch-norm running statistics included."""
    from songmap.model.numpy_encoder import encode_numpy

    seed_everything(0)
    model = ConvAutoencoder(n_mels, width, filters)
    model.train()
    with torch.no_grad():
        for _ in range(3):  # move the running statistics away from their initial 0 and 1
            model(3.0 * torch.randn(16, 1, n_mels, width) + 1.0)
    model.eval()
    x = np.random.default_rng(1).standard_normal((23, n_mels, width)).astype(np.float32)
    weights = {name: value.numpy() for name, value in model.state_dict().items()}
    expected = encode(model, x)
    np.testing.assert_allclose(encode_numpy(weights, x, batch_size=5), expected, atol=1e-5)
    np.testing.assert_allclose(encode_numpy(weights, 2 * x, prepare=lambda rows: rows / 2), expected, atol=1e-5)
    assert np.abs(expected).max() > 1e-3  # not trivially zero


def test_a_lighter_decoder_leaves_the_encoder_as_it_was() -> None:
    torch.manual_seed(0)
    mirror = ConvAutoencoder(140, 16, (16, 32, 64))
    torch.manual_seed(0)
    light = ConvAutoencoder(140, 16, (16, 32, 64), decoder_filters=(16, 8, 4, 4))
    assert mirror.config()["decoder_filters"] == [64, 32, 16, 16] and light.config()["decoder_filters"] == [16, 8, 4, 4]
    # The same encoder, weight for weight (initialised first from the same seed); only the decoder shrinks.
    for (name, a), (other, b) in zip(mirror.encoder_conv.state_dict().items(), light.encoder_conv.state_dict().items()):
        assert name == other and torch.equal(a, b)
    assert torch.equal(mirror.to_latent.weight, light.to_latent.weight)
    x = torch.randn(5, 1, 140, 16)
    mirror.eval(), light.eval()
    assert torch.equal(mirror.encode(x), light.encode(x)) and light(x).shape == x.shape
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(light) < 0.5 * count(mirror)
    with pytest.raises(ValueError, match="decoder_filters must be 4 positive channel counts"):
        ConvAutoencoder(140, 16, (16, 32, 64), decoder_filters=(16, 8, 4))


def test_a_model_config_without_decoder_filters_is_the_mirrored_decoder() -> None:
    """Models saved before decoder_filters existed name no decoder: theirs mirrors the encoder, and loads."""
    saved = ConvAutoencoder(40, 30, (8, 16))
    config = {k: v for k, v in saved.config().items() if k != "decoder_filters"}
    loaded = ConvAutoencoder(**config)
    loaded.load_state_dict(saved.state_dict())
    assert loaded.config() == saved.config() and loaded.decoder_filters == [16, 8, 8]


# -- when the neighbour training stops ---------------------------------------------------------------


def _schedule_run(losses_of_step, *, budget: int = 300, window: int = 10, delta: float = 0.02, share: float = 0.5):
    """The step sizes a schedule gives until it stops, the step's loss being ``losses_of_step(step)``."""
    from songmap.model.training import _PlateauSchedule

    schedule = _PlateauSchedule(1.0, budget, window, delta, share)
    losses, sizes = [], []
    for step in range(budget):
        size = schedule.step_size(step, losses)
        if size is None:
            break
        sizes.append(size)
        losses.append(losses_of_step(step))
    return sizes, schedule


def test_a_flat_loss_anneals_after_two_windows_and_stops() -> None:
    sizes, schedule = _schedule_run(lambda step: 1.0)
    # Two windows at the peak, then a cosine over half the steps taken so far.
    assert schedule.anneal_start == 20 and len(sizes) == 30
    assert sizes[:21] == [1.0] * 21
    assert all(a > b for a, b in zip(sizes[20:], sizes[21:])) and 0 < sizes[-1] < 0.05


def test_a_falling_loss_keeps_the_peak_and_still_ends_annealed_within_the_budget() -> None:
    sizes, schedule = _schedule_run(lambda step: 0.9 ** step, budget=90)
    assert schedule.anneal_start == 60 and len(sizes) == 90  # 60 + 60 / 2 = the budget
    assert sizes[:61] == [1.0] * 61 and sizes[-1] < 0.01


def test_the_loss_must_fall_by_delta_between_windows_to_keep_the_peak() -> None:
    # 3 % per window is progress at delta 2 %, not at 5 %.
    falling = lambda step: 0.97 ** (step // 10)  # noqa: E731
    assert _schedule_run(falling, budget=120, delta=0.02)[1].anneal_start == 80
    assert _schedule_run(falling, budget=120, delta=0.05)[1].anneal_start == 20


def test_neighbour_training_stops_at_a_plateau_repeatably() -> None:
    x, _ = _clusters()
    config = TrainingConfig(epochs=300, seed=3, neighbour_weight=1.0)
    runs = []
    for _ in range(2):
        seed_everything(3)
        model = ConvAutoencoder(32, 16, (8, 16))
        result = train_autoencoder(model, x, config)
        runs.append((result, encode(model, x)))
    (first, codes), (second, again) = runs
    assert first.stopped_early and 2 * config.plateau_steps < len(first.losses) < 300
    assert first.losses == second.losses
    np.testing.assert_array_equal(codes, again)
    # The anneal began at the first plateau of the losses (a window within plateau_delta of the one
    # before) and took anneal_share of the steps before it.
    k, losses = config.plateau_steps, first.losses
    start = next(s for s in range(2 * k, len(losses))
                 if np.mean(losses[s - 2 * k : s - k]) - np.mean(losses[s - k : s]) < config.plateau_delta * np.mean(losses[s - 2 * k : s - k]))
    assert len(losses) == start + max(k, round(config.anneal_share * start))


def test_progress_ends_full_at_the_epochs_training_took() -> None:
    from songmap.model.training import fit_autoencoder

    x, _ = _clusters()
    calls = []
    _, result, _, _ = fit_autoencoder(x, filters=(8, 16), epochs=300, config=TrainingConfig(seed=3, neighbour_weight=1.0),
                                      on_epoch=lambda epoch, total, loss: calls.append((epoch, total)))
    assert result.stopped_early and len(result.losses) < 300
    assert calls[0] == (0, 300) and calls[-2] == (len(result.losses) - 1, 300)
    assert calls[-1] == (len(result.losses) - 1, len(result.losses))  # the bar ends at n/n
