"""The notebooks' own files work as they are.

A folder in the layout of the notebooks that songmap grew out of: the soundtrack's
mp3 files, their ``metadata.csv`` with the header ``title,sound-type`` whose ``title``
cells are the converted ``.wav`` names, and a Storm pair. ``inspect`` -> ``map`` ->
``export`` run on it through the command line; the metadata column guessing, the
explicit column options, names matched by another extension and the export formats
are also tested on their own.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FAST_ARGS, checksums, noise_burst, tone, write_audio
from songmap.app.cli import app
from songmap.io.collection import scan_collection
from songmap.io.tables import MetadataError, read_metadata
from songmap.report.exports import notebooks_embeddings, notebooks_key

JOBS1 = ["--jobs", "1"]  # tiny runs: worker start-up would take longer than the work
runner = CliRunner()

#: (mp3 in the folder, sound-type in the notebooks' metadata.csv, samples)
TRACKS = [
    ("25. Black Mist.mp3", "soundscape", lambda: tone(220, 2.0)),
    ("26. Black Mist (Storm).mp3", "soundscape", lambda: tone(220, 2.0, noise=0.02, seed=3)),
    ("03. Overworld.mp3", "soundscape", lambda: tone(330, 2.0, harmonics=5)),
    ("07. Cave.mp3", "soundscape", lambda: tone(147, 2.0, harmonics=2)),
    ("40. Coin.mp3", "soundeffect", lambda: tone(1760, 0.3)),
    ("41. Explosion.mp3", "soundeffect", lambda: noise_burst(0.6, seed=4)),
]
SOUNDSCAPES = [name for name, kind, _ in TRACKS if kind == "soundscape"]


def songmap(*args: str | os.PathLike):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"}, catch_exceptions=False)


def _wav_name(mp3: str) -> str:
    return mp3.removesuffix(".mp3") + ".wav"


@pytest.fixture
def notebooks_folder(tmp_path: Path) -> Path:
    """The soundtrack's mp3 files with the notebooks' metadata.csv (``.wav`` names) and a pairs.csv."""
    root = tmp_path / "soundtrack"
    for name, _, samples in TRACKS:
        write_audio(root / name, samples(), 22050, fmt="MP3", subtype="MPEG_LAYER_III")
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["title", "sound-type"])
        for name, kind, _ in TRACKS:
            writer.writerow([_wav_name(name), kind])
    # Named as the notebooks name the tracks: the converted .wav files.
    (root / "pairs.csv").write_text("a,b,kind\n25. Black Mist.wav,26. Black Mist (Storm).wav,storm\n", encoding="utf-8")
    return root


# -- the whole path ------------------------------------------------------------------------------


def test_inspect_map_export_on_the_notebooks_files(notebooks_folder: Path, tmp_path: Path) -> None:
    before = checksums(notebooks_folder)
    columns_line = "note: metadata.csv: file names from column 'title', categories from column 'sound-type'"
    matched_line = "warning: 6 rows matched by name with another extension (.wav listed, .mp3 found)"

    inspected = songmap("inspect", notebooks_folder)
    assert inspected.exit_code == 0, inspected.output
    assert columns_line in inspected.output and matched_line in inspected.output
    assert "not in the folder" not in inspected.output and "not listed" not in inspected.output
    assert "soundscape" in inspected.output and "soundeffect" in inspected.output

    out = tmp_path / "map"
    mapped = songmap("map", notebooks_folder, "--out", out, "--categories", "soundscape", *FAST_ARGS, *JOBS1)
    assert mapped.exit_code == 0, mapped.output
    assert mapped.output.count(columns_line) == 1 and mapped.output.count(matched_line) == 1
    assert "2 file(s) left out by --categories" in mapped.output
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    tracks = {t["file"]: t for t in doc["tracks"]}
    assert sorted(tracks) == sorted(SOUNDSCAPES)
    assert {t["category"] for t in tracks.values()} == {"soundscape"}
    # The file column is not a title: titles are the names of the files found.
    assert tracks["25. Black Mist.mp3"]["title"] == "25. Black Mist"
    # The pair, listed by its .wav names, is reported for the mp3 files it means.
    (pair,) = doc["pairs"]
    assert (pair["a"], pair["b"], pair["kind"]) == ("25. Black Mist.mp3", "26. Black Mist (Storm).mp3", "storm")
    assert (f"pair [storm] 25. Black Mist.mp3 <-> 26. Black Mist (Storm).mp3: distance {pair['distance']:.3g} "
            f"(median nearest-neighbour {pair['median_nn_distance']:.3g}), "
            f"rank {pair['rank_a_to_b']} / {pair['rank_b_to_a']}") in mapped.output

    exported = songmap("export", out)
    assert exported.exit_code == 0, exported.output
    target = out / "embeddings-notebooks.json"
    assert f"Wrote 4 track(s) to {target}" in exported.output
    embeddings = json.loads(target.read_text(encoding="utf-8"))
    assert isinstance(embeddings, dict)
    assert sorted(embeddings) == sorted(name.removesuffix(".mp3") + ".npy" for name in SOUNDSCAPES)
    for key, value in embeddings.items():
        track = tracks[key.removesuffix(".npy") + ".mp3"]
        assert isinstance(value, list) and len(value) == 2 and all(type(v) is float for v in value)
        assert value == [track["x"], track["y"]]  # the exact floats of embeddings.json
    assert checksums(notebooks_folder) == before, "input files must never be modified"


def test_export_tsv_and_where_it_may_write(notebooks_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "map"
    assert songmap("map", notebooks_folder, "--out", out, *FAST_ARGS, *JOBS1).exit_code == 0
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))

    result = songmap("export", out, "--format", "tsv")
    assert result.exit_code == 0, result.output
    lines = (out / "embeddings.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "file\tx\ty"
    rows = [line.split("\t") for line in lines[1:]]
    assert [(f, float(x), float(y)) for f, x, y in rows] == [(t["file"], t["x"], t["y"]) for t in doc["tracks"]]

    # Export's own files in OUT_DIR are replaced on every run ...
    assert songmap("export", out, "--format", "tsv").exit_code == 0
    assert songmap("export", out).exit_code == 0
    assert songmap("export", out).exit_code == 0
    # ... a file elsewhere only with --force.
    mine = tmp_path / "mine.json"
    mine.write_text("my own notes\n", encoding="utf-8")
    refused = songmap("export", out, "--output", mine)
    assert refused.exit_code == 1
    assert refused.output.strip() == f"error: {mine} exists: use --force to replace it"
    assert mine.read_text(encoding="utf-8") == "my own notes\n"
    forced = songmap("export", out, "--output", mine, "--force")
    assert forced.exit_code == 0, forced.output
    assert json.loads(mine.read_text(encoding="utf-8")) == json.loads(
        (out / "embeddings-notebooks.json").read_text(encoding="utf-8"))
    new = tmp_path / "sub" / "map.tsv"
    assert songmap("export", out, "--format", "TSV", "--output", new).exit_code == 0
    assert new.read_text(encoding="utf-8") == (out / "embeddings.tsv").read_text(encoding="utf-8")


def test_export_problems_are_one_clear_line(tmp_path: Path) -> None:
    result = songmap("export", tmp_path / "nothing here")
    assert result.exit_code == 1 and "run `songmap map" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = songmap("export", tmp_path, "--format", "umap")
    assert result.exit_code == 2 and "--format must be one of notebooks, tsv, parquet" in result.output
    assert "Traceback" not in result.output


def test_notebooks_keys() -> None:
    assert notebooks_key("25. Black Mist.mp3") == "25. Black Mist.npy"
    assert notebooks_key("effects/Boom.wav") == "effects/Boom.npy"  # unique in a nested folder too
    tracks = [{"file": "a.mp3", "x": 1.0, "y": 2.0}, {"file": "a.wav", "x": 3.0, "y": 4.0},
              {"file": "b.ogg", "x": -0.5, "y": 0.25}]
    embeddings, shared = notebooks_embeddings(tracks)
    assert embeddings == {"a.npy": [1.0, 2.0], "b.npy": [-0.5, 0.25]}
    assert shared == {"a.npy": ["a.mp3", "a.wav"]}


# -- metadata columns by meaning -----------------------------------------------------------------


def _sheet(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheet.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, file_column, category_column, title_column",
    [
        ("filename,category,title\na.wav,x,A\n", "filename", "category", "title"),
        ("title,sound-type\n25. Black Mist.wav,soundscape\n", "title", "sound-type", None),
        ("Title;Sound_Type\nSong.MP3;soundscape\n", "title", "sound_type", None),
        ("File,Genre\nsongs/a.flac,jazz\n", "file", "genre", None),
        ("path\tlabel\nC:\\music\\a.wav\tx\n", "path", "label", None),
        ("name,class,title\na.ogg,x,The A\n", "name", "class", "title"),
        ("File Name,Type\na.wav,loop\n", "file name", "type", None),
        # `name` holds titles here, `title` holds the file names: the file names win.
        ("name,title,category\nThe A,a.wav,x\n", "title", "category", None),
        # `filename` is taken as it is; other category-like columns do not compete with `category`.
        ("filename,category,type,genre\na,x,y,z\n", "filename", "category", None),
        ("filename,comment\na.wav,nice\n", "filename", None, None),
    ],
)
def test_columns_are_found_by_meaning(tmp_path: Path, text: str, file_column, category_column, title_column) -> None:
    table = read_metadata(_sheet(tmp_path, text))
    assert (table.file_column, table.category_column, table.title_column) == (file_column, category_column, title_column)
    assert table.file(table.rows[0])


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,kind\nx,y\n", "has no 'filename' column, nor a file, path, name or title column of file names"),
        ("title,sound-type\nBlack Mist,soundscape\n", "(columns: title, sound-type): choose one with --file-column"),
        ("file,path,category\na.wav,b.wav,x\n", "several columns that could name the files (file, path): choose one with --file-column"),
        ("name,title\na.wav,b.wav\n", "several columns that could name the files (name, title)"),
        ("filename,type,genre\na.wav,x,y\n", "several columns that could hold the categories (type, genre): choose one with --category-column"),
    ],
)
def test_missing_or_ambiguous_columns_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MetadataError) as caught:
        read_metadata(_sheet(tmp_path, text))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_explicit_columns_override_the_guess(tmp_path: Path) -> None:
    sheet = _sheet(tmp_path, "Song,Kind,type,genre\nBlack Mist.wav,soundscape,a,b\n")
    table = read_metadata(sheet, file_column="SONG", category_column="kind")
    assert (table.file_column, table.category_column) == ("song", "kind")
    assert table.category(table.rows[0]) == "soundscape"
    # The same spelling rules as the guess: case, spaces, '-' and '_' do not matter.
    sheet = _sheet(tmp_path, "title,sound-type,filename\nA.wav,soundscape,other.wav\n")
    table = read_metadata(sheet, file_column="title", category_column="sound_type")
    assert (table.file_column, table.category_column, table.title_column) == ("title", "sound-type", None)
    with pytest.raises(MetadataError, match=r"has no column 'nope' \(--file-column; columns: title, sound-type, filename\)"):
        read_metadata(sheet, file_column="nope")
    with pytest.raises(MetadataError, match="cannot hold both the file names and the categories"):
        read_metadata(sheet, file_column="title", category_column="title")
    # A column taken for one meaning is not guessed for the other.
    table = read_metadata(_sheet(tmp_path, "type,genre\na.wav,jazz\n"), file_column="type")
    assert (table.file_column, table.category_column) == ("type", "genre")


def test_explicit_columns_on_the_command_line(tmp_path: Path) -> None:
    root = tmp_path / "songs"
    write_audio(root / "Black Mist.wav", tone(220, 1.0), 22050)
    write_audio(root / "Coin.wav", tone(1760, 0.3), 22050)
    (root / "metadata.csv").write_text(
        "track,mood,style\nBlack Mist.wav,calm,soundscape\nCoin.wav,happy,soundeffect\n", encoding="utf-8")
    guessed = songmap("inspect", root)
    assert guessed.exit_code == 1
    assert guessed.output.startswith("error: metadata file ") and "choose one with --file-column" in guessed.output
    assert len(guessed.output.strip().splitlines()) == 1
    chosen = songmap("inspect", root, "--file-column", "track", "--category-column", "style")
    assert chosen.exit_code == 0, chosen.output
    assert "note: metadata.csv: file names from column 'track', categories from column 'style'" in chosen.output
    assert "soundeffect" in chosen.output and "calm" not in chosen.output


@pytest.mark.parametrize("command", ["inspect", "map", "compare"])
def test_ambiguous_csv_is_one_clear_line_for_every_command(tmp_path: Path, command: str) -> None:
    root = tmp_path / "songs"
    write_audio(root / "a.wav", tone(220, 1.0), 22050)
    write_audio(root / "b.wav", tone(330, 1.0), 22050)
    (root / "metadata.csv").write_text("file,path,type,genre\na.wav,b.wav,x,y\n", encoding="utf-8")
    extra = ["--out", tmp_path / "out"] if command != "inspect" else []
    result = songmap(command, root, *extra)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: metadata file {root / 'metadata.csv'} has several columns that could name the files (file, path): "
        "choose one with --file-column"
    ]
    # With the file column chosen, the categories are still ambiguous: said just as clearly.
    result = songmap(command, root, *extra, "--file-column", "file")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "(type, genre): choose one with --category-column" in result.output


# -- names matched by another extension ----------------------------------------------------------


def _folder(tmp_path: Path, names: list[str]) -> Path:
    root = tmp_path / "songs"
    for i, name in enumerate(names):
        write_audio(root / name, tone(200 + 50 * i, 0.3), 22050, fmt="WAV")  # the content does not matter here
    return root


def test_another_extension_is_matched_only_when_one_file_fits(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["Black Mist.mp3", "Theme.mp3", "Theme.ogg", "Jingle.mp3", "Exact.wav", "Exact.mp3",
                              "sub/Cave.flac", "Twice.mp3"])
    sheet = _sheet(tmp_path, "title,sound-type\n"
                             "Black Mist.wav,soundscape\n"   # one file with that stem: matched
                             "Theme.wav,soundscape\n"        # two files with that stem: never a guess
                             "Jingle.mp3,jingle\n"           # named exactly
                             "Jingle.wav,jingle\n"           # its file is named exactly by the row above
                             "Exact.wav,soundeffect\n"       # the exact name wins over Exact.mp3
                             "sub/Cave.wav,soundscape\n"     # by relative path
                             "Twice.wav,a\nTwice.flac,b\n")  # two rows for one file: neither is guessed
    c = scan_collection(root, sheet)
    assert c.matched_by_stem == {"Black Mist.wav": "Black Mist.mp3", "sub/Cave.wav": "sub/Cave.flac"}
    assert c.category(root / "Black Mist.mp3") == "soundscape" and c.category(root / "sub/Cave.flac") == "soundscape"
    assert c.category(root / "Exact.wav") == "soundeffect" and c.category(root / "Exact.mp3") is None
    assert c.category(root / "Theme.mp3") is None and c.category(root / "Theme.ogg") is None
    assert c.category(root / "Twice.mp3") is None
    assert c.missing_in_folder == ["Theme.wav", "Jingle.wav", "Twice.wav", "Twice.flac"]
    assert c.stem_candidates == {"Theme.wav": ["Theme.mp3", "Theme.ogg"], "Twice.wav": ["Twice.mp3"],
                                 "Twice.flac": ["Twice.mp3"]}
    assert c.describe(root / "Black Mist.mp3")["title"] == "Black Mist"

    result = songmap("inspect", root, "--metadata", sheet)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "warning: 2 rows matched by name with another extension (.wav listed, .mp3 found: 1; .wav listed, .flac found: 1)" in out
    assert ("warning: sheet.csv names a file that is not in the folder: Theme.wav (several files have that name "
            "with another extension: Theme.mp3, Theme.ogg; none was guessed)") in out
    assert ("warning: sheet.csv names a file that is not in the folder: Twice.flac (the folder has Twice.mp3, "
            "but other rows name it with another extension too; none was guessed)") in out


def test_one_row_matched_by_another_extension_says_so_in_the_singular(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["Black Mist.mp3", "Coin.wav"])
    (root / "metadata.csv").write_text("filename,category\nBlack Mist.wav,soundscape\nCoin.wav,soundeffect\n",
                                       encoding="utf-8")
    result = songmap("inspect", root)
    assert result.exit_code == 0, result.output
    assert "warning: 1 row matched by name with another extension (.wav listed, .mp3 found)" in result.output
    assert "note: metadata.csv: file names from column 'filename', categories from column 'category'" in result.output


def test_another_extension_with_ignore_case(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["black mist.MP3"])
    sheet = _sheet(tmp_path, "filename,category\nBlack Mist.wav,soundscape\n")
    assert scan_collection(root, sheet).missing_in_folder == ["Black Mist.wav"]
    folded = scan_collection(root, sheet, ignore_case=True)
    assert folded.matched_by_stem == {"Black Mist.wav": "black mist.MP3"}
