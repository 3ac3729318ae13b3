"""``songmap update``: the map follows its folder; kept tracks stay put bit for bit.

One generated collection is mapped once per module; each test works on its own copy of
the folder and the map (``copytree`` keeps sizes and nanosecond mtimes, so an untouched
copy is an unchanged library), adds, deletes or changes files, and checks what ``update``
and ``update --refit`` did against ``embed``, the page and the saved model.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FAST, noise_burst, tone, write_audio, write_small_collection
from songmap.app.cli import app
from songmap.app.jobs import SongMapper, embed_files, map_folder, update_map
from songmap.web.page import render_map_page

runner = CliRunner()
NEW_SONG = "new/Bright Bell.wav"


def songmap(*args: str | os.PathLike):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> tuple[Path, Path]:
    """(input folder, output folder) of a map of the small collection, made once."""
    root = tmp_path_factory.mktemp("update")
    folder = write_small_collection(root / "library")
    out = root / "out"
    map_folder(folder, out, SongMapper(**FAST, n_jobs=1, seed=0))
    return folder, out


@pytest.fixture
def library(original, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the folder and its map, the map pointing at the copied folder."""
    folder, out = tmp_path / "library", tmp_path / "out"
    shutil.copytree(original[0], folder)
    shutil.copytree(original[1], out, ignore=shutil.ignore_patterns("cache"))
    doc_path = out / "embeddings.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    doc["input_dir"] = str(folder)
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    return folder, out


def tracks_of(out: Path) -> dict[str, dict]:
    return {t["file"]: t for t in json.loads((out / "embeddings.json").read_text(encoding="utf-8"))["tracks"]}


def embedded(out: Path, path: Path) -> tuple[float, float]:
    (song,) = embed_files(out, [path]).placed
    return song.x, song.y


def test_an_unchanged_folder_keeps_every_track_and_the_model(library) -> None:
    folder, out = library
    before, model = tracks_of(out), (out / "model.safetensors").read_bytes()
    result = update_map(out)
    assert (result.added, result.changed, result.deleted, result.kept) == ([], [], [], len(before))
    after = tracks_of(out)
    assert list(after) == list(before)
    assert all((after[f]["x"], after[f]["y"]) == (before[f]["x"], before[f]["y"]) for f in before)
    assert not any("added_after_training" in t for t in after.values())
    assert (out / "model.safetensors").read_bytes() == model


def test_added_files_go_where_embed_puts_them_and_deleted_ones_leave(library) -> None:
    folder, out = library
    before = tracks_of(out)
    new = write_audio(folder / NEW_SONG, tone(880, 2.0, 22050, harmonics=3), 22050)
    (folder / "effects/Blip.wav").unlink()
    result = update_map(out)
    assert result.added == [NEW_SONG] and result.deleted == ["effects/Blip.wav"] and result.changed == []
    after = tracks_of(out)
    assert set(after) == (set(before) - {"effects/Blip.wav"}) | {NEW_SONG}
    for file, track in after.items():
        if file != NEW_SONG:  # every other track exactly where it was
            assert (track["x"], track["y"]) == (before[file]["x"], before[file]["y"]), file
            assert "added_after_training" not in track
    assert (after[NEW_SONG]["x"], after[NEW_SONG]["y"]) == embedded(out, new)
    assert after[NEW_SONG]["added_after_training"] is True
    assert after[NEW_SONG]["title"] == "Bright Bell" and after[NEW_SONG]["duration_s"] == pytest.approx(2.0, abs=0.01)
    # Neighbours, clusters and trust are those of the new set of tracks.
    n = len(after)
    for track in after.values():
        assert all(0 <= i < n for i in track["neighbours"]) and len(track["neighbours"]) == min(10, n - 1)
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    assert sum(c["size"] for c in doc["clusters"]) <= n and doc["quality"]["n_tracks"] == n
    assert "Blip" not in (out / "embeddings.csv").read_text(encoding="utf-8")
    assert "Bright Bell" in (out / "map.html").read_text(encoding="utf-8")


def test_a_changed_file_is_placed_again_and_stays_marked_on_the_next_update(library) -> None:
    folder, out = library
    before = tracks_of(out)
    changed = folder / "effects/Boom 1.wav"
    write_audio(changed, noise_burst(1.5, 22050, seed=9), 22050)
    result = update_map(out)
    assert result.changed == ["effects/Boom 1.wav"] and result.added == [] and result.deleted == []
    after = tracks_of(out)
    assert (after["effects/Boom 1.wav"]["x"], after["effects/Boom 1.wav"]["y"]) == embedded(out, changed)
    assert after["effects/Boom 1.wav"]["duration_s"] == pytest.approx(1.5, abs=0.01)
    assert after["effects/Boom 1.wav"]["file_size"] == changed.stat().st_size
    assert all((after[f]["x"], after[f]["y"]) == (before[f]["x"], before[f]["y"]) for f in before if f != "effects/Boom 1.wav")
    # A second update finds nothing new, and the track placed since training stays marked.
    again = update_map(out)
    assert (again.added, again.changed, again.deleted) == ([], [], [])
    assert tracks_of(out)["effects/Boom 1.wav"]["added_after_training"] is True


def test_the_page_rings_the_tracks_added_since_training(library) -> None:
    folder, out = library
    write_audio(folder / NEW_SONG, tone(880, 2.0, 22050, harmonics=3), 22050)
    update_map(out)
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    added = [i for i, t in enumerate(doc["tracks"]) if t.get("added_after_training")]
    assert [doc["tracks"][i]["file"] for i in added] == [NEW_SONG]
    html = render_map_page(doc, ["a"] * len(doc["tracks"]))
    assert f'"added":{json.dumps(added)}' in html.replace(" ", "")
    assert '"added"' not in render_map_page(json.loads(json.dumps({**doc, "tracks": [
        {k: v for k, v in t.items() if k != "added_after_training"} for t in doc["tracks"]]})), ["a"] * len(doc["tracks"]))


def test_refit_retrains_aligns_onto_the_old_map_and_the_model_places_songs_on_it(library) -> None:
    folder, out = library
    before, model = tracks_of(out), (out / "model.safetensors").read_bytes()
    new = write_audio(folder / NEW_SONG, tone(880, 2.0, 22050, harmonics=3), 22050)
    result = update_map(out, refit=True)
    assert result.added == [NEW_SONG] and result.kept == len(before)
    median, p95 = result.displacement
    assert 0 <= median <= p95
    assert (out / "model.safetensors").read_bytes() != model
    after = tracks_of(out)
    assert not any("added_after_training" in t for t in after.values())  # all of them trained on
    old = np.array([(before[f]["x"], before[f]["y"]) for f in before])
    now = np.array([(after[f]["x"], after[f]["y"]) for f in before])
    extent = np.linalg.norm(old.max(axis=0) - old.min(axis=0))
    moved = np.linalg.norm(now - old, axis=1) / extent
    assert np.median(moved) == pytest.approx(median, abs=1e-9)
    # Aligned: the retrained map is no further from the old one than without the alignment.
    raw = now - now.mean(axis=0)
    assert np.sum((now - old) ** 2) <= np.sum((raw - (old - old.mean(axis=0))) ** 2) + 1e-9
    # The alignment lives in the saved encoder too: embed puts a song where the map has it.
    assert embedded(out, new) == pytest.approx((after[NEW_SONG]["x"], after[NEW_SONG]["y"]), abs=1e-4 * extent)


def test_a_map_made_before_file_stamps_keeps_its_tracks_and_says_so(library) -> None:
    folder, out = library
    doc_path = out / "embeddings.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    for track in doc["tracks"]:
        del track["file_size"], track["file_mtime_ns"]
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    write_audio(folder / "effects/Boom 1.wav", noise_burst(1.5, 22050, seed=9), 22050)  # not seen without a stamp
    result = songmap("update", out)
    assert result.exit_code == 0, result.output
    assert "8 track(s) were mapped before songmap recorded file sizes and times" in result.output
    assert "Updated 8 track(s): 0 added, 0 changed, 0 deleted, 8 kept" in result.output
    assert "file_size" in tracks_of(out)["effects/Boom 1.wav"]  # stamped from now on


def test_the_cli_summary_and_its_one_line_errors(library, tmp_path: Path) -> None:
    folder, out = library
    write_audio(folder / NEW_SONG, tone(880, 2.0, 22050, harmonics=3), 22050)
    (folder / "effects/Blip.wav").unlink()
    result = songmap("update", out)
    assert result.exit_code == 0, result.output
    assert "Updated 8 track(s): 1 added, 0 changed, 1 deleted, 7 kept" in result.output
    assert f"to {out}" in result.output.replace("\n", "")

    empty = tmp_path / "empty"
    empty.mkdir()
    result = songmap("update", empty)
    assert result.exit_code == 1 and result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1
    (out / "model.safetensors").unlink()
    result = songmap("update", out)
    assert result.exit_code == 1 and result.output.strip().splitlines() == [
        f"error: no model.safetensors in {out}: run `songmap map` again to make one"]
    shutil.rmtree(folder)
    (out / "model.safetensors").write_bytes(b"")
    result = songmap("update", out)
    assert result.exit_code == 1 and result.output.startswith("error: ") and "Traceback" not in result.output
