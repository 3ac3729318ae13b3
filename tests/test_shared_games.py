"""`map`, `embed` and `inspect` on the real game audio in ../shared/audio/games (52 files)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import REPO_ROOT, checksums
from songmap.app.cli import app

pytestmark = pytest.mark.shared
runner = CliRunner()


def _audio_files(games: Path) -> list[str]:
    return sorted(p.name for p in games.iterdir() if p.suffix in (".wav", ".ogg", ".mp3"))


@pytest.fixture(scope="module")
def games_map(shared_games: Path, tmp_path_factory) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("games") / "map"
    before = checksums(shared_games)
    result = runner.invoke(app, ["map", str(shared_games), "--out", str(out), "--seed", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert checksums(shared_games) == before, "the shared audio must never be modified"
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    # Keep what the map says about the pairs as a test artifact.
    artifacts = REPO_ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "games-pairs.json").write_text(json.dumps(doc.get("pairs"), indent=2), encoding="utf-8")
    return out, doc, result.output


def test_every_file_is_mapped_or_skipped_with_reason(shared_games: Path, games_map) -> None:
    _, doc, _ = games_map
    files = _audio_files(shared_games)
    assert len(files) == 52
    mapped = [t["file"] for t in doc["tracks"]]
    skipped = [s["file"] for s in doc["skipped"]]
    assert sorted(mapped + skipped) == files, "each file exactly once"
    assert all(s["reason"] for s in doc["skipped"])
    assert len(mapped) >= 48
    assert all(np.isfinite([t["x"], t["y"]]).all() for t in doc["tracks"])


def test_categories_and_durations_come_from_the_files(shared_games: Path, games_map) -> None:
    _, doc, _ = games_map
    with open(shared_games / "metadata.csv", newline="", encoding="utf-8") as f:
        categories = {row["filename"]: row["category"] for row in csv.DictReader(f)}
    for track in doc["tracks"]:
        assert track["category"] == categories[track["file"]]
    by_file = {t["file"]: t for t in doc["tracks"]}
    assert by_file["frozenbubble__frozen-mainzik-1p.ogg"]["duration_s"] == pytest.approx(321.75, abs=0.1)
    assert by_file["chromiumbsu__boom.wav"]["duration_s"] == pytest.approx(0.85, abs=0.01)


def test_storm_pairs_are_reported_with_distance(games_map) -> None:
    _, doc, output = games_map
    pairs = {(p["a"], p["b"]): p for p in doc["pairs"]}
    assert set(pairs) == {
        ("etr__freezingpoint.ogg", "etr__freezingpoint (Storm).ogg"),
        ("etr__start1-jt.ogg", "etr__start1-jt (Storm).ogg"),
    }
    points = np.array([[t["x"], t["y"]] for t in doc["tracks"]])
    files = [t["file"] for t in doc["tracks"]]
    for (a, b), pair in pairs.items():
        expected = np.linalg.norm(points[files.index(a)] - points[files.index(b)])
        assert pair["distance"] == pytest.approx(expected)
        assert 1 <= pair["rank_a_to_b"] <= len(files) - 1 and 1 <= pair["rank_b_to_a"] <= len(files) - 1
        assert f"{a} <-> {b}: distance" in output
        # The default preset (songwise: whole songs, tonal view, neighbour term; as the modulation preset
        # before it) puts each Storm variant first, both ways
        # (BENCHMARKS.md "Map quality"; the notebooks' model gave 2/1 and 14/40).
        assert (pair["rank_a_to_b"], pair["rank_b_to_a"]) == (1, 1), pair


def test_map_reports_its_quality(games_map) -> None:
    _, doc, output = games_map
    quality = doc["quality"]
    assert quality["n_tracks"] == len(doc["tracks"])
    # Measured values are 0.92-0.93 (trustworthiness@10) over seeds; PCA's is 0.88 in the same space.
    assert quality["trustworthiness"]["10"] >= 0.89
    assert 0.5 <= quality["knn_category_agreement"] <= 1.0
    assert "Quality: trustworthiness@5/@10" in output


def test_all_outputs_written(games_map) -> None:
    out, doc, _ = games_map
    for name in ("embeddings.json", "embeddings.csv", "map.png", "map.html", "model.safetensors"):
        assert (out / name).stat().st_size > 0
    assert doc["params"]["crop_seconds"] > 1.0


def test_embed_reproduces_map_coordinates(shared_games: Path, games_map) -> None:
    out, doc, _ = games_map
    by_file = {t["file"]: t for t in doc["tracks"]}
    names = ["etr__start1-jt (Storm).ogg", "etr__race1-jt.mp3", "chromiumbsu__boom.wav"]
    placed = out.parent / "placed.json"
    result = runner.invoke(app, ["embed", str(out), *(str(shared_games / n) for n in names), "--output", str(placed)])
    assert result.exit_code == 0, result.output
    tracks = json.loads(placed.read_text(encoding="utf-8"))["tracks"]
    for name, track in zip(names, tracks):
        assert track["x"] == pytest.approx(by_file[name]["x"], abs=1e-4)
        assert track["y"] == pytest.approx(by_file[name]["y"], abs=1e-4)


def test_inspect_reports_the_same_crop_as_map(shared_games: Path, games_map, tmp_path: Path) -> None:
    _, doc, _ = games_map
    result = runner.invoke(app, ["inspect", str(shared_games), "--out", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "52 audio file(s)" in result.output
    assert f"to {doc['params']['crop_seconds']:.2f} s" in result.output
    assert "MP3" in result.output and "OGG" in result.output and "WAV" in result.output
    assert (tmp_path / "durations.png").is_file()


def test_seek_decoded_windows_hold_each_files_own_frames(shared_games: Path) -> None:
    """Every window `load_windows` returns is the file's frames from the window's start, as a whole-file
    read has them. One libsndfile handle seeking from window to window got this wrong: on the two
    etr__start1-jt OGGs its Vorbis seeks after a read landed some frames off (windows up to 0.7 apart)."""
    import soundfile as sf

    from songmap.features.windows import window_starts
    from songmap.io import decode, windowed

    checked = 0
    for name in _audio_files(shared_games):
        path = shared_games / name
        try:
            whole, rate = sf.read(path, dtype="float32", always_2d=True)
        except sf.LibsndfileError:
            continue  # not libsndfile's to read: load_windows takes FFmpeg's way
        whole = decode.to_mono(whole)
        length = min(10.0, len(whole) / rate)
        starts = window_starts(len(whole) / rate, window_s=length, max_windows=6)
        windows, _ = windowed.load_windows(path, starts, length, sample_rate=rate)
        for start, window in zip(starts, windows):
            first = round(start * rate)
            np.testing.assert_allclose(window, whole[first : first + len(window)], atol=1e-6, err_msg=f"{name} at {start:.2f} s")
        checked += 1
    assert checked >= 40
