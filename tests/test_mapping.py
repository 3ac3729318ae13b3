"""Mapping stage: SongMapper's estimator contract on generated audio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import FAST, write_audio, write_small_collection
from songmap.mapper import PRESETS, NotFittedError, SongMapper


def _paths(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".wav", ".flac", ".ogg"))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[list[Path], SongMapper, np.ndarray]:
    """The small collection's files, a SongMapper fitted on them (seed 0) and what fit_transform returned."""
    base = tmp_path_factory.mktemp("fitted")
    paths = _paths(write_small_collection(base / "my songs"))
    mapper = SongMapper(seed=0, cache_dir=base / "cache", **FAST)
    return paths, mapper, mapper.fit_transform(paths)


def test_fit_transform_gives_one_finite_row_per_file(fitted) -> None:
    paths, mapper, xy = fitted
    assert xy.shape == (len(paths), 2)
    assert np.isfinite(xy).all()
    assert mapper.skipped_ == []
    assert 1.0 <= mapper.crop_seconds_ <= 30.0
    assert len(mapper.training_.losses) >= 1


def test_same_seed_same_map_other_seed_other_map(small_collection: Path) -> None:
    paths = _paths(small_collection)
    a = SongMapper(seed=3, **FAST).fit_transform(paths)
    b = SongMapper(seed=3, **FAST).fit_transform(paths)
    c = SongMapper(seed=4, **FAST).fit_transform(paths)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_transform_places_fitted_files_where_fit_put_them(fitted, tmp_path: Path) -> None:
    paths, mapper, _ = fitted
    np.testing.assert_allclose(mapper.transform(paths), mapper.embedding_, atol=1e-5)

    mapper.save(tmp_path / "model.safetensors")
    loaded = SongMapper.load(tmp_path / "model.safetensors")
    assert loaded.params_ == mapper.params_
    assert loaded.crop_seconds_ == mapper.crop_seconds_
    np.testing.assert_allclose(loaded.transform(paths), mapper.embedding_, atol=1e-5)


def test_saving_a_map_twice_writes_the_same_bytes(fitted, tmp_path: Path) -> None:
    """safetensors writes its metadata from a hash map, in either order; the model file is sorted."""
    _, mapper, _ = fitted
    saved = []
    for k in range(8):
        mapper.save(tmp_path / f"m{k}.safetensors")
        saved.append((tmp_path / f"m{k}.safetensors").read_bytes())
    assert all(data == saved[0] for data in saved)
    size = int.from_bytes(saved[0][:8], "little")
    header = json.loads(saved[0][8 : 8 + size])
    assert list(header["__metadata__"]) == ["format", "songmap"]
    loaded = SongMapper.load(tmp_path / "m0.safetensors")
    assert loaded.params_ == mapper.params_


def test_a_fitted_map_loads_as_the_estimator_does(fitted, tmp_path: Path) -> None:
    """songmap embed loads a FittedMap, not a SongMapper: the same attributes, so the same places."""
    import inspect

    from songmap.mapper.fitted import FittedMap
    from songmap.mapper.presets import RUNTIME_DEFAULTS

    signature = inspect.signature(SongMapper).parameters
    assert RUNTIME_DEFAULTS == {name: signature[name].default for name in RUNTIME_DEFAULTS}
    paths, mapper, _ = fitted
    mapper.save(tmp_path / "model.safetensors")
    estimator = SongMapper.load(tmp_path / "model.safetensors", cache_dir=tmp_path / "cache")
    placer = FittedMap.load(tmp_path / "model.safetensors", cache_dir=tmp_path / "cache")
    assert set(placer.__dict__) <= set(estimator.__dict__)
    for name, value in placer.__dict__.items():
        other = estimator.__dict__[name]
        if isinstance(value, dict) and name == "weights_":
            assert value.keys() == other.keys() and all(np.array_equal(value[k], other[k]) for k in value)
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, other)
        else:
            assert value == other, name
    np.testing.assert_array_equal(placer.transform(paths), estimator.transform(paths))


def test_bad_files_are_skipped_with_reason_or_raise(small_collection: Path, tmp_path: Path) -> None:
    paths = _paths(small_collection)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF but not really a wave file")
    empty = tmp_path / "empty.ogg"
    empty.write_bytes(b"")
    mapper = SongMapper(seed=0, **FAST)
    xy = mapper.fit_transform(paths + [broken, empty])
    assert np.isnan(xy[-2:]).all() and np.isfinite(xy[:-2]).all()
    reasons = dict(mapper.skipped_)
    assert "not decodable" in reasons[broken]
    assert "empty" in reasons[empty]

    coords, skipped = mapper.transform([paths[0], broken], return_skipped=True)
    assert np.isfinite(coords[0]).all() and np.isnan(coords[1]).all()
    assert [p for p, _ in skipped] == [broken]

    with pytest.raises(ValueError, match="broken.wav"):
        SongMapper(on_error="raise", **FAST).fit(paths + [broken])


def test_needs_two_decodable_files(tmp_path: Path, small_collection: Path) -> None:
    one = _paths(small_collection)[:1]
    (tmp_path / "junk.mp3").write_text("junk")
    with pytest.raises(ValueError, match="at least 2 decodable"):
        SongMapper(**FAST).fit(one + [tmp_path / "junk.mp3"])


def test_validation_and_not_fitted(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        SongMapper().transform([tmp_path / "a.wav"])
    with pytest.raises(ValueError, match="epochs"):
        SongMapper(epochs=0).fit([])
    with pytest.raises(ValueError, match="on_error"):
        SongMapper(on_error="ignore").fit([])
    with pytest.raises(TypeError, match="list of file paths"):
        SongMapper().fit("folder")
    with pytest.raises(ValueError, match="Invalid parameter 'colour'"):
        SongMapper().set_params(colour="red")


def test_load_rejects_other_files(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable songmap model"):
        SongMapper.load(tmp_path / "model.safetensors")
    from safetensors.numpy import save_file

    for header in ("[1]", "{}", "not json"):
        save_file({"band_mean": np.zeros(3, np.float32)}, str(tmp_path / "odd.safetensors"),
                  metadata={"format": "songmap-model", "songmap": header})
        with pytest.raises(ValueError, match="songmap model"):
            SongMapper.load(tmp_path / "odd.safetensors")
    (tmp_path / "model.pt").write_bytes(b"PK\x03\x04 but not a zip")
    with pytest.raises(ValueError, match="not a readable songmap model"):
        SongMapper.load(tmp_path / "model.pt")
    with pytest.raises(FileNotFoundError):
        SongMapper.load(tmp_path / "missing.pt")


def test_noisy_copy_lands_next_to_its_original(fitted) -> None:
    paths, _, xy = fitted
    names = [p.name for p in paths]
    a, b = names.index("Low Drone.wav"), names.index("Low Drone (Storm).wav")
    d = np.linalg.norm(xy - xy[a], axis=1)
    d[a] = np.inf
    # The noisy copy is among the 2 nearest of 7 other tracks.
    assert int(np.sum(d < d[b])) + 1 <= 2


def test_short_blips_are_loop_padded_not_dropped(tmp_path: Path) -> None:
    from conftest import tone

    paths = [
        write_audio(tmp_path / "blip.wav", tone(2000, 0.02), 22050),  # 441 samples, less than one FFT
        write_audio(tmp_path / "long.wav", tone(200, 5.0), 22050),
        write_audio(tmp_path / "mid.wav", tone(600, 2.0), 22050),
    ]
    xy = SongMapper(seed=0, **FAST).fit_transform(paths)
    assert np.isfinite(xy).all()


def test_input_rows_live_in_an_unlinked_memmap_and_compact_in_file_order(tmp_path: Path) -> None:
    from songmap.mapper.inputs import InputRows

    with InputRows(5, (3, 2), tmp_path) as store:
        assert isinstance(store.array, np.memmap)
        assert list(tmp_path.iterdir()) == []  # the file is unlinked at once: nothing to leave behind
        for i in (4, 1, 3):  # arrival order, as from worker processes
            store.put(i, np.full((3, 2), float(i)), duration_s=10.0 + i)
        store.compact()
        assert store.order.tolist() == [1, 3, 4]
        assert [float(r[0, 0]) for r in store.rows] == [1.0, 3.0, 4.0]
        assert store.durations[store.order].tolist() == [11.0, 13.0, 14.0]


def test_normalisation_statistics_read_in_blocks_match_the_whole_array() -> None:
    rng = np.random.default_rng(0)
    inputs = (rng.standard_normal((7, 5, 4)) * np.arange(1, 6)[None, :, None] + 3).astype(np.float32)
    from songmap.mapper.inputs import normalisation_statistics

    for one_scale in (False, True):
        mean, std = normalisation_statistics(inputs, one_scale=one_scale, block=3)
        np.testing.assert_allclose(mean, inputs.mean(axis=(0, 2)), rtol=1e-5)
        expected = np.full(5, (inputs - inputs.mean(axis=(0, 2))[None, :, None]).std()) if one_scale else inputs.std(axis=(0, 2))
        np.testing.assert_allclose(std, expected, rtol=1e-5)


def test_fit_with_a_failed_file_first_keeps_rows_in_file_order(small_collection: Path, tmp_path: Path) -> None:
    """A skipped file before the others shifts the stored rows; each file keeps its own place."""
    paths = _paths(small_collection)
    broken = tmp_path / "0 broken.wav"
    broken.write_bytes(b"RIFF but not really a wave file")
    mapper = SongMapper(seed=0, cache_dir=tmp_path / "cache", **FAST)
    xy = mapper.fit_transform([broken] + paths)
    assert np.isnan(xy[0]).all() and np.isfinite(xy[1:]).all()
    np.testing.assert_allclose(mapper.transform(paths), xy[1:], atol=1e-5)
    from songmap.io.decode import probe

    assert mapper.durations_[1:] == pytest.approx([probe(p).duration_s for p in paths], abs=0.05)
    # Only feature-cache entries are left in the cache folder: the input rows' file is gone.
    assert {p.suffix for p in (tmp_path / "cache").rglob("*") if p.is_file()} == {".npz"}


def test_input_rows_fall_back_to_the_temporary_folder_when_the_cache_folder_cannot_be_made(tmp_path: Path) -> None:
    from songmap.mapper.inputs import InputRows

    (tmp_path / "not a folder").write_text("a file where the cache folder would go")
    with InputRows(2, (3, 2), tmp_path / "not a folder" / "cache") as store:
        store.put(1, np.ones((3, 2)), 1.0)
        store.compact()
        assert store.order.tolist() == [1] and float(store.rows.sum()) == 6.0


def test_scikit_learn_estimator_conventions() -> None:
    """The checks of scikit-learn's check_estimator that apply to an estimator of file paths."""
    from sklearn.base import clone
    from sklearn.utils.estimator_checks import (
        check_get_params_invariance,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_set_params,
    )

    mapper = SongMapper(preset="seed", epochs=7, filters=(4, 8))
    check_parameters_default_constructible("SongMapper", mapper)
    check_no_attributes_set_in_init("SongMapper", mapper)
    check_get_params_invariance("SongMapper", mapper)
    check_set_params("SongMapper", mapper)

    copy = clone(mapper)
    assert copy is not mapper and copy.get_params() == mapper.get_params()
    assert SongMapper(**mapper.get_params()).get_params() == mapper.get_params()
    assert repr(mapper) == "SongMapper(epochs=7, filters=(4, 8), preset='seed')"
    assert repr(SongMapper()) == "SongMapper()"
    with pytest.raises(TypeError):
        SongMapper(22050)  # parameters are keyword-only
    with pytest.raises(ValueError, match="Invalid parameter 'sample_rat'"):
        mapper.set_params(sample_rat=8000)


# -- presets and saved models (on the families of conftest) ---------------------------------------

# These tests check what a fit keeps and saves, not the map: one epoch, or a few, is enough.


def test_presets_fill_in_what_was_not_given_when_fitting(families: Path, tmp_path: Path) -> None:
    paths = sorted(families.glob("*.wav"))[:3]
    # The encoder's channels come from the preset too: (8, 16, 32) for the default, the seed's (16, 32, 64).
    one_epoch = {**{k: v for k, v in FAST.items() if k != "filters"}, "epochs": 1, "cache_dir": tmp_path / "cache"}
    seed = SongMapper(preset="seed", **one_epoch).fit(paths)
    assert {k: seed.params_[k] for k in PRESETS["seed"]} == PRESETS["seed"]
    assert seed.model_config_["filters"] == PRESETS["seed"]["filters"] == [16, 32, 64]
    default = SongMapper(**one_epoch).fit(paths)
    assert {k: default.params_[k] for k in PRESETS["default"]} == PRESETS["default"]
    assert default.model_config_["filters"] == PRESETS["default"]["filters"] == [8, 16, 32]
    mixed = SongMapper(preset="seed", neighbour_weight=0.5, filters=(4, 8), **one_epoch).fit(paths)
    assert mixed.params_["representation"] == "pooled" and mixed.params_["neighbour_weight"] == 0.5
    assert mixed.params_["filters"] == mixed.model_config_["filters"] == [4, 8]
    assert mixed.representation is None and mixed.filters == (4, 8)  # __init__ stores what it was given, nothing else


def test_set_params_preset_changes_the_representation(families: Path, tmp_path: Path) -> None:
    """A preset set after construction takes effect: presets are resolved in fit, not in __init__."""
    paths = sorted(families.glob("*.wav"))[:3]
    mapper = SongMapper(preset="seed", **{**FAST, "epochs": 1, "cache_dir": tmp_path / "cache"}).fit(paths)
    assert mapper.representation_ == "pooled"
    mapper.set_params(preset="default").fit(paths)
    assert mapper.representation_ == PRESETS["default"]["representation"] == "songwise"
    assert mapper.params_["neighbour_weight"] == PRESETS["default"]["neighbour_weight"]
    assert mapper.weights_["to_latent.weight"].shape[1] != 0


def test_bad_preset_or_representation_fail_at_fit_with_a_clear_message(tmp_path: Path) -> None:
    mapper = SongMapper(preset="nope")  # __init__ checks nothing, as in scikit-learn
    with pytest.raises(ValueError, match="^The 'preset' parameter of SongMapper must be a str among .*'seed'.* Got 'nope' instead.$"):
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


def test_a_model_of_the_previous_default_keeps_its_representation(families: Path, tmp_path: Path) -> None:
    """Models saved when "default" meant the modulation representation still read each track's start."""
    from songmap.app.jobs import embed_files

    paths = sorted(families.glob("*.wav"))[:4]
    old = SongMapper(preset="modulation", seed=0, **{**FAST, "epochs": 5}).fit(paths)
    # What songmap wrote then: preset "default" with its representation resolved, no tonal_weight.
    old.params_ = {k: v for k, v in old.params_.items() if k != "tonal_weight"} | {"preset": "default"}
    (tmp_path / "out").mkdir()
    old.save(tmp_path / "out" / "model.safetensors")
    loaded = SongMapper.load(tmp_path / "out" / "model.safetensors")
    assert loaded.params_["preset"] == "default" and loaded.representation_ == "modulation"
    assert loaded.input_height == old.n_mels
    np.testing.assert_allclose(loaded.transform(paths), old.embedding_, atol=1e-5)
    result = embed_files(tmp_path / "out", paths[:1])
    assert result.representation == "modulation"
    np.testing.assert_allclose([result.placed[0].x, result.placed[0].y], old.embedding_[0], atol=1e-5)


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
