"""Trajectories: a songwise map gives each track the path of its windows in embeddings.json."""

from __future__ import annotations

import json

import numpy as np

from conftest import tone, write_audio
from songmap.app.jobs.mapping import map_folder
from songmap.mapper import SongMapper

SR = 22050


def test_songwise_map_writes_each_tracks_path(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    for i in range(5):
        write_audio(folder / f"steady {i}.wav", tone(150 + 90 * i, 6.0, seed=i), SR)
    # Much longer than the others' 6 s windows: several windows, the second half another tune.
    write_audio(folder / "two parts.wav", np.concatenate([tone(150, 15.0), tone(420, 15.0, seed=3)]), SR)
    out = tmp_path / "out"
    result = map_folder(folder, out, SongMapper(preset="songwise", epochs=40, seed=0, max_windows=4, max_crop_s=6.0))
    doc = json.loads((out / "embeddings.json").read_text())
    assert doc["params"]["representation"] == "songwise"
    tracks = {t["file"]: t for t in doc["tracks"]}
    two_parts = np.array(tracks["two parts.wav"]["path"])
    assert two_parts.shape == (4, 2) and np.isfinite(two_parts).all()
    for name, track in tracks.items():
        if name != "two parts.wav":
            assert len(track["path"]) == 1  # one loop-padded window for a song no longer than a window
            # A one-window song's path is its place on the map.
            np.testing.assert_allclose(track["path"][0], [track["x"], track["y"]], atol=1e-3)
    # The path is where the encoder puts each window, as transform_windows says.
    starts, placed = result.mapper.transform_windows([folder / "two parts.wav"])[0]
    np.testing.assert_allclose(two_parts, placed, atol=1e-5)
    # The path goes from the first tune to the second: "steady 0" plays the first half's tune, "steady 3" the second's.
    first, second = (np.array([tracks[f"steady {i}.wav"]["x"], tracks[f"steady {i}.wav"]["y"]]) for i in (0, 3))
    assert np.linalg.norm(two_parts[0] - first) < np.linalg.norm(two_parts[0] - second)
    assert np.linalg.norm(two_parts[-1] - second) < np.linalg.norm(two_parts[-1] - first)


def test_other_maps_have_no_paths(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    for i in range(4):
        write_audio(folder / f"t{i}.wav", tone(150 + 90 * i, 4.0, seed=i), SR)
    map_folder(folder, tmp_path / "out", SongMapper(preset="modulation", epochs=2, seed=0))
    doc = json.loads((tmp_path / "out" / "embeddings.json").read_text())
    assert all("path" not in t for t in doc["tracks"])
