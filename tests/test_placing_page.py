"""The model as the map page carries it (songmap.web.placing), without a browser."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import page_array, page_weights
from songmap.mapper.estimator import SongMapper
from songmap.model.numpy_encoder import encode_numpy
from songmap.web.page import write_map_page
from songmap.web.placing import page_model, page_model_for


@pytest.fixture(scope="module")
def fitted(families) -> SongMapper:
    paths = sorted(p for p in Path(families).glob("*.wav"))
    return SongMapper(preset="modulation", seed=0, epochs=20, n_mels=64, filters=(8, 16), patience=5).fit(paths)


def test_page_model_holds_what_the_features_and_encoder_need(fitted):
    model = json.loads(json.dumps(page_model(fitted)))  # JSON-able as embedded
    assert model["featureParams"]["n_mels"] == 64 and model["featureParams"]["sample_rate"] == fitted.sample_rate
    assert model["cropSeconds"] == fitted.crop_seconds_
    assert model["representation"] == fitted.representation_ and model["width"] == fitted.input_width
    np.testing.assert_array_equal(page_array(model["bandMean"]), fitted.band_mean_)
    np.testing.assert_array_equal(page_array(model["bandStd"]), fitted.band_std_)
    assert len(model["layers"]) == 2
    np.testing.assert_allclose(page_array(model["layers"][1]["weight"]), fitted.weights_["encoder_conv.3.weight"],
                               rtol=1e-3, atol=1e-4)


def test_float16_weights_move_points_by_far_less_than_the_tolerance(fitted):
    model = page_model(fitted)
    weights = page_weights(model)
    rows = np.random.default_rng(0).standard_normal((50, 64, fitted.input_width)).astype(np.float32)
    full, half = encode_numpy(fitted.weights_, rows), encode_numpy(weights, rows)
    extent = np.max(np.ptp(full, axis=0))
    assert np.max(np.linalg.norm(full - half, axis=1)) / extent < 0.002


def test_a_folder_without_a_model_gets_a_page_that_says_why(out_dir):
    assert "model.safetensors" in page_model_for(out_dir)["unavailable"]
    (out_dir / "model.safetensors").write_bytes(b"not a model")
    assert "cannot be read" in page_model_for(out_dir)["unavailable"]
    html = write_map_page(out_dir).read_text(encoding="utf-8")
    assert '"unavailable":"the model in this folder cannot be read' in html


def test_songwise_page_model_carries_the_windows_the_tonal_view_and_one_scale_per_row(families):
    from songmap.features import tonal
    from songmap.features.windows import SILENT_WINDOW_DB

    paths = sorted(Path(families).glob("*.wav"))
    mapper = SongMapper(preset="songwise", seed=0, epochs=8, n_mels=32, filters=(4, 8), max_windows=3).fit(paths)
    model = json.loads(json.dumps(page_model(mapper)))
    assert model["representation"] == "songwise"
    assert model["windows"] == {"maxWindows": 3, "silentWindowDb": SILENT_WINDOW_DB, "rows": [32, tonal.PITCH_CLASSES]}
    assert model["tonal"]["patchFrames"] == tonal.PATCH_FRAMES and model["tonal"]["fmin"] == tonal.CHROMA_FMIN
    # The block normalisation travels as one mean and one spread per image row (mel bands, then pitch rows).
    mean, std = page_array(model["bandMean"]), page_array(model["bandStd"])
    assert mean.shape == std.shape == (32 + tonal.PITCH_CLASSES,)
    np.testing.assert_array_equal(std, mapper.band_std_)
    assert len(set(std[:32].tolist())) == 1 and len(set(std[32:].tolist())) == 1 and std[0] != std[32]


def test_a_modulation_page_model_has_no_window_block(fitted):
    model = page_model(fitted)
    assert model["representation"] != "songwise" and "windows" not in model and "tonal" not in model
    assert 0 < model["resample"]["passbandEnd"] < 1 and model["resample"]["attenuationDb"] > 60
