"""Placing dropped songs in the map page: the page's JavaScript against ``songmap embed``.

A collection is mapped with the real model, then files are given to the page's file input
(``set_input_files``, as a user picking or dropping them) in headless Chromium. Each placed song
must land where ``songmap embed --output placed.json`` puts it, within 1 % of the map's extent,
next to the same nearest mapped track. The steps in between (log-mel, model input, normalised
input, coordinates) are compared one by one on the same signal, so a failure names the step.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from browsing import open_ready_page, songmap_serve
from conftest import noise_burst, tone, write_audio
from songmap.app.jobs.mapping import map_folder
from songmap.features.shaping import model_input
from songmap.features.spectrogram import extract_features, frames_for_seconds
from songmap.features.windows import extract_windows, window_starts
from songmap.io.decode import load, probe
from songmap.io.windowed import load_windows
from songmap.mapper.estimator import SongMapper

pytestmark = pytest.mark.browser

TOLERANCE = 0.01  # of the map's extent
SR = 22050


def _edge_cases(folder: Path) -> dict[str, Path]:
    """Generated files that stress decoding, resampling and the crop."""
    stereo = np.stack([tone(300, 3.0, 44100, harmonics=4), tone(450, 3.0, 44100, seed=3, noise=0.05)], axis=1)
    cases = {
        "mono 8 kHz.wav": (tone(200, 3.0, 8000, harmonics=4), 8000),
        "mono 16 kHz.flac": (tone(700, 2.0, 16000, harmonics=3, noise=0.02), 16000),
        "stereo 44.1 kHz.wav": (stereo, 44100),
        "mono 48 kHz.ogg": (tone(900, 2.5, 48000, harmonics=2), 48000),
        "stereo 48 kHz burst.wav": (np.stack([noise_burst(1.5, 48000, 4), noise_burst(1.5, 48000, 5)], axis=1), 48000),
        "shorter than a window.wav": (tone(1500, 0.04, 22050), 22050),  # 882 samples < n_fft 2048
        "longer than the crop.wav": (tone(150, 12.0, 22050, harmonics=5, noise=0.01), 22050),
    }
    return {name: write_audio(folder / name, y, sr) for name, (y, sr) in cases.items()}


def _placed_map(families: Path, root: Path, preset: str, extra: dict[str, Path] | None = None) -> dict:
    """``families`` mapped with the real model and ``preset``, files to drop, and what `songmap embed` says."""
    out = root / "out"
    map_folder(families, out, SongMapper(preset=preset, seed=0, epochs=40, patience=10))
    drops = _edge_cases(root / "drops") | (extra or {})
    for name in ("drone 0.wav", "arp 2.wav", "drums 1.wav", "drone 1 (Storm).wav"):
        drops[name] = families / name
    placed_json = root / "placed.json"
    subprocess.run([sys.executable, "-m", "songmap", "embed", str(out), *map(str, drops.values()),
                    "--output", str(placed_json)], check=True, capture_output=True)
    expected = {Path(t["file"]).name: (t["x"], t["y"]) for t in json.loads(placed_json.read_text())["tracks"]}
    undecodable = root / "drops" / "not audio.mp3"
    undecodable.write_bytes(b"ID3" + bytes(range(256)) * 40)
    return {"out": out, "drops": drops, "expected": expected, "undecodable": undecodable}


@pytest.fixture(scope="module")
def placed_map(families, tmp_path_factory):
    """A map of the modulation representation read from each track's start."""
    return _placed_map(families, tmp_path_factory.mktemp("place"), "modulation")


def _long_songs(folder: Path) -> dict[str, Path]:
    """Songs of several windows (the families' crop is 4 s): sections that differ, and a silent stretch."""
    sr = 44100
    parts = [tone(220, 10.0, sr, harmonics=5), np.zeros(sr * 12, np.float32), noise_burst(6.0, sr, 9),
             tone(660, 12.0, sr, harmonics=2, noise=0.02)]
    two_parts = np.concatenate([tone(300, 9.0, 32000, harmonics=3), 0.5 * noise_burst(9.0, 32000, 2)])
    return {"long, with a silent stretch.flac": write_audio(folder / "long, with a silent stretch.flac",
                                                           np.concatenate(parts), sr),
            "two parts 32 kHz.wav": write_audio(folder / "two parts 32 kHz.wav", two_parts, 32000)}


@pytest.fixture(scope="module")
def songwise_map(families, tmp_path_factory):
    """A map of the songwise representation: whole songs through windows, with the tonal view."""
    root = tmp_path_factory.mktemp("place-songwise")
    return _placed_map(families, root, "songwise", _long_songs(root / "drops"))


def _open(browser, map_dir: Path):
    return open_ready_page(browser, (map_dir / "map.html").as_uri())


@pytest.fixture(scope="module")
def page(browser, placed_map):
    page = _open(browser, placed_map["out"])
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def songwise_page(browser, songwise_map):
    page = _open(browser, songwise_map["out"])
    yield page
    page.context.close()


def _mapped(out: Path) -> tuple[np.ndarray, list[str], float]:
    tracks = json.loads((out / "embeddings.json").read_text())["tracks"]
    xy = np.array([[t["x"], t["y"]] for t in tracks])
    return xy, [t["title"] for t in tracks], float(np.max(xy.max(axis=0) - xy.min(axis=0)))


def _place(page, files: list[Path]) -> None:
    page.evaluate("() => { delete document.body.dataset.placing; }")
    page.set_input_files("#place-input", [str(f) for f in files])
    page.wait_for_function("() => document.body.dataset.placing === 'done'", timeout=120_000)


def _assert_placed_like_embed(page, placed_map) -> dict[str, float]:
    """Drop every file of ``placed_map`` on the page: same nearest track as `songmap embed`, within 1 %."""
    xy, titles, extent = _mapped(placed_map["out"])
    names = list(placed_map["drops"])
    _place(page, [placed_map["drops"][n] for n in names])
    entries = page.eval_on_selector_all(
        "#placed-list .placed-item", "els => els.map(e => [e.dataset.file, +e.dataset.x, +e.dataset.y])")
    assert [e[0] for e in entries] == names
    errors = {}
    for file, x, y in entries:
        ex, ey = placed_map["expected"][file]
        errors[file] = float(np.hypot(x - ex, y - ey)) / extent
        nearest_python = titles[int(np.argmin(np.linalg.norm(xy - [ex, ey], axis=1)))]
        nearest_page = titles[int(np.argmin(np.linalg.norm(xy - [x, y], axis=1)))]
        assert nearest_page == nearest_python, file
    print("coordinate error, % of the map's extent:", {k: round(100 * v, 3) for k, v in errors.items()})
    assert max(errors.values()) < TOLERANCE, errors
    # The panel names the nearest mapped tracks; the page placed what it listed.
    placed = page.evaluate("() => window.songmap.placed()")
    assert [p["file"] for p in placed] == names
    assert all(len(p["nearest"]) == 3 for p in placed)
    assert not page.errors
    return errors


def test_dropped_files_land_where_songmap_embed_puts_them(page, placed_map):
    _assert_placed_like_embed(page, placed_map)


def test_songwise_map_places_dropped_files_where_songmap_embed_puts_them(songwise_page, songwise_map):
    model = json.loads(songwise_page.evaluate("() => document.getElementById('songmap-model').textContent"))
    assert model["representation"] == "songwise" and model["windows"]["maxWindows"] == 8
    _assert_placed_like_embed(songwise_page, songwise_map)


def test_seed_map_places_dropped_files_where_songmap_embed_puts_them(browser, families, tmp_path_factory):
    """The notebooks' model (time-pooled log-mel) too."""
    seed_map = _placed_map(families, tmp_path_factory.mktemp("place-seed"), "seed")
    seed_page = _open(browser, seed_map["out"])
    try:
        model = json.loads(seed_page.evaluate("() => document.getElementById('songmap-model').textContent"))
        assert model["representation"] == "pooled"
        _assert_placed_like_embed(seed_page, seed_map)
    finally:
        seed_page.context.close()


def test_undecodable_file_gives_a_message_in_the_panel(page, placed_map, tmp_path):
    # Garbage named .mp3, and AIFF: songmap reads it, Chromium's decodeAudioData does not.
    aiff = write_audio(tmp_path / "song.aiff", tone(440, 1.0), SR)
    _place(page, [placed_map["undecodable"], aiff])
    for name in ("not audio.mp3", "song.aiff"):
        message = page.locator(f'#placed-list .placed-error[data-file="{name}"]')
        assert message.count() == 1
        assert "cannot decode" in message.inner_text()
        assert page.locator(f'#placed-list .placed-item[data-file="{name}"]').count() == 0


@pytest.mark.parametrize("name", ["mono 8 kHz.wav", "stereo 44.1 kHz.wav", "shorter than a window.wav",
                                  "longer than the crop.wav", "drums 1.wav"])
def test_each_feature_step_matches_python(page, placed_map, name):
    """The same signal (decoded and resampled by songmap) through both feature paths, step by step."""
    mapper = SongMapper.load(placed_map["out"] / "model.safetensors")
    params = mapper._feature_params()  # the parameters the map's features were made with
    path = placed_map["drops"][name]
    y, duration = load(path, params.sample_rate, max_seconds=mapper.crop_seconds_)
    log_mel = extract_features(path, params, mapper.crop_seconds_).log_mel
    values = model_input(log_mel, n_frames=frames_for_seconds(mapper.crop_seconds_, params),
                         representation=mapper.representation_, width=mapper.input_width)
    normalised = mapper._normalise(values[None])[0]
    from songmap.model.numpy_encoder import encode_numpy

    xy = encode_numpy(mapper.weights_, normalised[None])[0]
    got = page.evaluate("([y, d]) => window.songmap.placeFeatures(y, d)", [y.tolist(), duration])
    js_log_mel = np.array(got["logMel"]).reshape(log_mel.shape)
    # float16 steps are 1/16 dB below -64 dB; one step either way where the two round differently.
    assert np.max(np.abs(js_log_mel - log_mel)) <= 0.07, "log-mel differs"
    assert np.mean(np.abs(js_log_mel - log_mel)) < 1e-3, "log-mel differs"
    assert np.max(np.abs(np.array(got["input"]).reshape(values.shape) - values)) < 2e-3, "model input differs"
    assert np.max(np.abs(np.array(got["normalised"]).reshape(values.shape) - normalised)) < 5e-3, "normalisation differs"
    _, _, extent = _mapped(placed_map["out"])
    # The page's weights are float16: the only step allowed to move the point, and by little.
    assert np.hypot(*(np.array(got["xy"]) - xy)) / extent < 0.002, "encoder differs"


@pytest.mark.parametrize("name", ["mono 8 kHz.wav", "shorter than a window.wav", "long, with a silent stretch.flac",
                                  "two parts 32 kHz.wav", "drums 1.wav"])
def test_songwise_each_window_matches_python(songwise_page, songwise_map, name):
    """Python's windows of a file (decoded by seeking) through the page's songwise path, step by step."""
    mapper = SongMapper.load(songwise_map["out"] / "model.safetensors")
    params = mapper._feature_params()  # the parameters the map's features were made with
    spec = mapper._window_spec()
    path = songwise_map["drops"][name]
    features = extract_windows(path, params, spec)
    signals, duration = load_windows(path, features.starts, spec.window_s, params.sample_rate)
    got = songwise_page.evaluate("([w, d]) => window.songmap.placeWindowFeatures(w, d)",
                                 [[y.tolist() for y in signals], duration])
    assert got["used"] == features.used.tolist()
    if name.startswith("long"):  # several windows, the silent ones left out
        assert len(features.used) == 8 and 0 < features.used.sum() < 8
    images = np.array(got["images"]).reshape(features.images.shape)
    used = features.used
    modulation, tonal = slice(0, params.n_mels), slice(params.n_mels, None)
    assert np.max(np.abs(images[used][:, modulation] - features.images[used][:, modulation])) < 2e-3, "modulation image differs"
    assert np.max(np.abs(images[used][:, tonal] - features.images[used][:, tonal])) < 2e-3, "tonal view differs"
    summary = features.summary()
    assert np.max(np.abs(np.array(got["input"]).reshape(summary.shape) - summary)) < 2e-3, "mean over windows differs"
    normalised = mapper._normalise(summary[None])[0]
    assert np.max(np.abs(np.array(got["normalised"]).reshape(summary.shape) - normalised)) < 5e-3, "block normalisation differs"
    from songmap.model.numpy_encoder import encode_numpy

    xy = encode_numpy(mapper.weights_, normalised[None])[0]
    assert np.hypot(*(np.array(got["xy"]) - xy)) / _mapped(songwise_map["out"])[2] < 0.002, "encoder differs"


def test_songwise_windows_are_those_python_decodes_by_seeking(songwise_page, songwise_map):
    """The page decodes the whole file; its windows start at the samples load_windows seeks to."""
    mapper = SongMapper.load(songwise_map["out"] / "model.safetensors")
    spec = mapper._window_spec()
    # Minimum SNR against Python's windows: tones ~80 dB; white noise up to the file's Nyquist
    # frequency ~50 dB (the two resampling filters differ most in the transition band).
    files = {"long, with a silent stretch.flac": 45, "two parts 32 kHz.wav": 45, "longer than the crop.wav": 70,
             "mono 8 kHz.wav": 70}
    for name, min_snr in files.items():
        path = songwise_map["drops"][name]
        starts = window_starts(probe(path).duration_s, window_s=spec.window_s, max_windows=spec.max_windows)
        signals, _ = load_windows(path, starts, spec.window_s, mapper.sample_rate)
        got = songwise_page.evaluate("(b) => window.songmap.placeDecode(b)", base64.b64encode(path.read_bytes()).decode())
        np.testing.assert_allclose(got["starts"], starts, atol=1e-6, err_msg=name)
        assert len(got["windows"]) == len(signals)
        for js, y in zip(got["windows"], signals):
            js = np.array(js)
            assert len(js) == len(y), name
            if np.any(y):
                snr = 10 * np.log10(np.sum(y.astype(np.float64) ** 2) / np.sum((y - js) ** 2))
                assert snr > min_snr, (name, snr)
            else:
                assert not np.any(js), name


def test_browser_resampling_is_close_to_soxr(page, placed_map):
    """What decodeAudioData's resampling changes, measured against songmap's soxr (SNR in dB)."""
    mapper = SongMapper.load(placed_map["out"] / "model.safetensors")
    for name in ("mono 8 kHz.wav", "mono 16 kHz.flac", "stereo 44.1 kHz.wav", "stereo 48 kHz burst.wav"):
        path = placed_map["drops"][name]
        y, _ = load(path, mapper.sample_rate, max_seconds=mapper.crop_seconds_)
        got = page.evaluate("(b) => window.songmap.placeDecode(b)", base64.b64encode(path.read_bytes()).decode())
        js = np.array(got["y"], dtype=np.float64)
        n = min(len(js), len(y))
        assert abs(len(js) - len(y)) <= 2, name
        snr = 10 * np.log10(np.sum(y[:n] ** 2) / np.sum((y[:n] - js[:n]) ** 2))
        print(f"{name}: browser resampling vs soxr, SNR {snr:.1f} dB")
        # The page decodes at the file's own rate and resamples with soxr's filter design
        # (placing.RESAMPLE_*), not the browser's resampler (whose SNR on the burst was ~10 dB, its
        # placement 1.5 % of the map off): tones match to ~80 dB, white noise up to 24 kHz to ~50 dB.
        assert snr > (40 if "burst" in name else 70), name


def test_page_without_a_model_says_why(page, out_dir):
    from songmap.web.page import write_map_page

    other = open_ready_page(page.context.browser, write_map_page(out_dir).as_uri())
    assert other.locator("#place-button").is_disabled()
    assert "model.safetensors" in other.locator("#place-note").inner_text()
    other.context.close()


def test_served_page_places_a_song_and_plays_it(page, placed_map):
    """Through `songmap serve` too (the same CSP, another origin); the placed song plays from the file."""
    with songmap_serve(placed_map["out"]) as url:
        served = open_ready_page(page.context.browser, url)
        _place(served, [placed_map["drops"]["drone 0.wav"]])
        entry = served.locator('#placed-list .placed-item[data-file="drone 0.wav"]')
        x, y = float(entry.get_attribute("data-x")), float(entry.get_attribute("data-y"))
        ex, ey = placed_map["expected"]["drone 0.wav"]
        assert np.hypot(x - ex, y - ey) / _mapped(placed_map["out"])[2] < TOLERANCE
        served.eval_on_selector('#placed-list .placed-item audio', "a => a.play()")
        served.wait_for_function("() => document.querySelector('#placed-list audio').currentTime > 0.1")
        served.context.close()


# What Chromium's decodeAudioData decodes (the README's list); each compressed by ffmpeg from one wav.
BROWSER_FORMATS = {
    "wav": [], "flac": [], "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"], "ogg": ["-c:a", "vorbis", "-strict", "-2", "-ac", "2"],
    "opus": ["-c:a", "libopus", "-b:a", "128k"], "m4a": ["-c:a", "aac", "-b:a", "192k"],
}


@pytest.fixture(scope="module")
def format_files(tmp_path_factory) -> dict[str, Path]:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to make the compressed files")
    folder = tmp_path_factory.mktemp("formats")
    source = write_audio(folder / "source.wav", np.stack([tone(260, 3.0, 44100, harmonics=4),
                                                          tone(390, 3.0, 44100, noise=0.01)], axis=1), 44100)
    files = {}
    for ext, codec in BROWSER_FORMATS.items():
        files[ext] = folder / f"song.{ext}"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), *codec, str(files[ext])], check=True)
    return files


def _embedded(map_out: Path, files: dict[str, Path]) -> dict[str, tuple[float, float]]:
    """`songmap embed`'s coordinates of each format's file on the map in ``map_out``."""
    placed_json = map_out.parent / f"placed-formats-{map_out.name}.json"
    subprocess.run([sys.executable, "-m", "songmap", "embed", str(map_out), *map(str, files.values()),
                    "--output", str(placed_json)], check=True, capture_output=True)
    return {Path(t["file"]).suffix[1:]: (t["x"], t["y"]) for t in json.loads(placed_json.read_text())["tracks"]}


@pytest.fixture(scope="module")
def encoded(placed_map, format_files):
    return format_files, _embedded(placed_map["out"], format_files)


def _format_errors(page, placed_map, encoded) -> dict[str, float]:
    """Coordinate error of each format's file placed in the page, as a fraction of the map's extent."""
    files, expected = encoded
    _, _, extent = _mapped(placed_map["out"])
    page.evaluate("() => { document.getElementById('placed-list').replaceChildren(); }")
    _place(page, list(files.values()))
    failed = page.eval_on_selector_all("#placed-list .placed-error", "els => els.map(e => e.textContent)")
    assert not failed, "Chromium could not decode every listed format"
    entries = page.eval_on_selector_all(
        "#placed-list .placed-item", "els => els.map(e => [e.dataset.file, +e.dataset.x, +e.dataset.y])")
    errors = {}
    for file, x, y in entries:
        ex, ey = expected[file.rsplit(".", 1)[1]]
        errors[file.rsplit(".", 1)[1]] = float(np.hypot(x - ex, y - ey)) / extent
    print("coordinate error by format, % of the map's extent:", {k: round(100 * v, 3) for k, v in errors.items()})
    assert sorted(errors) == sorted(BROWSER_FORMATS)
    return errors


def test_every_listed_format_is_placed_where_songmap_embed_puts_it(page, placed_map, encoded):
    errors = _format_errors(page, placed_map, encoded)
    assert max(v for k, v in errors.items() if k != "m4a") < TOLERANCE, errors


def test_m4a_is_placed_where_songmap_embed_puts_it(page, placed_map, encoded):
    assert _format_errors(page, placed_map, encoded)["m4a"] < TOLERANCE


def test_every_listed_format_is_placed_on_a_songwise_map(songwise_page, songwise_map, format_files):
    errors = _format_errors(songwise_page, songwise_map, (format_files, _embedded(songwise_map["out"], format_files)))
    assert max(errors.values()) < TOLERANCE, errors
