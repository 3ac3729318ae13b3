"""Embedded tags: every format songmap maps, multi-value and broken tags, metadata.csv overriding
them cell by cell, and a tagged Artist/Album folder mapped end to end."""

from __future__ import annotations

import csv
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FAST_ARGS, tone, write_audio
from songmap.app.cli import app
from songmap.io.collection import scan_collection
from songmap.io.tags import read_cover, read_tags

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is needed to write tagged files")

TAGS = {"title": "Madeira Stew", "artist": "Jens Erler", "album": "Musix 4 XMoto", "genre": "Soundtrack",
        "date": "2005-04-01", "track": "3/12"}
#: Extension and ffmpeg options of every tagged format songmap maps.
FORMATS = {
    "id3v24.mp3": ["-c:a", "libmp3lame"],
    "id3v23.mp3": ["-c:a", "libmp3lame", "-id3v2_version", "3"],
    "vorbis.ogg": ["-c:a", "libvorbis"],
    "opus.opus": ["-c:a", "libopus"],
    "flac.flac": ["-c:a", "flac"],
    "mp4.m4a": ["-c:a", "aac"],
    "riff-info.wav": [],
}


def ffmpeg(source: Path, target: Path, options: list[str], tags: dict[str, str]) -> Path:
    """``source`` encoded into ``target`` with ``tags`` (ffmpeg's ``-metadata``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    metadata = [arg for key, value in tags.items() for arg in ("-metadata", f"{key}={value}")]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), *options, *metadata, str(target)], check=True)
    return target


def id3v24(frames: list[tuple[bytes, bytes]]) -> bytes:
    """An ID3v2.4 tag of UTF-8 text frames (ffmpeg cannot write multi-value frames)."""
    def syncsafe(n: int) -> bytes:
        return bytes([(n >> 21) & 127, (n >> 14) & 127, (n >> 7) & 127, n & 127])

    body = b"".join(name + syncsafe(len(text) + 1) + b"\0\0" + b"\x03" + text for name, text in frames)
    return b"ID3\x04\x00\x00" + syncsafe(len(body)) + body


def wav_with_id3_chunk(source: Path, target: Path) -> Path:
    """``source`` (a plain WAV) with an ``id3 `` chunk of :data:`TAGS` appended (ffmpeg writes RIFF INFO only)."""
    frames = [(b"TIT2", TAGS["title"]), (b"TPE1", TAGS["artist"]), (b"TALB", TAGS["album"]), (b"TCON", TAGS["genre"]),
              (b"TDRC", TAGS["date"]), (b"TRCK", TAGS["track"])]
    tag = id3v24([(name, text.encode()) for name, text in frames])
    chunk = b"id3 " + struct.pack("<I", len(tag)) + tag + b"\0" * (len(tag) % 2)
    data = source.read_bytes() + chunk
    target.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])
    return target


@pytest.fixture(scope="module")
def source_wav(tmp_path_factory) -> Path:
    return write_audio(tmp_path_factory.mktemp("source") / "tone.wav", tone(330, 2.0), 22050)


@pytest.fixture(scope="module")
def untagged_mp3(source_wav: Path) -> Path:
    return ffmpeg(source_wav, source_wav.with_name("plain.mp3"), ["-c:a", "libmp3lame", "-id3v2_version", "0"], {})


@pytest.mark.parametrize("name", [*sorted(FORMATS), "id3-chunk.wav"])
def test_every_format_gives_title_artist_album_genre_year_and_track(name, source_wav, tmp_path):
    if name in FORMATS:
        path = ffmpeg(source_wav, tmp_path / name, FORMATS[name], TAGS)
    else:
        path = wav_with_id3_chunk(source_wav, tmp_path / name)
    tags = read_tags(path)
    assert tags.problem is None
    assert (tags.title, tags.artist, tags.genre, tags.year) == ("Madeira Stew", "Jens Erler", ["Soundtrack"], 2005)
    if name != "riff-info.wav":  # RIFF INFO has no album or track number that ffmpeg writes
        assert (tags.album, tags.track_number) == ("Musix 4 XMoto", 3)


def test_multi_value_genres_are_split_and_separators_only_on_request(untagged_mp3, tmp_path):
    path = tmp_path / "multi.mp3"
    path.write_bytes(id3v24([(b"TIT2", "Été".encode()), (b"TPE1", b"AC/DC"), (b"TCON", b"Rock\0Hard Rock/Metal"),
                             (b"TCON", b"Rock")]) + untagged_mp3.read_bytes())
    tags = read_tags(path)
    assert (tags.title, tags.artist) == ("Été", "AC/DC")
    assert tags.genre == ["Rock", "Hard Rock/Metal"]
    assert read_tags(path, genre_separators=";/").genre == ["Rock", "Hard Rock", "Metal"]


def test_broken_huge_and_misencoded_tags_never_raise(source_wav, untagged_mp3, tmp_path):
    flac = ffmpeg(source_wav, tmp_path / "good.flac", ["-c:a", "flac"], {"title": "T"})
    data = bytearray(flac.read_bytes())
    vendor = data.find(b"Lavf")
    data[vendor - 4:vendor] = struct.pack("<I", 0x7FFFFF00)  # the Vorbis comment's vendor string runs past the file
    broken = tmp_path / "broken.flac"
    broken.write_bytes(bytes(data))
    tags = read_tags(broken)
    assert tags.problem.startswith("unreadable tags") and tags.title is None

    huge = tmp_path / "huge.mp3"
    huge.write_bytes(id3v24([(b"TIT2", b"x" * 2_000_000), (b"TPE1", "Caf\xe9\x01 Band".encode("latin-1"))])
                     + untagged_mp3.read_bytes())
    tags = read_tags(huge)
    assert tags.problem is None and len(tags.title) == 1000
    assert tags.artist == "Caf\ufffd  Band"  # Latin-1 bytes in a frame declared UTF-8; the control character is blanked

    assert read_tags(source_wav).title is None and read_tags(source_wav).problem is None  # no tags: nothing to say


def test_metadata_overrides_tags_cell_by_cell(source_wav, tmp_path):
    root = tmp_path / "library"
    ffmpeg(source_wav, root / "a.ogg", ["-c:a", "libvorbis"], TAGS)
    ffmpeg(source_wav, root / "b.ogg", ["-c:a", "libvorbis"], {**TAGS, "title": "Other"})
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["filename", "title", "artist", "year", "genre"],
                                 ["a.ogg", "", "The Sheet", "1999", "Ambient; Drone"],
                                 ["b.ogg", "Listed", "", "", ""]])
    collection = scan_collection(root, genre_separators=";")
    first, second = (collection.describe(path) for path in collection.files)
    assert first == {"title": "Madeira Stew", "artist": "The Sheet", "album": "Musix 4 XMoto",
                     "genre": ["Ambient", "Drone"], "year": 1999, "track_number": 3}
    assert second == {"title": "Listed", "artist": "Jens Erler", "album": "Musix 4 XMoto", "genre": ["Soundtrack"],
                      "year": 2005, "track_number": 3}


def test_cover_picture_is_read_with_its_type(source_wav, tmp_path):
    png = tmp_path / "cover.png"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=8x8", "-frames:v", "1", str(png)], check=True)
    target = tmp_path / "with cover.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source_wav), "-i", str(png), "-map", "0", "-map", "1",
                    "-c:a", "libmp3lame", "-c:v", "copy", "-disposition:v", "attached_pic", str(target)], check=True)
    data, mime = read_cover(target)
    assert mime == "image/png" and data == png.read_bytes()
    assert read_cover(source_wav) is None


def test_a_tagged_artist_album_folder_maps_with_its_tags(source_wav, untagged_mp3, tmp_path):
    root = tmp_path / "Music"
    albums = {("Jens Erler", "Musix 4 XMoto"): ("Soundtrack", 2005), ("AC-DC", "Live"): ("Rock;Pop", 1980)}
    for a, ((artist, album), (genre, year)) in enumerate(albums.items()):
        for number in (1, 2):
            y = tone(220 * (a + 1) * (1 + number / 4), 3.0, seed=number)
            wav = write_audio(tmp_path / "src" / f"{a}{number}.wav", y, 22050)
            ext, options = (".mp3", FORMATS["id3v24.mp3"]) if a == 0 else (".flac", FORMATS["flac.flac"])
            ffmpeg(wav, root / artist / album / f"0{number} track{ext}", options,
                   {"title": f"{album} {number}", "artist": artist.replace("-", "/"), "album": album, "genre": genre,
                    "date": str(year), "track": str(number)})
    broken = bytearray(ffmpeg(source_wav, root / "broken tags.flac", ["-c:a", "flac"], {"title": "T"}).read_bytes())
    vendor = broken.find(b"Lavf")
    broken[vendor - 4:vendor] = struct.pack("<I", 0x7FFFFF00)
    (root / "broken tags.flac").write_bytes(bytes(broken))

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["map", str(root), "--out", str(out), *FAST_ARGS], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "warning: broken tags.flac: unreadable tags" in result.output
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    by_file = {t["file"]: t for t in doc["tracks"]}
    assert len(by_file) == 5
    sample = by_file["Jens Erler/Musix 4 XMoto/02 track.mp3"]
    assert {k: sample[k] for k in ("title", "artist", "album", "genre", "year", "track_number")} == {
        "title": "Musix 4 XMoto 2", "artist": "Jens Erler", "album": "Musix 4 XMoto", "genre": ["Soundtrack"],
        "year": 2005, "track_number": 2}
    assert by_file["AC-DC/Live/01 track.flac"]["artist"] == "AC/DC"
    assert by_file["AC-DC/Live/01 track.flac"]["genre"] == ["Rock;Pop"]  # no separators asked for
    assert by_file["broken tags.flac"]["title"] == "broken tags" and by_file["broken tags.flac"]["artist"] is None
    with open(out / "embeddings.csv", newline="", encoding="utf-8") as f:
        rows = {row["file"]: row for row in csv.DictReader(f)}
    assert rows["AC-DC/Live/02 track.flac"]["genre"] == "Rock;Pop" and rows["AC-DC/Live/02 track.flac"]["year"] == "1980"

    again = tmp_path / "split"
    result = CliRunner().invoke(app, ["map", str(root), "--out", str(again), "--genre-separators", ";",
                                      "--colour-by", "artist", *FAST_ARGS], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    split_doc = json.loads((again / "embeddings.json").read_text(encoding="utf-8"))
    split = {t["file"]: t for t in split_doc["tracks"]}
    assert split["AC-DC/Live/01 track.flac"]["genre"] == ["Rock", "Pop"]
    # The choice of colour is kept with the map, so a rebuilt page starts with it too.
    assert split_doc["colour_by"] == "artist"
    assert '"colourBy":"artist"' in (again / "map.html").read_text(encoding="utf-8")
    assert '"colourBy":"genre"' in (out / "map.html").read_text(encoding="utf-8")  # no categories: genres
