"""The page's JavaScript ports of Python, checked against Python without a browser.

The Python implementations (the page's wire format, songmap.evaluation.listening.find_path, the
playlists of songmap.report.playlists, the placing pipeline of songmap.features and the encoder)
write JSON fixtures into a temporary folder; ``node --test tests/js/`` then runs the page's ES
modules (src/songmap/web/static/src/) on the same inputs and compares (the folder is passed in
SONGMAP_JS_FIXTURES). The Chromium tests keep what only a browser shows.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import make_doc, page_weights, track
from songmap import SongMapper
from songmap.evaluation.listening import feature_neighbours, find_path, neighbour_k
from songmap.features.shaping import model_input
from songmap.features.spectrogram import (
    extract_features,
    frames_for_seconds,
    log_mel_from_power,
    mel_filterbank,
    power_spectrogram,
)
from songmap.features.windows import extract_windows, window_starts
from songmap.io.decode import load, resample
from songmap.io.windowed import load_windows
from songmap.model.numpy_encoder import encode_numpy
from songmap.report.playlists import m3u8_text, write_playlist_csv, xspf_text
from songmap.web.page import local_audio_urls, render_map_page
from songmap.web.page_wire import unpack_page_tracks
from songmap.web.placing import page_model

ROOT = Path(__file__).resolve().parents[1]
JS_TESTS = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def _data_block(doc: dict, urls: list[str]) -> dict:
    """The data block of the page songmap renders for ``doc``."""
    html = render_map_page(doc, urls)
    text = re.search(r'<script type="application/json" id="songmap-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(text)


def _listening_docs(root: Path) -> dict[str, dict]:
    """Documents with feature neighbours, without them (paths over map neighbours), and two parts."""
    rng = np.random.default_rng(3)
    points = np.round(rng.normal(size=(40, 2)) * 3, 4)
    features = rng.normal(size=(40, 5))
    nb, nd = feature_neighbours(features, k=4)
    with_keys = [track(f"t{i}.wav", x=float(x), y=float(y), neighbours=nb[i].tolist(),
                       neighbour_distances=[round(float(d), 4) for d in nd[i]]) for i, (x, y) in enumerate(points)]
    without = [track(f"t{i}.wav", x=float(x), y=float(y)) for i, (x, y) in enumerate(points)]
    parts = []   # two families that list only each other: the path bridges them where they come closest
    for i in range(8):
        family = i // 4
        others = [j for j in range(4 * family, 4 * family + 4) if j != i]
        parts.append(track(f"p{i}.wav", x=float(i + 3 * family), y=float(i % 2), neighbours=others,
                           neighbour_distances=[abs(i - j) * 1.5 for j in others]))
    return {name: make_doc(root / name, tracks) for name, tracks in
            (("features", with_keys), ("map", without), ("parts", parts))}


def _python_path(doc: dict, start: int, end: int, length: int | None) -> list[int]:
    points = np.array([[t["x"], t["y"]] for t in doc["tracks"]])
    if all("neighbours" in t for t in doc["tracks"]):
        neighbours = [t["neighbours"] for t in doc["tracks"]]
        distances = [t["neighbour_distances"] for t in doc["tracks"]]
    else:
        neighbours, distances = feature_neighbours(points, k=neighbour_k(len(points)))
    return find_path(neighbours=neighbours, distances=distances, points=points, start=start, end=end, length=length).tracks


def _paths_fixture(root: Path) -> dict:
    out = {}
    for name, doc in _listening_docs(root).items():
        n = len(doc["tracks"])
        cases = [(0, n - 1, None), (0, n - 1, 3), (1, n - 2, n - 1), (n - 1, 2, None), (2, 5, 2), (4, 1, n // 2)]
        out[name] = {"data": _data_block(doc, [t["file"] for t in doc["tracks"]]),
                     "cases": [[a, b, length, _python_path(doc, a, b, length)] for a, b, length in cases]}
    return out


def _exports_fixture(root: Path) -> dict:
    """Playlists of tricky titles and file names, as songmap writes them next to map.html."""
    titles = ["Low Drone", "=SUM(A1)", 'Say "hi", then', "Café  Chime 🎵", "-minus", "tab\there", "Not UTF-8 <&>"]
    files = ["tones/Low Drone.wav", "tones/sub dir/#1.wav", "a,b.wav", "Café.flac", "x%41.wav", "deep/é/t (1)!'*.ogg",
             "caf\udce9 & co.ogg"]
    # Whole, tiny and negative values too: Python writes floats as "30.0", "5e-05", "-2.0".
    durations = [2.5, 30.0, None, 61.25, 0.5, 1.75, 0.0125]
    xs = [0.3, 1.0, 0.55, 5e-05, 0.8, -2.0, 0.1]
    artists = ["Jens Erler", None, " ", "AC/DC & <Friends>", None, "two\n lines", None]
    albums = ["Musix 4 XMoto", "Ålbum", None, None, "", None, "x"]
    tracks = [track(file, x=x, y=-1.5 + i, title=title, duration_s=duration, category=["a", None][i % 2],
                    artist=artist, album=album)
              for i, (title, file, duration, x, artist, album) in enumerate(zip(titles, files, durations, xs, artists, albums))]
    doc = make_doc(root / "songs", tracks)
    for i, entry in enumerate(doc["tracks"]):
        entry["cluster"] = i % 2 - (i == 4)
        entry["cluster_name"] = {0: "Zero", 1: "One"}.get(entry["cluster"])
    doc["clusters"] = [{"id": c, "name": name, "size": 3, "category": None, "centre": 0} for c, name in ((0, "Zero"), (1, "One"))]
    out = root / "out"
    out.mkdir(parents=True)
    data = _data_block(doc, local_audio_urls(doc, out))
    cases = []
    for indices, name in (([0, 1, 2, 3, 4, 5], "Selection of 6 tracks"), ([3, 0], "Path from Café to Low")):
        chosen = [doc["tracks"][i] for i in indices]
        csv_path = root / f"{len(cases)}.csv"
        write_playlist_csv(csv_path, chosen)
        cases.append({"indices": indices, "name": name,
                      "m3u8": m3u8_text(chosen, input_dir=doc["input_dir"], playlist_dir=out, name=name),
                      "xspf": xspf_text(chosen, input_dir=doc["input_dir"], playlist_dir=out, name=name),
                      "csv": csv_path.read_text(encoding="utf-8")})
    # `--relative-to`: a library root above the input folder, the input folder itself, a folder
    # some tracks are not in, and a name that is not UTF-8 (the page refuses the last two, as the CLI does).
    relative = []
    for base, indices in ((root, [0, 1, 3, 5]), (root / "songs", [5, 2, 1, 4]), (root / "songs" / "tones", [0, 1]),
                          (root / "songs" / "tones", [0, 2]), (root, [0, 6])):
        chosen = [doc["tracks"][i] for i in indices]
        try:
            texts = {kind: text(chosen, input_dir=doc["input_dir"], playlist_dir=out, name="Mix", relative_to=base)
                     for kind, text in (("m3u8", m3u8_text), ("xspf", xspf_text))}
        except ValueError:
            texts = None
        relative.append({"base": str(base), "indices": indices, "expected": texts})
    return {"data": data, "baseURI": (out / "map.html").as_uri(), "tracks": unpack_page_tracks(data), "cases": cases,
            "relative": relative, "inputDir": doc["input_dir"], "files": [t["file"] for t in doc["tracks"]],
            "artists": [t.get("artist") for t in doc["tracks"]], "albums": [t.get("album") for t in doc["tracks"]]}


def _tensor(values: np.ndarray) -> list:
    return np.asarray(values, dtype=np.float64).ravel().tolist()


def _placing_fixture(families: Path) -> dict:
    paths = sorted(families.glob("*.wav"))
    crop = SongMapper(preset="modulation", seed=0, epochs=3, n_mels=64, filters=(8, 16), patience=5).fit(paths)
    songwise = SongMapper(preset="songwise", seed=0, epochs=3, patience=5).fit(paths)
    out = {}
    # The crop representation: each step of one signal (decoded and resampled by songmap).
    model = json.loads(json.dumps(page_model(crop)))
    params = crop._feature_params()
    n_frames = frames_for_seconds(crop.crop_seconds_, params)
    signals = []
    for path in paths[:4]:
        y, duration = load(path, params.sample_rate, max_seconds=crop.crop_seconds_)
        log_mel = extract_features(path, params, crop.crop_seconds_).log_mel
        values = model_input(log_mel, n_frames=n_frames, representation=crop.representation_, width=crop.input_width)
        normalised = crop._normalise(values[None])[0]
        signals.append({"name": path.name, "y": _tensor(y), "duration": duration, "logMel": _tensor(log_mel),
                        "input": _tensor(values), "normalised": _tensor(normalised),
                        "xy": encode_numpy(crop.weights_, normalised[None])[0].tolist(),
                        "xyPageWeights": encode_numpy(page_weights(model), normalised[None])[0].tolist()})
    y = np.array(signals[0]["y"], dtype=np.float32)
    power = power_spectrogram(y, params)
    extent = float(np.max(np.ptp(crop.transform(paths), axis=0)))
    out["crop"] = {"model": model, "signals": signals, "extent": extent,
                   "melFilterbank": _tensor(mel_filterbank(params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax)),
                   "power": {"rows": power.shape[0], "cols": power.shape[1], "data": _tensor(power)},
                   "logMelFromPower": _tensor(log_mel_from_power(power, params))}
    # The songwise representation: Python's windows of a file through each step.
    model = json.loads(json.dumps(page_model(songwise)))
    params, spec = songwise._feature_params(), songwise._window_spec()
    windows = []
    for path in paths[:3]:
        features = extract_windows(path, params, spec)
        signals_, duration = load_windows(path, features.starts, spec.window_s, params.sample_rate)
        summary = features.summary()
        normalised = songwise._normalise(summary[None])[0]
        windows.append({"name": path.name, "signals": [_tensor(s) for s in signals_], "duration": duration,
                        "used": features.used.tolist(), "images": _tensor(features.images), "input": _tensor(summary),
                        "normalised": _tensor(normalised), "xy": encode_numpy(songwise.weights_, normalised[None])[0].tolist()})
    extent = float(np.max(np.ptp(songwise.transform(paths), axis=0)))
    out["songwise"] = {"model": model, "windows": windows, "extent": extent, "nMels": params.n_mels,
                       "starts": [[duration, spec.window_s, spec.max_windows,
                                   window_starts(duration, window_s=spec.window_s, max_windows=spec.max_windows).tolist()]
                                  for duration in (0.5, 3.0, 10.0, 31.7, 400.0)]}
    # Resampling: soxr's, against the page's filter of the same design.
    t = np.arange(int(0.5 * 44100)) / 44100
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3100 * t)).astype(np.float32)
    out["resample"] = [{"from": rate_from, "to": rate_to, "y": _tensor(tone if rate_from == 44100 else tone[::2]),
                        "expected": _tensor(resample(tone if rate_from == 44100 else tone[::2], rate_from, rate_to))}
                       for rate_from, rate_to in ((44100, 22050), (22050, 16000), (44100, 48000))]
    halves = np.array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, 1e6 + 0.5, 7.0])
    out["rounding"] = {"values": halves.tolist(), "roundHalfEven": np.round(halves).tolist(),
                       "float16": (lambda v: {"values": v.tolist(), "expected": v.astype(np.float16).astype(np.float64).tolist()})(
                           np.random.default_rng(0).normal(scale=40, size=200))}
    return out


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory, families) -> Path:
    root = tmp_path_factory.mktemp("js-fixtures")
    written = {"paths": _paths_fixture(root / "paths"), "exports": _exports_fixture(root / "exports"),
               "placing": _placing_fixture(Path(families))}
    for name, value in written.items():
        (root / f"{name}.json").write_text(json.dumps(value), encoding="utf-8")  # \udcXX of names that are not UTF-8 as escapes
    return root


def test_the_page_modules_match_python_in_node(fixtures):
    """node --test tests/js/ on the fixtures: the wire format, paths, playlists and every placing step."""
    assert JS_TESTS, "no tests/js/*.test.mjs"
    result = subprocess.run([NODE, "--test", *map(str, JS_TESTS)], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": str(Path(NODE).parent), "SONGMAP_JS_FIXTURES": str(fixtures)}, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
