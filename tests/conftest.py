"""Shared fixtures: generated audio, the real game audio in ../shared/audio/games, the fast training
settings, and headless Chromium for the browser tests."""

from __future__ import annotations

import base64
import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from browsing import chromium_missing, headless_chromium
from songmap.io.atomic import write_sound

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_GAMES = REPO_ROOT.parent / "shared" / "audio" / "games"

#: Training settings small enough for a test and large enough that a noisy copy lands next to its
#: original, as SongMapper keywords; FAST_ARGS are the same as `songmap map` options.
FAST = {"epochs": 40, "n_mels": 64, "filters": (8, 16)}


def map_options(params: dict) -> list[str]:
    """``params`` (SongMapper keywords) as `songmap map` options: ``n_mels=64`` -> ``--n-mels 64``."""
    options = []
    for name, value in params.items():
        text = ",".join(str(v) for v in value) if isinstance(value, (tuple, list)) else str(value)
        options += ["--" + name.replace("_", "-"), text]
    return options


FAST_ARGS = map_options(FAST)


def write_audio(path: Path, y: np.ndarray, sample_rate: int, fmt: str | None = None, subtype: str | None = None) -> Path:
    """Write float audio ``(frames,)`` or ``(frames, channels)`` to ``path``, creating its folder.

    The format follows the extension unless ``fmt`` is given; written by
    :func:`songmap.io.atomic.write_sound`, the project's block-wise writer.

    Returns
    -------
    Path
        ``path``, so a test can write and use a file in one line.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    write_sound(path, y, sample_rate, fmt=fmt, subtype=subtype)
    return path


def tone(freq: float, seconds: float, sample_rate: int = 22050, harmonics: int = 3, seed: int = 0, noise: float = 0.0) -> np.ndarray:
    """A harmonic tone with an amplitude pulse (so it has texture), optionally with white noise."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    y = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    y = y * (0.6 + 0.4 * np.sin(2 * np.pi * 2.0 * t) ** 2)
    if noise:
        y = y + noise * np.random.default_rng(seed).standard_normal(len(t))
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


def noise_burst(seconds: float, sample_rate: int = 22050, seed: int = 0) -> np.ndarray:
    """Decaying white noise, like an explosion effect."""
    n = int(seconds * sample_rate)
    rng = np.random.default_rng(seed)
    return (0.5 * rng.standard_normal(n) * np.exp(-np.linspace(0, 6, n))).astype(np.float32)


def write_six_songs(root: Path) -> Path:
    """Six short generated songs in four containers under ``root``, no metadata (the interrupt and
    fault tests' folder: ``a drone.wav`` ... ``f storm.wav``, the last a noisy copy of the first)."""
    write_audio(root / "a drone.wav", tone(110, 2.0), 22050)
    write_audio(root / "b hum.flac", tone(220, 1.5, 44100, harmonics=5), 44100)
    write_audio(root / "c bright.ogg", tone(1320, 1.5, 32000), 32000)
    write_audio(root / "d boom.wav", noise_burst(0.6, 22050, seed=1), 22050)
    write_audio(root / "e blip.wav", tone(1760, 0.2), 22050)
    write_audio(root / "f storm.wav", tone(110, 2.0, noise=0.05), 22050)
    return root


def write_small_collection(root: Path) -> Path:
    """Eight short generated tracks in two categories under ``root``, with a metadata.csv and a pairs.csv.

    Includes names with spaces and non-ASCII characters, a subfolder, mixed formats
    and rates, a stereo file and a noisy copy of one tone.
    """
    tracks = [
        ("Low Drone.wav", tone(110, 3.0), 22050, "soundscape"),
        ("Low Drone (Storm).wav", tone(110, 3.0, noise=0.01), 22050, "soundscape"),
        ("Mid Hum.flac", tone(220, 2.5, 44100, harmonics=5), 44100, "soundscape"),
        ("Café Theme.ogg", tone(330, 4.0, 32000, harmonics=2), 32000, "soundscape"),
        ("effects/Boom 1.wav", noise_burst(0.6, 22050, seed=1), 22050, "soundeffect"),
        ("effects/Boom 2.wav", noise_burst(0.4, 48000, seed=2), 48000, "soundeffect"),
        ("effects/Blip.wav", tone(1760, 0.15, 22050), 22050, "soundeffect"),
        ("effects/Zap é.wav", np.stack([tone(2000, 0.3), tone(2100, 0.3)], axis=1), 22050, "soundeffect"),
    ]
    for name, y, sr, _ in tracks:
        write_audio(root / name, y, sr)
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "category", "source"])
        for name, _, _, category in tracks:
            writer.writerow([name, category, "generated"])
    with open(root / "pairs.csv", "w", newline="", encoding="utf-8") as f:
        f.write("a,b,kind\nLow Drone.wav,Low Drone (Storm).wav,storm\n")
    return root


@pytest.fixture
def small_collection(tmp_path: Path) -> Path:
    """The small collection (:func:`write_small_collection`) in a folder of this test's own."""
    return write_small_collection(tmp_path / "my songs")


@pytest.fixture(scope="session")
def shared_games() -> Path:
    """The real game audio beside the project; skipped outside CI when ../shared is absent."""
    if not (SHARED_GAMES / "metadata.csv").is_file():
        if os.environ.get("SONGMAP_REQUIRE_SHARED"):
            pytest.fail(f"{SHARED_GAMES} is required here (SONGMAP_REQUIRE_SHARED is set) but missing")
        pytest.skip(f"real game audio not found at {SHARED_GAMES} (../shared is only beside the project in CI)")
    return SHARED_GAMES


def checksums(folder: Path) -> dict[str, tuple[int, str]]:
    """(mtime_ns, sha256) of every file below ``folder``, to prove inputs are untouched."""
    import hashlib

    result = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            result[str(path.relative_to(folder))] = (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return result


# -- three families of generated tracks (quality, presets, saved models) --------------------------

FAMILY_SR = 22050


def _family_track(family: str, variant: int, seconds: float = 4.0) -> np.ndarray:
    """A track of one of three families that differ in timbre and rhythm; variants differ in pitch and tempo."""
    rng = np.random.default_rng(100 * ord(family[0]) + variant)
    t = np.arange(int(seconds * FAMILY_SR)) / FAMILY_SR
    if family == "drone":  # low harmonic tone, slowly swelling
        f0, swell = 90 * 1.5**variant, 0.25 * (variant + 1)
        y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5)) * (0.6 + 0.4 * np.sin(2 * np.pi * swell * t))
    elif family == "arp":  # bright square-wave notes, 5-9 per second
        rate = 5 + 2 * variant
        notes = 500 * 1.2**variant * 2 ** (rng.integers(0, 12, size=int(seconds * rate) + 1) / 12)
        f = notes[(t * rate).astype(int)]
        y = np.sign(np.sin(2 * np.pi * np.cumsum(f) / FAMILY_SR)) * 0.5
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
            write_audio(root / name, _family_track(family, variant), FAMILY_SR)
            rows.append((name, family))
    original = _family_track("drone", 1)
    bed = _noise_bed(len(original), 0.0, seed=7)
    bed *= np.sqrt(np.mean(original**2) / np.mean(bed**2)) * 10 ** (-12 / 20)
    noisy = original + bed
    write_audio(root / "drone 1 (Storm).wav", (0.5 * noisy / np.max(np.abs(noisy))).astype(np.float32), FAMILY_SR)
    rows.append(("drone 1 (Storm).wav", "drone"))
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("filename", "category"), *rows])
    (root / "pairs.csv").write_text("a,b,kind\ndrone 1.wav,drone 1 (Storm).wav,storm\n", encoding="utf-8")
    return root


# -- embeddings documents for the page and server tests --------------------------------------------


def make_doc(input_dir: Path, tracks: list[dict]) -> dict:
    """An embeddings document in the format `songmap map` writes."""
    return {
        "songmap_version": "0.1.0",
        "created": "2026-11-25T10:00:00+00:00",
        "input_dir": str(input_dir),
        "params": {"sample_rate": 22050, "n_mels": 128},
        "tracks": tracks,
        "skipped": [],
    }


def page_array(tensor: dict) -> np.ndarray:
    """A tensor of the page's model block (songmap.web.placing) as its numpy array, in its own dtype."""
    dtype = np.dtype(tensor["dtype"]).newbyteorder("<")
    return np.frombuffer(base64.b64decode(tensor["data"]), dtype=dtype).reshape(tensor["shape"])


def page_weights(model: dict) -> dict[str, np.ndarray]:
    """The encoder weights as the page carries them (float16), as float32 under encode_numpy's keys."""
    weights = {"to_latent.weight": page_array(model["latent"]["weight"]), "to_latent.bias": page_array(model["latent"]["bias"])}
    for i, layer in enumerate(model["layers"]):
        conv, norm = f"encoder_conv.{3 * i}", f"encoder_conv.{3 * i + 1}"
        weights |= {f"{conv}.weight": page_array(layer["weight"]), f"{conv}.bias": page_array(layer["bias"]),
                    f"{norm}.weight": page_array(layer["gamma"]), f"{norm}.bias": page_array(layer["beta"]),
                    f"{norm}.running_mean": page_array(layer["mean"]), f"{norm}.running_var": page_array(layer["var"])}
    return {key: value.astype(np.float32) for key, value in weights.items()}


def track(file: str, x: float = 0.0, y: float = 0.0, **extra) -> dict:
    entry = {"file": file, "title": Path(file).stem, "category": "demo", "duration_s": 61.4, "x": x, "y": y}
    entry.update(extra)
    return entry


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An output folder holding an embeddings.json of one track (the page and server tests)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "embeddings.json").write_text(json.dumps(make_doc(tmp_path / "in", [track("a.ogg")])))
    return out


# -- headless Chromium for the tests marked "browser" -----------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Skip the selected browser tests where Chromium cannot run; where it must (CI), stop instead."""
    browser_tests = [item for item in items if item.get_closest_marker("browser")]
    reason = chromium_missing() if browser_tests else None
    if reason is None:
        return
    if os.environ.get("SONGMAP_REQUIRE_BROWSER"):
        # CI sets this: a browser test that silently skips there would prove nothing.
        raise pytest.UsageError(f"browser tests are required here but cannot run: {reason}")
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (:func:`browsing.headless_chromium`), one per test module."""
    with headless_chromium() as chromium:
        yield chromium
