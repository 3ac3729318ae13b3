"""The neighbour term's large-step training and the --device option (no GPU here: CPU tests,
and a CUDA comparison that runs only where PyTorch sees a GPU)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from songmap.mapper import SongMapper
from songmap.model.adam import Adam
from songmap.model.autoencoder import ConvAutoencoder
from songmap.model.training import (
    MAX_NEIGHBOUR_STEPS,
    MIN_EPOCHS,
    TrainingConfig,
    decoder_filters,
    encode,
    epoch_budget,
    neighbour_step_tracks,
    seed_everything,
    train_autoencoder,
)


def _clusters(n_per: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((3, 32, 16))
    x = np.concatenate([b + 0.3 * rng.standard_normal((n_per, 32, 16)) for b in base]).astype(np.float32)
    return x, np.repeat(np.arange(3), n_per)


def _fit(x: np.ndarray, seed: int = 0, device: str = "cpu", **config):
    seed_everything(seed)
    model = ConvAutoencoder(32, 16, (8, 16))
    settings = dict(epochs=60, seed=seed, neighbour_weight=1.0, reconstruct=8) | config
    result = train_autoencoder(model, x, TrainingConfig(**settings), device=device)
    return model, result


def test_neighbour_training_keeps_clusters_apart_and_is_repeatable() -> None:
    x, labels = _clusters()
    model, result = _fit(x)
    assert len(result.losses) == 60 and not result.stopped_early  # all epochs of the schedule run
    assert result.losses[-1] < 0.5 * result.losses[0]
    z = encode(model, x)
    # Each track's nearest map neighbour is of its own cluster.
    d = np.linalg.norm(z[:, None] - z[None], axis=-1) + np.diag(np.full(len(z), np.inf))
    assert np.mean(labels[d.argmin(axis=1)] == labels) == 1.0
    again, result2 = _fit(x)
    assert result.losses == result2.losses
    np.testing.assert_array_equal(z, encode(again, x))
    other, _ = _fit(x, seed=1)
    assert not np.allclose(z, encode(other, x))
    assert next(model.parameters()).device.type == "cpu"  # left on the CPU, whatever it trained on


def test_written_out_adam_takes_torch_adams_steps() -> None:
    x, _ = _clusters(n_per=4)
    batch = torch.from_numpy(x).unsqueeze(1)
    models = []
    for make in (lambda p: torch.optim.Adam(p, lr=1e-2), lambda p: Adam(p, lr=1e-2)):
        torch.manual_seed(0)
        model = ConvAutoencoder(32, 16, (8, 16))
        start = {k: v.clone() for k, v in model.state_dict().items()}
        optimizer = make(model.parameters())
        for _ in range(20):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(batch), batch).backward()
            optimizer.step()
        models.append(model.state_dict())
    ours, theirs = models[1], models[0]
    assert not torch.equal(ours["encoder_conv.0.weight"], start["encoder_conv.0.weight"])  # the steps moved the weights
    for name in theirs:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-4, atol=1e-5)


def test_training_does_not_import_torch_compilers() -> None:
    # torch.optim's first optimizer imports torch._dynamo and use_deterministic_algorithms imports
    # torch._inductor: 1-2 s each of every map on a 2-core CPU.
    code = (
        "import sys, numpy as np, torch\n"
        "from songmap.model.autoencoder import ConvAutoencoder\n"
        "from songmap.model.training import TrainingConfig, train_autoencoder\n"
        "from songmap.model.device import set_deterministic\n"
        "x = np.random.default_rng(0).standard_normal((12, 32, 16)).astype(np.float32)\n"
        "set_deterministic(True)\n"
        "for weight in (0.0, 1.0):\n"
        "    train_autoencoder(ConvAutoencoder(32, 16, (8, 16)), x, TrainingConfig(epochs=3, neighbour_weight=weight))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('torch._dynamo', 'torch._inductor'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_each_step_reconstructs_only_a_subset(monkeypatch) -> None:
    """The decoder (most of a step's cost) sees ``reconstruct`` tracks per step; the encoder sees all."""
    x, _ = _clusters()
    seed_everything(0)
    model = ConvAutoencoder(32, 16, (8, 16))
    decoded, encoded = [], []
    decode, encode_ = model.decode, model.encode
    monkeypatch.setattr(model, "decode", lambda z: decoded.append(len(z)) or decode(z))
    monkeypatch.setattr(model, "encode", lambda v: encoded.append(len(v)) or encode_(v))
    train_autoencoder(model, x, TrainingConfig(epochs=3, neighbour_weight=1.0, reconstruct=5))
    assert decoded == [5, 5, 5] and encoded == [30, 30, 30]


def test_small_collections_reconstruct_a_quarter_of_each_step(monkeypatch) -> None:
    """16 reconstructions would be half of a small collection's step and most of its time: a quarter is kept."""
    x, _ = _clusters()
    seed_everything(0)
    model = ConvAutoencoder(32, 16, (8, 16))
    decoded = []
    decode = model.decode
    monkeypatch.setattr(model, "decode", lambda z: decoded.append(len(z)) or decode(z))
    train_autoencoder(model, x, TrainingConfig(epochs=2, neighbour_weight=1.0, reconstruct=16))
    assert decoded == [8, 8]  # ceil(30 / 4)


def test_large_collections_take_blocks_and_every_track_is_seen() -> None:
    x, _ = _clusters(n_per=9)  # 27 tracks in blocks of 10: 3 steps per epoch
    seen: list[int] = []

    class Reader:
        def __len__(self):
            return len(x)

        def __getitem__(self, index):
            seen.extend(np.atleast_1d(np.arange(len(x))[index]).tolist())
            return x[index]

    seed_everything(0)
    model = ConvAutoencoder(32, 16, (8, 16))
    blocks = TrainingConfig(epochs=2, neighbour_weight=1.0, neighbour_whole=20, neighbour_batch=10, reconstruct=4)
    result = train_autoencoder(model, Reader(), blocks)
    assert len(result.losses) == 2
    assert len(seen) == 2 * 3 * 10 and set(seen) == set(range(len(x)))
    seen.clear()
    whole = replace(blocks, neighbour_whole=27)  # up to neighbour_whole tracks: the whole collection in each step
    seed_everything(0)
    assert len(train_autoencoder(ConvAutoencoder(32, 16, (8, 16)), Reader(), whole).losses) == 2
    assert seen == list(range(len(x)))  # read once, held for every step


def test_neighbour_step_budget() -> None:
    assert [neighbour_step_tracks(n, TrainingConfig()) for n in (52, 2048, 2049, 10_000)] == [52, 2048, 512, 512]
    assert epoch_budget(300, 52, 512, MAX_NEIGHBOUR_STEPS) == MAX_NEIGHBOUR_STEPS  # one step per epoch
    assert epoch_budget(300, 10_000, 512, MAX_NEIGHBOUR_STEPS) == max(MIN_EPOCHS, MAX_NEIGHBOUR_STEPS // 20)
    assert epoch_budget(300, 52, 16) == 300  # the plain autoencoder's budget is unchanged


def test_device_is_a_runtime_setting(small_collection: Path, tmp_path: Path) -> None:
    paths = sorted(p for p in small_collection.rglob("*") if p.suffix in (".wav", ".flac", ".ogg"))
    fast = dict(epochs=20, n_mels=64, filters=(8, 16), seed=0)
    auto = SongMapper(**fast).fit(paths)
    cpu = SongMapper(device="cpu", **fast).fit(paths)
    assert SongMapper().device == "auto" and "device" not in auto.params_
    if not torch.cuda.is_available():  # "auto" is the CPU here: the same map
        np.testing.assert_array_equal(auto.embedding_, cpu.embedding_)
    cpu.save(tmp_path / "m.safetensors")
    loaded = SongMapper.load(tmp_path / "m.safetensors", device="cpu")
    assert loaded.device == "cpu"
    np.testing.assert_allclose(loaded.transform(paths), cpu.embedding_, atol=1e-4)
    with pytest.raises(ValueError, match="The 'device' parameter of SongMapper must be a str among .*'cuda'.* Got 'gpu' instead."):
        SongMapper(device="gpu", **fast).fit(paths)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_a_one_line_error(small_collection: Path) -> None:
    paths = sorted(p for p in small_collection.rglob("*") if p.suffix in (".wav", ".flac", ".ogg"))
    with pytest.raises(ValueError, match=r"^device 'cuda' was asked for, but PyTorch sees no CUDA GPU") as info:
        SongMapper(device="cuda", epochs=1).fit(paths)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on the development machine)")
def test_cuda_training_matches_cpu_within_tolerance() -> None:
    x, labels = _clusters()
    cpu, _ = _fit(x, device="cpu")
    gpu, _ = _fit(x, device="cuda")
    a, b = encode(cpu, x), encode(gpu, x)
    # Not bit-equal (other kernels), but the same map: same nearest neighbours, close coordinates.
    scale = np.ptp(a, axis=0).max()
    assert np.abs(a - b).max() < 0.05 * scale


def test_counted_ranks_are_those_of_a_stable_sort_even_with_ties() -> None:
    from songmap.evaluation.trust import _ranks_of

    rng = np.random.default_rng(0)
    space = rng.integers(0, 4, size=(60, 2)).astype(float)  # a coarse grid: many tied distances
    cols = rng.integers(0, 60, size=(60, 7))
    cols[cols == np.arange(60)[:, None]] = 0
    ranks = _ranks_of(space, np.arange(60), cols)
    for i in range(60):
        d = np.linalg.norm(space - space[i], axis=1)
        d[i] = np.inf
        order = np.argsort(d, kind="stable")
        rank_of = np.empty(60, dtype=np.int64)
        rank_of[order] = np.arange(1, 61)
        np.testing.assert_array_equal(ranks[i], rank_of[cols[i]])


def test_continuity_reuses_the_feature_neighbours() -> None:
    from songmap.evaluation.listening import feature_neighbours
    from songmap.evaluation.quality import continuity_at, trustworthiness_at
    from songmap.evaluation.trust import track_continuity, track_trustworthiness

    rng = np.random.default_rng(1)
    features = rng.standard_normal((80, 12))
    points = features[:, :2] + 0.3 * rng.standard_normal((80, 2))
    indices, _ = feature_neighbours(features, k=10)
    shared = track_continuity(features, points, k=10, reference_neighbours=indices)
    np.testing.assert_allclose(shared, track_continuity(features, points, k=10))
    assert shared.mean() == pytest.approx(continuity_at(features, points, 10))
    assert track_trustworthiness(features, points, k=10).mean() == pytest.approx(trustworthiness_at(features, points, 10))


@pytest.mark.parametrize("n", [2, 5, 80])
def test_one_pass_gives_the_trust_and_the_feature_neighbours_of_two(n: int) -> None:
    from sklearn.metrics import pairwise_distances

    from songmap.evaluation.listening import _stored_order, feature_neighbours, neighbour_k
    from songmap.evaluation.trust import track_trustworthiness, trust_k, trust_with_reference_neighbours

    rng = np.random.default_rng(n)
    untied = rng.standard_normal((n, 12))
    tied = untied.copy()
    tied[n // 2] = tied[0]  # a duplicate: distance 0, before the track itself
    tied[n - 1] = tied[n - 2]  # two equal tracks: tied wherever they are, the lower index first
    k, m = trust_k(n), neighbour_k(n)
    for features in (untied, tied):
        points = features[:, :2] + 0.3 * rng.standard_normal((n, 2))
        trust, nearest, distances = trust_with_reference_neighbours(features, points, k=k, n_neighbours=m)
        expected = track_trustworthiness(features, points, k=k)
        if expected is None:
            assert trust is None
        else:
            np.testing.assert_array_equal(trust, expected)
        indices, rounded = _stored_order(nearest, distances, m)
        d = pairwise_distances(features)
        np.fill_diagonal(d, np.inf)
        stable = np.argsort(d, axis=1, kind="stable")[:, :m]  # ties: the lower index
        np.testing.assert_array_equal((indices, rounded), _stored_order(stable, np.take_along_axis(d, stable, axis=1), m))
    # Without ties, the very neighbours of the separate query.
    trust, nearest, distances = trust_with_reference_neighbours(untied, points, k=k, n_neighbours=m)
    np.testing.assert_array_equal(_stored_order(nearest, distances, m), feature_neighbours(untied, k=m))


def test_cluster_space_of_many_tracks_is_the_full_svds() -> None:
    from sklearn.decomposition import PCA

    from songmap.evaluation.clusters import CLUSTER_COMPONENTS, _cluster_space

    rng = np.random.default_rng(2)
    features = rng.standard_normal((400, 64)) @ rng.standard_normal((64, 64))  # more tracks than features
    full = PCA(n_components=CLUSTER_COMPONENTS, svd_solver="full", random_state=0).fit_transform(features)
    np.testing.assert_allclose(_cluster_space(features), full, atol=1e-8)


def test_cli_device_option(small_collection: Path) -> None:
    from typer.testing import CliRunner

    from songmap.app.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["map", str(small_collection), "--device", "gpu"]).exit_code == 2
    if not torch.cuda.is_available():
        result = runner.invoke(app, ["map", str(small_collection), "--device", "cuda", "--out", str(small_collection.parent / "o")])
        assert result.exit_code == 1
        assert "error: device 'cuda' was asked for, but PyTorch sees no CUDA GPU" in result.output
        assert "Traceback" not in result.output and not (small_collection.parent / "o" / "embeddings.json").exists()


def test_maps_with_the_neighbour_term_train_a_lighter_decoder(small_collection: Path, tmp_path: Path) -> None:
    assert decoder_filters((16, 32, 64), True, 52) == [16, 8, 4, 4] and decoder_filters((16, 32, 64), False, 52) is None
    assert decoder_filters((16, 32, 64), True, 2048) == [16, 8, 4, 4]
    assert decoder_filters((16, 32, 64), True, 2049) is None  # trained in blocks: the mirror
    assert decoder_filters((16, 32, 64), True, 600, TrainingConfig(neighbour_whole=512)) is None  # as the config trains it
    paths = sorted(p for p in small_collection.rglob("*") if p.suffix in (".wav", ".flac", ".ogg"))
    fast = dict(epochs=10, n_mels=64, filters=(8, 32), seed=0, device="cpu")
    light = SongMapper(**fast).fit(paths)
    assert light.model_config_["decoder_filters"] == [8, 4, 4]  # the mirror (32, 8, 8) // 4, at least 4
    plain = SongMapper(preset="seed", **fast).fit(paths)
    assert plain.model_config_["decoder_filters"] == [32, 8, 8]  # the notebooks' model keeps the mirror
    light.save(tmp_path / "m.safetensors")
    loaded = SongMapper.load(tmp_path / "m.safetensors")
    assert loaded.model_config_ == light.model_config_
    np.testing.assert_allclose(loaded.transform(paths), light.embedding_, atol=1e-4)
    x = torch.from_numpy(light.features_for(paths).reshape(len(paths), 1, light.input_height, -1).astype(np.float32))
    with torch.no_grad():  # the decoder's weights load too: the same reconstructions
        torch.testing.assert_close(loaded.model_(x), light.model_(x))
