"""Maps as data: ``read_map``, ``MapResult.frame()`` and ``songmap export --format parquet``.

Real maps of the seed, default (songwise: trajectories) and modulation presets, a map
written before tracks had neighbours, clusters and trust, and the one-line error when
pandas is missing. embedding-atlas itself opens the parquet file (``--export-application``
writes what its viewer loads, without starting a server or downloading a model).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import FAST, make_doc, track, write_small_collection
from songmap.app.cli import app
from songmap.app.jobs import MissingExtraError, SongMapper, export_map, map_folder, read_map, show
from songmap.report.frames import FRAME_COLUMNS
from songmap.web.page_wire import unpack_page_tracks

runner = CliRunner()
LISTENING_KEYS = ("neighbours", "neighbour_distances", "cluster", "cluster_name", "trustworthiness", "continuity")


def songmap(*args: str | os.PathLike):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    return write_small_collection(tmp_path_factory.mktemp("frames") / "my songs")


@pytest.fixture(scope="module", params=["seed", "default", "modulation"])
def mapped(request, collection: Path, tmp_path_factory):
    """A map of the small collection with each preset: (the MapResult, its output folder)."""
    out = tmp_path_factory.mktemp(f"map-{request.param}")
    return map_folder(collection, out, SongMapper(**FAST, preset=request.param, n_jobs=1)), out


@pytest.fixture
def old_map(tmp_path: Path) -> Path:
    """An output folder written before tracks had neighbours, clusters, trust and trajectories."""
    out = tmp_path / "old"
    out.mkdir()
    tracks = [track("a.ogg", 0.5, 1.0), track("b.ogg", -2.0, 3.25), track("sub/c.ogg", 1.0, -1.0, category=None)]
    (out / "embeddings.json").write_text(json.dumps(make_doc(tmp_path / "in", tracks)), encoding="utf-8")
    return out


# -- read_map ----------------------------------------------------------------------------------------


def test_read_map_has_a_row_per_track_with_every_key_and_the_document_on_attrs(mapped) -> None:
    result, out = mapped
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    frame = read_map(out)
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert len(frame) == len(doc["tracks"]) == 8
    for row, expected in zip(frame.to_dict("records"), doc["tracks"]):
        assert set(expected) <= set(row)
        for key, value in expected.items():
            assert pd.isna(row[key]) if value is None else row[key] == value, key
    assert all(isinstance(cell, list) for cell in frame["neighbours"])
    assert frame["cluster"].dtype == "Int64" and frame["x"].dtype == "float64"
    assert frame.attrs["params"] == doc["params"] and frame.attrs["params"]["preset"] == result.document["params"]["preset"]
    assert frame.attrs["clusters"] == doc["clusters"] and frame.attrs["quality"] == doc["quality"]
    assert frame.attrs["input_dir"] == doc["input_dir"] and "tracks" not in frame.attrs


def test_the_trajectory_column_follows_the_representation(mapped) -> None:
    result, out = mapped
    paths = read_map(out)["path"]
    if result.document["params"]["representation"] == "songwise":
        assert all(isinstance(p, list) and len(p) >= 1 and len(p[0]) == 2 for p in paths)
    else:
        assert paths.isna().all()


def test_map_result_gives_the_frame_read_map_gives(mapped) -> None:
    result, out = mapped
    from_result, from_disk = result.frame(), read_map(out)
    pd.testing.assert_frame_equal(from_result, from_disk)
    assert from_result.attrs == from_disk.attrs


def test_neighbours_are_row_numbers_of_the_frame(mapped) -> None:
    frame = read_map(mapped[1])
    for i, neighbours in enumerate(frame["neighbours"]):
        assert i not in neighbours and all(0 <= j < len(frame) for j in neighbours)
        assert len(neighbours) == len(frame.at[i, "neighbour_distances"]) == min(10, len(frame) - 1)


def test_read_map_of_a_map_made_before_the_listening_keys(old_map: Path) -> None:
    frame = read_map(old_map)
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert frame["file"].tolist() == ["a.ogg", "b.ogg", "sub/c.ogg"] and frame["y"].tolist() == [1.0, 3.25, -1.0]
    assert frame["neighbours"].isna().all() and frame["path"].isna().all()
    assert frame["cluster"].isna().all() and frame["trustworthiness"].isna().all()
    assert frame["category"].tolist()[:2] == ["demo", "demo"] and pd.isna(frame.at[2, "category"])
    assert frame.attrs["clusters"] == [] and frame.attrs["quality"] == {}
    assert frame.attrs["params"] == {"sample_rate": 22050, "n_mels": 128}


def test_a_key_a_newer_songmap_adds_becomes_a_column(tmp_path: Path) -> None:
    out = tmp_path / "newer"
    out.mkdir()
    doc = make_doc(tmp_path, [track("a.ogg", loudness=-14.5), track("b.ogg")])
    (out / "embeddings.json").write_text(json.dumps(doc), encoding="utf-8")
    frame = read_map(out)
    assert list(frame.columns) == [*FRAME_COLUMNS, "loudness"]
    assert frame.at[0, "loudness"] == -14.5 and pd.isna(frame.at[1, "loudness"])


def test_a_library_map_has_typed_tag_and_update_columns_that_survive_parquet(tmp_path: Path) -> None:
    out = tmp_path / "library"
    out.mkdir()
    tracks = [track("a.flac", artist="Jens Erler", album="Musix 4 XMoto", genre=["Soundtrack", "Rock"], year=2004,
                    track_number=3, file_size=1234, file_mtime_ns=1700000000123456789),
              track("b.ogg", artist=None, album=None, genre=[], year=None, track_number=None,
                    file_size=99, file_mtime_ns=1, added_after_training=True)]
    (out / "embeddings.json").write_text(json.dumps(make_doc(tmp_path, tracks)), encoding="utf-8")
    frame = read_map(out)
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert frame["genre"].tolist() == [["Soundtrack", "Rock"], []]
    assert frame["year"].dtype == "Int64" and frame.at[0, "year"] == 2004 and pd.isna(frame.at[1, "year"])
    assert frame.at[0, "file_mtime_ns"] == 1700000000123456789  # ns stamps exceed float64's exact range
    assert frame["added_after_training"].dtype == "boolean"
    assert pd.isna(frame.at[0, "added_after_training"]) and frame.at[1, "added_after_training"]
    assert frame.at[0, "artist"] == "Jens Erler" and pd.isna(frame.at[1, "album"])
    export_map(out, "parquet")
    back = pd.read_parquet(out / "map.parquet")
    assert back["genre"].map(list).tolist() == [["Soundtrack", "Rock"], []]
    pd.testing.assert_frame_equal(back.drop(columns="genre"), frame.drop(columns="genre"))


def test_read_map_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run `songmap map INPUT_DIR --out"):
        read_map(tmp_path)
    (tmp_path / "embeddings.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_map(tmp_path)


def test_without_pandas_the_error_names_the_extra(old_map: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # what `import pandas` meets where it is not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'songmap\[data\]'"):
        read_map(old_map)
    result = songmap("export", old_map, "--format", "parquet")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: a map as a data frame needs pandas: pip install 'songmap[data]'"]
    assert not (old_map / "map.parquet").exists()


# -- parquet -----------------------------------------------------------------------------------------


def test_parquet_reads_back_equal_to_read_map(mapped) -> None:
    out = mapped[1]
    result = songmap("export", out, "--format", "parquet")
    assert result.exit_code == 0, result.output
    assert f"Wrote 8 track(s) to {out / 'map.parquet'}" in result.output
    frame, back = read_map(out), pd.read_parquet(out / "map.parquet")
    assert list(back.columns) == [*FRAME_COLUMNS, "neighbors"]
    pd.testing.assert_frame_equal(back.drop(columns="neighbors"), frame)
    assert back.attrs == frame.attrs
    # embedding-atlas's shape: {"ids": row numbers, "distances"}, the same as neighbours/neighbour_distances.
    for cell, ids, distances in zip(back["neighbors"], frame["neighbours"], frame["neighbour_distances"]):
        assert sorted(cell) == ["distances", "ids"]
        assert cell["ids"].tolist() == ids and cell["distances"].tolist() == distances


def test_parquet_of_an_old_map_has_no_neighbors_column(old_map: Path) -> None:
    written = export_map(old_map, "parquet")
    assert written.path == old_map / "map.parquet" and written.tracks == 3
    back = pd.read_parquet(written.path)
    pd.testing.assert_frame_equal(back, read_map(old_map))
    assert back.attrs["clusters"] == []


def test_parquet_text_that_is_not_utf8_gets_a_replacement_character(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    doc = make_doc(tmp_path, [track("Caf\udce9.ogg", title="Caf\udce9"), track("b.ogg")])
    (out / "embeddings.json").write_bytes((json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace"))
    assert read_map(out).at[0, "file"] == "Caf\udce9.ogg"  # the name that opens the file
    export_map(out, "parquet")
    back = pd.read_parquet(out / "map.parquet")
    assert back["file"].tolist() == ["Caf\ufffd.ogg", "b.ogg"] and back.at[0, "title"] == "Caf\ufffd"


def test_parquet_output_rules_are_those_of_the_other_formats(old_map: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.parquet"
    mine.write_bytes(b"the user's own")
    refused = songmap("export", old_map, "--format", "parquet", "--output", mine)
    assert refused.exit_code == 1 and "exists: use --force" in refused.output
    assert mine.read_bytes() == b"the user's own"
    assert songmap("export", old_map, "--format", "PARQUET", "--output", mine, "--force").exit_code == 0
    assert len(pd.read_parquet(mine)) == 3
    assert "parquet" in songmap("export", old_map, "--format", "xlsx").output


def test_embedding_atlas_opens_the_parquet_with_its_neighbours(mapped, tmp_path: Path) -> None:
    out = mapped[1]
    export_map(out, "parquet")
    atlas = Path(sys.executable).with_name("embedding-atlas")
    viewer = tmp_path / "atlas"
    done = subprocess.run(
        [str(atlas), str(out / "map.parquet"), "--x", "x", "--y", "y", "--neighbors", "neighbors",
         "--export-application", str(viewer)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr
    props = json.loads((viewer / "data" / "metadata.json").read_text())["props"]
    assert props["data"]["projection"] == {"x": "x", "y": "y"} and props["data"]["neighbors"] == "neighbors"
    loaded = pd.read_parquet(viewer / "data" / "dataset.parquet")
    frame = read_map(out)
    assert loaded["file"].tolist() == frame["file"].tolist()
    assert loaded["x"].tolist() == frame["x"].tolist()
    row_ids = loaded[props["data"]["id"]].tolist()
    assert row_ids == list(range(len(frame)))
    for cell, ids in zip(loaded["neighbors"], frame["neighbours"]):
        assert [row_ids[i] for i in cell["ids"]] == ids
    assert not math.isnan(loaded["trustworthiness"].iloc[0])


# -- show, on the same maps --------------------------------------------------------------------------


def page_block(view, name: str) -> dict:
    return json.loads(re.search(rf'id="songmap-{name}"[^>]*>(.*?)</script>', view.html, re.S).group(1))


def page_tracks(view) -> list[dict]:
    return unpack_page_tracks(page_block(view, "data"))


def test_show_gives_the_page_of_maps_of_every_preset(mapped) -> None:
    result, out = mapped
    view = show(out)
    tracks = page_tracks(view)
    assert [t["file"] for t in tracks] == read_map(out)["file"].tolist()
    has_paths = [bool(t.get("path")) for t in tracks]
    assert all(has_paths) if result.document["params"]["representation"] == "songwise" else not any(has_paths)
    assert "unavailable" not in page_block(view, "model")  # the page's placer has the map's model


def test_show_gives_the_page_of_a_map_made_before_the_listening_keys(old_map: Path) -> None:
    view = show(old_map)
    assert [t["file"] for t in page_tracks(view)] == ["a.ogg", "b.ogg", "sub/c.ogg"]
    assert "unavailable" in page_block(view, "model")  # no model in the folder: placing is off, the rest works
    assert view.frame["neighbours"].isna().all() and view.selected.empty
