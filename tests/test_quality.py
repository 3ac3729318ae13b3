"""Map quality: the metrics on point sets with known answers, the baselines, the modulation features,
and the autoencoder and `songmap compare` on generated audio whose neighbours are known."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import write_audio
from songmap.app.cli import app
from songmap.evaluation.baselines import BASELINES, tsne_perplexity, umap_neighbours
from songmap.evaluation.quality import continuity_at, knn_category_agreement, map_quality, trustworthiness_at
from songmap.features.modulation import MODULATION_OFFSET, modulation_band_edges, modulation_spectrum
from songmap.mapper import PRESETS, SongMapper

runner = CliRunner()
SR = 22050


# -- metrics on point sets with known answers -----------------------------------------------------


def _clusters(n_per: int = 10, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Three well separated Gaussian clusters in 20-D, labelled a/b/c."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 20)) * 10
    points = np.concatenate([c + rng.normal(size=(n_per, 20)) for c in centres])
    return points, [label for label in "abc" for _ in range(n_per)]


def test_identical_embedding_is_perfectly_trustworthy_and_continuous() -> None:
    points, _ = _clusters()
    for k in (5, 10):
        assert trustworthiness_at(points, points, k) == pytest.approx(1.0)
        assert continuity_at(points, points, k) == pytest.approx(1.0)
    # Any rotation, scaling and shift of a 2-D map keeps every neighbourhood.
    flat = points[:, :2]
    moved = 3.0 * flat @ np.array([[0.0, -1.0], [1.0, 0.0]]) + 7.0
    assert trustworthiness_at(flat, moved, 10) == pytest.approx(1.0)


def test_a_shuffled_map_is_not_trustworthy() -> None:
    points, _ = _clusters()
    good = points[:, :2]
    shuffled = good[np.random.default_rng(1).permutation(len(good))]
    assert trustworthiness_at(points, shuffled, 5) < 0.75 < trustworthiness_at(points, good, 5)
    assert continuity_at(points, shuffled, 5) < 0.75


def test_trustworthiness_and_continuity_swap_roles() -> None:
    rng = np.random.default_rng(2)
    reference, points = rng.normal(size=(30, 5)), rng.normal(size=(30, 2))
    assert continuity_at(reference, points, 5) == pytest.approx(trustworthiness_at(points, reference, 5))


def test_too_few_points_for_k_give_none() -> None:
    points = np.random.default_rng(3).normal(size=(8, 2))  # no distance ties
    assert trustworthiness_at(points, points, 5) is None  # k must be below n / 2
    assert trustworthiness_at(points, points, 3) == pytest.approx(1.0)


def test_knn_category_agreement() -> None:
    points, labels = _clusters()
    assert knn_category_agreement(points[:, :2], labels) == pytest.approx(1.0)
    # Labels that ignore the clusters: about the share of each label among the others.
    alternating = ["a" if i % 2 else "b" for i in range(len(labels))]
    assert knn_category_agreement(points, alternating) < 0.7
    # Uncategorised points take no part; a single category says nothing.
    assert knn_category_agreement(points, [None] * 10 + labels[10:]) == pytest.approx(1.0)
    assert knn_category_agreement(points, ["a"] * len(labels)) is None


def test_map_quality_document() -> None:
    points, labels = _clusters()
    files = [f"track {i}.wav" for i in range(len(points))]
    # Track 0's nearest neighbour in the map is track 1 (they coincide); track 29 is far away.
    xy = points[:, :2].copy()
    xy[1] = xy[0]
    pairs = [{"a": "track 0.wav", "b": "track 1.wav", "kind": "storm"}, {"a": "track 0.wav", "b": "track 29.wav", "kind": ""}]
    quality = map_quality(points, xy, files, labels, pairs)
    assert quality["n_tracks"] == 30
    assert set(quality["trustworthiness"]) == {"5", "10"} and set(quality["continuity"]) == {"5", "10"}
    assert quality["knn_category_agreement"] == pytest.approx(1.0)
    assert quality["pairs"][0] == {"a": "track 0.wav", "b": "track 1.wav", "kind": "storm", "rank_a_to_b": 1, "rank_b_to_a": 1}
    assert quality["pairs"][1]["rank_a_to_b"] > 10
    json.dumps(quality, allow_nan=False)


# -- baselines -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_keep_clusters_and_are_deterministic(name: str) -> None:
    points, labels = _clusters()
    xy = BASELINES[name](points, seed=0)
    assert xy.shape == (30, 2) and np.isfinite(xy).all()
    assert knn_category_agreement(xy, labels) >= 0.95
    np.testing.assert_array_equal(xy, BASELINES[name](points, seed=0))


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_on_tiny_collections(name: str) -> None:
    for n in (2, 3, 5):
        xy = BASELINES[name](np.random.default_rng(n).normal(size=(n, 8)), seed=0)
        assert xy.shape == (n, 2) and np.isfinite(xy).all()


def test_neighbourhood_sizes_adapt_to_small_sets() -> None:
    assert tsne_perplexity(1000) == 30 and tsne_perplexity(11) == 5 and tsne_perplexity(2) == 1
    assert umap_neighbours(1000) == 15 and umap_neighbours(6) == 5 and umap_neighbours(2) == 2


# -- modulation spectra --------------------------------------------------------------------------


def test_modulation_band_edges_are_increasing_and_in_range() -> None:
    for n_freqs in (3, 23, 188, 647):
        edges = modulation_band_edges(n_freqs, 16)
        assert len(edges) == 17 and edges[0] == 1 and edges[-1] <= n_freqs
        assert np.all(np.diff(edges) >= 0)
    assert np.all(np.diff(modulation_band_edges(647, 16)) >= 1)


def test_modulation_spectrum_ignores_where_a_loop_starts_and_sees_its_rate() -> None:
    frames = np.arange(1024)
    slow = np.where((frames // 32) % 2 == 0, 0.0, -40.0)[None, :].repeat(4, axis=0)  # ~0.7 Hz pulse
    fast = np.where((frames // 4) % 2 == 0, 0.0, -40.0)[None, :].repeat(4, axis=0)  # ~5 Hz pulse
    spectrum = modulation_spectrum(slow, 16)
    assert spectrum.shape == (4, 16) and spectrum.dtype == np.float32
    shifted = modulation_spectrum(np.roll(slow, 23, axis=1), 16)
    other = modulation_spectrum(fast, 16)
    # Starting the loop elsewhere changes the spectrum far less than a different rhythm does.
    assert np.abs(shifted - spectrum).mean() < 0.1 * np.abs(other - spectrum).mean()
    assert np.argmax(spectrum[0]) < np.argmax(other[0])


def test_modulation_spectrum_of_a_flat_band_is_the_floor() -> None:
    spectrum = modulation_spectrum(np.full((2, 100), -30.0), 8)
    np.testing.assert_allclose(spectrum, np.log(MODULATION_OFFSET), atol=1e-6)


# -- the autoencoder and `compare` on generated audio with known neighbours -------------------------

FAST = dict(epochs=80, n_mels=64, filters=(8, 16), patience=20)


def _family_track(family: str, variant: int, seconds: float = 4.0) -> np.ndarray:
    """A track of one of three families that differ in timbre and rhythm; variants differ in pitch and tempo."""
    rng = np.random.default_rng(100 * ord(family[0]) + variant)
    t = np.arange(int(seconds * SR)) / SR
    if family == "drone":  # low harmonic tone, slowly swelling
        f0, swell = 90 * 1.5**variant, 0.25 * (variant + 1)
        y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5)) * (0.6 + 0.4 * np.sin(2 * np.pi * swell * t))
    elif family == "arp":  # bright square-wave notes, 5-9 per second
        rate = 5 + 2 * variant
        notes = 500 * 1.2**variant * 2 ** (rng.integers(0, 12, size=int(seconds * rate) + 1) / 12)
        f = notes[(t * rate).astype(int)]
        y = np.sign(np.sin(2 * np.pi * np.cumsum(f) / SR)) * 0.5
    else:  # "drums": decaying noise hits, 1.5-3.5 per second
        rate = 1.5 + variant
        y = rng.standard_normal(len(t)) * np.exp(-((t * rate) % 1.0) * 12)
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


def _noise_bed(n: int, level_db: float, seed: int) -> np.ndarray:
    """Brown noise (integrated white noise, high-passed by a leak), like rain and wind."""
    white = np.random.default_rng(seed).standard_normal(n)
    brown = np.zeros(n)
    for i in range(1, n):  # a leaky integrator: -6 dB/octave above a few Hz
        brown[i] = 0.995 * brown[i - 1] + white[i]
    return brown * 10 ** (level_db / 20)


@pytest.fixture(scope="module")
def families(tmp_path_factory) -> Path:
    """Three families of three tracks, plus a noisy copy (noise bed at -12 dB RMS) of one drone."""
    root = tmp_path_factory.mktemp("families")
    rows = []
    for family in ("drone", "arp", "drums"):
        for variant in range(3):
            name = f"{family} {variant}.wav"
            write_audio(root / name, _family_track(family, variant), SR)
            rows.append((name, family))
    original = _family_track("drone", 1)
    bed = _noise_bed(len(original), 0.0, seed=7)
    bed *= np.sqrt(np.mean(original**2) / np.mean(bed**2)) * 10 ** (-12 / 20)
    noisy = original + bed
    write_audio(root / "drone 1 (Storm).wav", (0.5 * noisy / np.max(np.abs(noisy))).astype(np.float32), SR)
    rows.append(("drone 1 (Storm).wav", "drone"))
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("filename", "category"), *rows])
    (root / "pairs.csv").write_text("a,b,kind\ndrone 1.wav,drone 1 (Storm).wav,storm\n", encoding="utf-8")
    return root


def test_improved_autoencoder_puts_a_noisy_copy_first_and_keeps_families(families: Path, tmp_path: Path) -> None:
    paths = sorted(families.glob("*.wav"))
    names = [p.name for p in paths]
    mapper = SongMapper(seed=0, cache_dir=tmp_path / "cache", **FAST)
    xy = mapper.fit_transform(paths)
    reference = mapper.features_for(paths)
    assert reference.shape == (10, 64 * PRESETS["default"]["modulation_bins"]) and np.isfinite(reference).all()
    family = [n.split()[0] for n in names]
    pairs = [{"a": "drone 1.wav", "b": "drone 1 (Storm).wav", "kind": "storm"}]
    quality = map_quality(reference, xy, names, family, pairs)
    assert quality["pairs"][0]["rank_a_to_b"] == 1 and quality["pairs"][0]["rank_b_to_a"] == 1
    # Families have 3-4 members, so only the 2 nearest neighbours can all be family.
    assert knn_category_agreement(xy, family, k=2) >= 0.9
    assert quality["trustworthiness"]["5"] is None  # n=10: k=5 is not below n/2
    assert map_quality(reference, xy, ks=(3,))["trustworthiness"]["3"] >= 0.9


def test_presets_fill_in_what_was_not_given_when_fitting(families: Path, tmp_path: Path) -> None:
    paths = sorted(families.glob("*.wav"))[:3]
    one_epoch = {**FAST, "epochs": 1, "cache_dir": tmp_path / "cache"}
    seed = SongMapper(preset="seed", **one_epoch).fit(paths)
    assert {k: seed.params_[k] for k in PRESETS["seed"]} == PRESETS["seed"]
    default = SongMapper(**one_epoch).fit(paths)
    assert {k: default.params_[k] for k in PRESETS["default"]} == PRESETS["default"]
    mixed = SongMapper(preset="seed", neighbour_weight=0.5, **one_epoch).fit(paths)
    assert mixed.params_["representation"] == "pooled" and mixed.params_["neighbour_weight"] == 0.5
    assert mixed.representation is None  # __init__ stores what it was given, nothing else


def test_set_params_preset_changes_the_representation(families: Path, tmp_path: Path) -> None:
    """A preset set after construction takes effect: presets are resolved in fit, not in __init__."""
    paths = sorted(families.glob("*.wav"))[:3]
    mapper = SongMapper(preset="seed", **{**FAST, "epochs": 1, "cache_dir": tmp_path / "cache"}).fit(paths)
    assert mapper.representation_ == "pooled"
    mapper.set_params(preset="default").fit(paths)
    assert mapper.representation_ == "modulation"
    assert mapper.params_["neighbour_weight"] == PRESETS["default"]["neighbour_weight"]
    assert mapper.weights_["to_latent.weight"].shape[1] != 0


def test_bad_preset_or_representation_fail_at_fit_with_a_clear_message(tmp_path: Path) -> None:
    mapper = SongMapper(preset="nope")  # __init__ checks nothing, as in scikit-learn
    with pytest.raises(ValueError, match="preset must be one of seed, default"):
        mapper.fit([tmp_path / "a.wav", tmp_path / "b.wav"])
    with pytest.raises(ValueError, match="representation"):
        SongMapper(representation="raw").fit([tmp_path / "a.wav", tmp_path / "b.wav"])


def test_save_load_keeps_the_representation_and_old_models_load_as_seed(families: Path, tmp_path: Path) -> None:
    import torch

    paths = sorted(families.glob("*.wav"))[:4]
    mapper = SongMapper(seed=0, cache_dir=tmp_path / "cache", **{**FAST, "epochs": 5}).fit(paths)
    mapper.save(tmp_path / "model.safetensors")
    loaded = SongMapper.load(tmp_path / "model.safetensors")
    assert loaded.params_ == mapper.params_
    np.testing.assert_allclose(loaded.transform(paths), mapper.embedding_, atol=1e-5)
    np.testing.assert_allclose(loaded.features_for(paths), mapper.features_for(paths))

    # Files songmap wrote before model format 3 are torch.save dictionaries (model.pt); they still load.
    # Version 1, written before presets existed (no preset/representation), is the seed model.
    old = SongMapper(preset="seed", seed=0, **{**FAST, "epochs": 5}).fit(paths)
    for version in (1, 2):
        state = _legacy_model_pt(old, version)
        torch.save(state, tmp_path / f"old{version}.pt")
        reloaded = SongMapper.load(tmp_path / f"old{version}.pt")
        assert reloaded.representation_ == "pooled" and reloaded.params_["crop_percentile"] == old.params_["crop_percentile"]
        assert reloaded.training_.losses == pytest.approx(old.training_.losses)
        np.testing.assert_allclose(reloaded.transform(paths), old.embedding_, atol=1e-5)


def _legacy_model_pt(mapper: SongMapper, version: int) -> dict:
    """What ``SongMapper.save`` wrote with ``torch.save`` in model formats 1 and 2."""
    import dataclasses

    import torch

    params = dict(mapper.params_)
    if version == 1:
        for key in ("preset", "representation", "modulation_bins", "neighbour_weight"):
            del params[key]
    t = mapper.training_
    return {
        "format": "songmap-model", "format_version": version, "songmap_version": "0.1.0", "params": params,
        "feature_params": dataclasses.asdict(mapper._feature_params()), "crop_seconds": float(mapper.crop_seconds_),
        "band_mean": torch.from_numpy(mapper.band_mean_), "band_std": torch.from_numpy(mapper.band_std_),
        "model_config": mapper.model_.config(), "state_dict": mapper.model_.state_dict(),
        "training": {"losses": list(t.losses), "best_epoch": t.best_epoch, "best_loss": t.best_loss, "stopped_early": t.stopped_early},
    }


def test_saved_model_is_safetensors_readable_without_pytorch(families: Path, tmp_path: Path) -> None:
    """model.safetensors holds the weights and a JSON header, and placing songs with it never imports torch."""
    import json
    import subprocess
    import sys

    from safetensors import safe_open

    paths = sorted(families.glob("*.wav"))[:4]
    mapper = SongMapper(seed=0, cache_dir=tmp_path / "cache", **{**FAST, "epochs": 5}).fit(paths)
    mapper.save(tmp_path / "model.safetensors")
    with safe_open(str(tmp_path / "model.safetensors"), framework="numpy") as f:
        header = json.loads(f.metadata()["songmap"])
        names = set(f.keys())
    assert header["format"] == "songmap-model" and header["format_version"] == 3
    assert header["params"] == mapper.params_ and header["crop_seconds"] == mapper.crop_seconds_
    assert {"band_mean", "band_std", "state.to_latent.weight"} <= names

    code = (
        "import sys, json; from songmap.mapper import SongMapper; "
        f"m = SongMapper.load({str(tmp_path / 'model.safetensors')!r}); "
        f"print(json.dumps(m.transform({[str(p) for p in paths]!r}).tolist())); "
        "print('torch imported:', 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    placed, imported = result.stdout.strip().splitlines()
    np.testing.assert_allclose(json.loads(placed), mapper.embedding_, atol=1e-5)
    assert imported == "torch imported: False"


def test_compare_command_writes_quality_and_figure(families: Path, tmp_path: Path) -> None:
    out = tmp_path / "compare"
    result = runner.invoke(
        app, ["compare", str(families), "--out", str(out), "--epochs", "80", "--methods", "ae,pca,tsne,umap"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert (out / "compare.png").stat().st_size > 5000
    doc = json.loads((out / "quality.json").read_text(encoding="utf-8"))
    assert list(doc["methods"]) == ["ae", "pca", "tsne", "umap"]
    assert doc["n_tracks"] == 10 and "modulation" in doc["reference_space"]
    for name, quality in doc["methods"].items():
        assert quality["seconds"] >= 0
        assert set(quality["trustworthiness"]) == {"5", "10"}
        assert quality["knn_category_agreement"] is not None
        assert [(p["a"], p["b"]) for p in quality["pairs"]] == [("drone 1.wav", "drone 1 (Storm).wav")]
        assert all(len(t[name]) == 2 for t in doc["tracks"])
    # The autoencoder keeps the noisy copy next to its original.
    ae_pair = doc["methods"]["ae"]["pairs"][0]
    assert (ae_pair["rank_a_to_b"], ae_pair["rank_b_to_a"]) == (1, 1)
    assert "t-SNE" in result.output and "UMAP" in result.output and "quality.json" in result.output


def test_compare_subset_of_methods_and_bad_method(families: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", str(families), "--out", str(tmp_path / "c"), "--methods", "pca"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "c" / "quality.json").read_text(encoding="utf-8"))
    assert list(doc["methods"]) == ["pca"]
    bad = runner.invoke(app, ["compare", str(families), "--out", str(tmp_path / "d"), "--methods", "pca,lda"])
    assert bad.exit_code == 2 and "lda" in bad.output


def test_map_reports_quality_in_embeddings_json(families: Path, tmp_path: Path) -> None:
    out = tmp_path / "map"
    result = runner.invoke(app, ["map", str(families), "--out", str(out), "--epochs", "30", "--n-mels", "64", "--filters", "8,16"])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    quality = doc["quality"]
    assert quality["n_tracks"] == 10 and "reference_space" in quality
    assert quality["trustworthiness"]["5"] is None and quality["continuity"]["5"] is None  # n=10 is too few for k=5
    assert 0 <= quality["knn_category_agreement"] <= 1
    assert quality["pairs"][0]["rank_a_to_b"] >= 1
    assert "Quality:" in result.output and "kNN category agreement" in result.output


def test_large_maps_are_measured_on_a_sample_and_with_a_tree(monkeypatch) -> None:
    import songmap.evaluation.quality as quality_module

    points, labels = _clusters(n_per=40)
    dense = map_quality(points, points[:, :2], categories=labels)
    monkeypatch.setattr(quality_module, "MAX_TRUSTWORTHINESS_TRACKS", 60)
    monkeypatch.setattr(quality_module, "_DENSE_LIMIT", 50)
    sampled = map_quality(points, points[:, :2], categories=labels)
    assert sampled["sampled"] == 60 and "sampled" not in dense
    assert sampled["knn_category_agreement"] == pytest.approx(dense["knn_category_agreement"])
    assert abs(sampled["trustworthiness"]["10"] - dense["trustworthiness"]["10"]) < 0.05
