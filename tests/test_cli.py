"""The command line on generated audio: map, inspect, convert, embed, page, and what users see on bad input."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import FAST, FAST_ARGS, checksums, tone, write_audio, write_small_collection
from songmap.app.cli import app

runner = CliRunner()


def songmap(*args: str | os.PathLike):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def mapped(tmp_path_factory) -> tuple[Path, Path, object]:
    """The small collection and its output folder, mapped once for the tests that only read them."""
    base = tmp_path_factory.mktemp("mapped")
    root = write_small_collection(base / "my songs")
    out = base / "out"
    before = checksums(root)
    result = songmap("map", root, "--out", out, *FAST_ARGS)
    assert result.exit_code == 0, result.output
    assert checksums(root) == before, "input files must never be modified"
    return root, out, result


@pytest.fixture
def mapped_copy(mapped, tmp_path: Path) -> tuple[Path, Path, object]:
    """``mapped`` with a copy of its output folder (times kept) for a test that changes it."""
    root, out, result = mapped
    copy = shutil.copytree(out, tmp_path / "out")
    return root, copy, result


def test_map_writes_every_output(mapped) -> None:
    root, out, result = mapped
    for name in ("embeddings.json", "embeddings.csv", "map.png", "map.html", "model.safetensors"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert any((out / "cache").iterdir())
    assert "Mapped 8 track(s), skipped 0" in result.output
    assert "map.html" in result.output


def test_embeddings_json_format(mapped) -> None:
    root, out, _ = mapped
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    assert set(doc) >= {"songmap_version", "created", "params", "tracks", "skipped", "input_dir"}
    assert doc["input_dir"] == str(root.resolve())
    assert doc["params"]["n_mels"] == FAST["n_mels"] and doc["params"]["epochs"] == FAST["epochs"] and doc["params"]["seed"] == 0
    # The default preset crops at the longest track (capped at 30 s); preset "seed" keeps the notebooks' 75.
    assert doc["params"]["crop_percentile"] == 100.0 and doc["params"]["sample_rate"] == 22050
    assert doc["params"]["preset"] == "default" and doc["params"]["representation"] == "songwise"
    files = sorted(t["file"] for t in doc["tracks"])
    assert files == sorted(
        ["Low Drone.wav", "Low Drone (Storm).wav", "Mid Hum.flac", "Café Theme.ogg",
         "effects/Boom 1.wav", "effects/Boom 2.wav", "effects/Blip.wav", "effects/Zap é.wav"]
    )
    by_file = {t["file"]: t for t in doc["tracks"]}
    assert by_file["Café Theme.ogg"]["title"] == "Café Theme"
    assert by_file["Café Theme.ogg"]["category"] == "soundscape"
    assert by_file["effects/Blip.wav"]["category"] == "soundeffect"
    assert by_file["Mid Hum.flac"]["duration_s"] == pytest.approx(2.5, abs=0.01)
    for t in doc["tracks"]:
        assert set(t) >= {"file", "title", "category", "duration_s", "x", "y", "neighbours", "neighbour_distances",
                          "cluster", "cluster_name", "trustworthiness", "continuity"}
        assert np.isfinite([t["x"], t["y"]]).all()
    assert doc["skipped"] == []
    # pairs.csv in the input folder is reported with distance and ranks.
    (pair,) = doc["pairs"]
    assert pair["a"] == "Low Drone.wav" and pair["kind"] == "storm"
    xy = {t["file"]: np.array([t["x"], t["y"]]) for t in doc["tracks"]}
    assert pair["distance"] == pytest.approx(np.linalg.norm(xy[pair["a"]] - xy[pair["b"]]))
    # The noisy copy is the original's nearest neighbour on the map, both ways.
    assert (pair["rank_a_to_b"], pair["rank_b_to_a"]) == (1, 1)


def test_embeddings_csv_has_the_same_rows(mapped) -> None:
    _, out, _ = mapped
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    with open(out / "embeddings.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["file", "title", "category", "duration_s", "x", "y", "cluster", "cluster_name", "trustworthiness", "continuity",
                            "artist", "album", "genre", "year", "track_number"]
    assert [r["file"] for r in rows] == [t["file"] for t in doc["tracks"]]
    assert [float(r["x"]) for r in rows] == pytest.approx([t["x"] for t in doc["tracks"]])


def test_same_seed_same_map_and_second_run_uses_cache(mapped_copy, tmp_path: Path) -> None:
    root, out, _ = mapped_copy
    first = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    cache_entries = {p.name: p.stat().st_mtime_ns for p in (out / "cache").iterdir()}
    result = songmap("map", root, "--out", out, *FAST_ARGS)
    assert result.exit_code == 0, result.output
    second = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    assert [(t["x"], t["y"]) for t in first["tracks"]] == [(t["x"], t["y"]) for t in second["tracks"]]
    # Every entry was reused, none rewritten: the second run decoded nothing.
    assert {p.name: p.stat().st_mtime_ns for p in (out / "cache").iterdir()} == cache_entries

    other = songmap("map", root, "--out", tmp_path / "other", "--seed", "1", *FAST_ARGS)
    assert other.exit_code == 0
    third = json.loads((tmp_path / "other" / "embeddings.json").read_text(encoding="utf-8"))
    assert [(t["x"], t["y"]) for t in first["tracks"]] != [(t["x"], t["y"]) for t in third["tracks"]]


def test_embed_places_a_mapped_song_where_map_put_it(mapped, tmp_path: Path) -> None:
    root, out, _ = mapped
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    by_file = {t["file"]: t for t in doc["tracks"]}
    new_song = write_audio(tmp_path / "new song.wav", tone(115, 3.0), 22050)
    result = songmap("embed", out, root / "Mid Hum.flac", new_song, "--output", tmp_path / "placed.json")
    assert result.exit_code == 0, result.output
    placed = json.loads((tmp_path / "placed.json").read_text(encoding="utf-8"))["tracks"]
    assert placed[0]["x"] == pytest.approx(by_file["Mid Hum.flac"]["x"], abs=1e-4)
    assert placed[0]["y"] == pytest.approx(by_file["Mid Hum.flac"]["y"], abs=1e-4)
    assert placed[1]["file"].endswith("new song.wav") and np.isfinite([placed[1]["x"], placed[1]["y"]]).all()
    assert "new song.wav" in result.output

    result = songmap("embed", out, new_song, "--output", tmp_path / "placed.csv")
    assert result.exit_code == 0
    assert "new song" in (tmp_path / "placed.csv").read_text(encoding="utf-8")


def test_embed_command_imports_neither_pytorch_nor_scikit_learn(mapped, tmp_path: Path) -> None:
    """`songmap embed` is mostly start-up, and `import torch` alone takes about a second, scikit-learn's
    BaseEstimator another: placing a song runs the encoder in NumPy on model.safetensors through the
    fitted map (songmap.mapper.fitted), so neither is imported."""
    root, out, _ = mapped
    code = (
        "import sys; from songmap.app.cli import app; "
        f"sys.argv = ['songmap', 'embed', {str(out)!r}, {str(root / 'Mid Hum.flac')!r}]\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
        "print('sklearn imported:', 'sklearn' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Mid Hum.flac" in result.stdout
    assert "torch imported: False" in result.stdout
    assert "sklearn imported: False" in result.stdout


def test_embed_uses_the_model_pt_of_a_map_made_before_model_format_3(mapped_copy, tmp_path: Path) -> None:
    import torch

    from songmap.mapper import SongMapper

    root, out, _ = mapped_copy
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    mid_hum = next(t for t in doc["tracks"] if t["file"] == "Mid Hum.flac")
    mapper = SongMapper.load(out / "model.safetensors")
    t = mapper.training_
    torch.save({  # what SongMapper.save wrote in format 2
        "format": "songmap-model", "format_version": 2, "songmap_version": "0.1.0", "params": mapper.params_,
        "crop_seconds": mapper.crop_seconds_, "band_mean": torch.from_numpy(mapper.band_mean_),
        "band_std": torch.from_numpy(mapper.band_std_), "model_config": mapper.model_.config(),
        "state_dict": mapper.model_.state_dict(),
        "training": {"losses": t.losses, "best_epoch": t.best_epoch, "best_loss": t.best_loss, "stopped_early": t.stopped_early},
    }, out / "model.pt")
    (out / "model.safetensors").unlink()
    result = songmap("embed", out, root / "Mid Hum.flac", "--output", tmp_path / "placed.json")
    assert result.exit_code == 0, result.output
    placed = json.loads((tmp_path / "placed.json").read_text(encoding="utf-8"))["tracks"][0]
    assert (placed["x"], placed["y"]) == pytest.approx((mid_hum["x"], mid_hum["y"]), abs=1e-4)


def test_embed_errors(mapped, tmp_path: Path) -> None:
    _, out, _ = mapped
    bad = tmp_path / "bad.mp3"
    bad.write_text("nope")
    result = songmap("embed", out, bad)
    assert result.exit_code == 1
    # One line, with the file's own reason.
    assert result.output.strip().splitlines() == [
        "error: none of the files could be placed on the map (bad.mp3: not decodable audio (not a known audio format))"]
    (tmp_path / "empty.wav").write_bytes(b"")
    result = songmap("embed", out, bad, tmp_path / "empty.wav", tmp_path / "gone.ogg", tmp_path)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1
    assert "bad.mp3: not decodable audio" in lines[0] and "empty.wav: empty file (0 bytes)" in lines[0]
    assert lines[0].endswith("; and 1 more)")
    result = songmap("embed", tmp_path / "nowhere", bad)
    assert result.exit_code == 1 and "no model.safetensors" in result.output


def test_page_rebuilds_map_html(mapped_copy) -> None:
    _, out, _ = mapped_copy
    (out / "map.html").unlink()
    result = songmap("page", out)
    assert result.exit_code == 0, result.output
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Café Theme" in html or "Caf\\u00e9 Theme" in html


def test_categories_filter(small_collection: Path, tmp_path: Path) -> None:
    result = songmap("map", small_collection, "--out", tmp_path / "o", "--categories", "soundeffect", *FAST_ARGS)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "o" / "embeddings.json").read_text(encoding="utf-8"))
    assert {t["category"] for t in doc["tracks"]} == {"soundeffect"} and len(doc["tracks"]) == 4
    assert "4 file(s) left out by --categories" in result.output


def test_bad_files_are_listed_as_skipped(small_collection: Path, tmp_path: Path) -> None:
    (small_collection / "broken.mp3").write_text("this is a text file")
    (small_collection / "empty.wav").write_bytes(b"")
    sf.write(str(small_collection / "silence.wav"), np.zeros(22050, np.float32), 22050)
    result = songmap("map", small_collection, "--out", tmp_path / "o", *FAST_ARGS)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "o" / "embeddings.json").read_text(encoding="utf-8"))
    skipped = {s["file"]: s["reason"] for s in doc["skipped"]}
    assert set(skipped) == {"broken.mp3", "empty.wav", "silence.wav"}
    assert "not decodable" in skipped["broken.mp3"]
    assert "empty" in skipped["empty.wav"]
    assert "silent" in skipped["silence.wav"]
    assert len(doc["tracks"]) == 8
    assert "skipped: broken.mp3" in result.output


def test_metadata_row_naming_missing_file_is_reported(small_collection: Path, tmp_path: Path) -> None:
    with open(small_collection / "metadata.csv", "a", encoding="utf-8") as f:
        f.write("ghost track.ogg,soundscape,generated\n")
    result = songmap("map", small_collection, "--out", tmp_path / "o", *FAST_ARGS)
    assert result.exit_code == 0
    assert "not in the folder: ghost track.ogg" in result.output


def test_spreadsheet_metadata_is_understood(small_collection: Path, tmp_path: Path) -> None:
    meta = tmp_path / "sheet.csv"
    meta.write_bytes("\ufefffilename;Category\r\nMid Hum.flac;loops\r\n".encode("utf-8"))
    result = songmap("map", small_collection, "--out", tmp_path / "o", "--metadata", meta, *FAST_ARGS)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "o" / "embeddings.json").read_text(encoding="utf-8"))
    cats = {t["file"]: t["category"] for t in doc["tracks"]}
    assert cats["Mid Hum.flac"] == "loops" and cats["Low Drone.wav"] is None


def _a_file(d: Path) -> Path:
    (d / "f.txt").write_text("x")
    return d / "f.txt"


def _an_empty_folder(d: Path) -> Path:
    (d / "e").mkdir()
    return d / "e"


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: d / "does not exist", "input folder not found"),
        (_a_file, "input is not a folder"),
        (_an_empty_folder, "no audio files found"),
    ],
    ids=["missing", "file", "empty"],
)
def test_bad_input_folder_is_one_clear_line(tmp_path: Path, setup, message: str) -> None:
    target = setup(tmp_path)
    result = songmap("map", target, "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_one_decodable_file_is_not_a_map(tmp_path: Path) -> None:
    root = tmp_path / "in"
    write_audio(root / "only.wav", tone(440, 1.0), 22050)
    (root / "junk.ogg").write_text("junk")
    result = songmap("map", root, "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert "need at least 2 decodable audio files" in result.output
    assert not (tmp_path / "o" / "embeddings.json").exists()


def test_unreadable_metadata_is_one_clear_line(small_collection: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_bytes(b"name,kind\nx,y\n")
    result = songmap("map", small_collection, "--out", tmp_path / "o", "--metadata", tmp_path / "bad.csv")
    assert result.exit_code == 1 and "no 'filename' column" in result.output
    result = songmap("map", small_collection, "--out", tmp_path / "o", "--metadata", tmp_path / "missing.csv")
    assert result.exit_code == 1 and "metadata file not found" in result.output


def test_inspect_shows_table_quartiles_and_crop(small_collection: Path, tmp_path: Path) -> None:
    (small_collection / "broken.mp3").write_text("junk")
    result = songmap("inspect", small_collection, "--out", tmp_path / "eda")
    assert result.exit_code == 0, result.output
    text = result.output
    for expected in ("Café Theme.ogg", "44100", "soundscape", "soundeffect", "median", "would loop-pad/crop",
                     "not decodable", "1 file(s) would be skipped"):
        assert expected in text, expected
    assert (tmp_path / "eda" / "durations.png").stat().st_size > 1000


def test_convert_mirrors_tree_and_never_overwrites_without_force(small_collection: Path, tmp_path: Path) -> None:
    before = checksums(small_collection)
    dest = tmp_path / "converted"
    result = songmap("convert", small_collection, dest, "--format", "flac", "--sample-rate", "16000")
    assert result.exit_code == 0, result.output
    assert (dest / "effects" / "Zap é.flac").is_file()
    info = sf.info(str(dest / "Mid Hum.flac"))
    assert info.samplerate == 16000 and info.duration == pytest.approx(2.5, abs=0.01)
    assert sf.info(str(dest / "effects" / "Zap é.flac")).channels == 2  # channels are kept
    assert checksums(small_collection) == before

    marker = dest / "Mid Hum.flac"
    marker_bytes = marker.read_bytes()
    write_audio(marker, tone(100, 0.1), 16000, fmt="FLAC")  # the user's own file now
    own = marker.read_bytes()
    result = songmap("convert", small_collection, dest, "--format", "flac", "--sample-rate", "16000")
    assert result.exit_code == 0
    assert marker.read_bytes() == own and "use --force" in result.output
    result = songmap("convert", small_collection, dest, "--format", "flac", "--sample-rate", "16000", "--force")
    assert result.exit_code == 0 and marker.read_bytes() == marker_bytes


def test_convert_refuses_to_overwrite_inputs(small_collection: Path) -> None:
    before = checksums(small_collection)
    result = songmap("convert", small_collection, small_collection, "--format", "wav", "--force")
    assert "target would overwrite an input file" in result.output
    after = checksums(small_collection)
    # The wav inputs are untouched; only new .wav files for the flac/ogg inputs were added.
    assert {k: v for k, v in after.items() if k in before} == before


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert songmap("map", tmp_path, "--epochs", "0").exit_code == 2
    assert songmap("map", tmp_path, "--filters", "a,b").exit_code == 2
    assert songmap("convert", tmp_path, tmp_path / "x", "--format", "mp3").exit_code == 2


def test_module_entry_point_and_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "songmap", "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("songmap ")
    proc = subprocess.run([sys.executable, "-m", "songmap", "map", "/definitely/not/here"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: input folder not found: /definitely/not/here"


def test_a_long_features_stage_says_how_long_is_left(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    for k in range(24):
        write_audio(folder / f"clip {k:02d}.wav", tone(110 * (1 + k % 7), 0.5 + 0.05 * k, 16000, seed=k), 16000)
    result = songmap("map", folder, "--out", tmp_path / "out", *FAST_ARGS, "--jobs", "1")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("features: ")]
    # A line with the time left at each tenth of the files (24 files: after 3, 5, 8, ... 22), then the total.
    assert [line.split()[1] for line in lines] == [f"{d}/24" for d in (3, 5, 8, 10, 12, 15, 17, 20, 22)] + ["24"]
    assert all(re.search(r", about \d+ (s|min \d+ s) left$", line) for line in lines[:-1]), lines
