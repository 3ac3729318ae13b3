"""The hand-written parts of benchmarks/build_suite.py: the WAD lump reader, the MIDI program remap, file picking and archives."""

import shutil
import struct
import sys
from pathlib import Path

import pytest

mido = pytest.importorskip("mido")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from build_suite import SuiteError, remap_programs, truncate_midi, wad_lumps, wad_midis  # noqa: E402


def _wad(lumps):
    """A PWAD of these (name, bytes) lumps: header, lump data, then the directory."""
    body, directory, offset = b"", b"", 12
    for name, data in lumps:
        directory += struct.pack("<ii8s", offset, len(data), name.encode())
        body += data
        offset += len(data)
    return b"PWAD" + struct.pack("<ii", len(lumps), offset) + body + directory


def test_wad_lumps_reads_names_and_bytes_in_order():
    lumps = [("MAP01", b"xyz"), ("D_RUNNIN", b"MThd" + b"\0" * 10), ("DSPISTOL", b"")]
    assert wad_lumps(_wad(lumps)) == lumps


def test_wad_midis_keeps_midi_lumps_once():
    song = b"MThd\0\0\0\x06\0\0\0\x01\0\x60"
    lumps = [("D_E1M1", song), ("D_E1M2", b"MUS\x1a..."), ("D_E1M9", song), ("D_E2M1", song + b"!")]
    assert [name for name, _ in wad_midis(_wad(lumps))] == ["D_E1M1", "D_E2M1"]


def test_wad_lumps_rejects_other_files():
    with pytest.raises(SuiteError):
        wad_lumps(b"RIFF" + b"\0" * 20)


def _midi():
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    track.append(mido.Message("program_change", channel=0, program=0))
    track.append(mido.Message("program_change", channel=9, program=5))
    track.append(mido.Message("program_change", channel=1, program=120))
    for _ in range(10):  # a note a second at 120 bpm (the default tempo)
        track.append(mido.Message("note_on", channel=0, note=60, velocity=64, time=0))
        track.append(mido.Message("note_off", channel=0, note=60, velocity=0, time=960))
    midi.tracks.append(track)
    return midi


def test_remap_moves_melodic_programs_to_another_family_and_keeps_drums():
    programs = [(m.channel, m.program) for m in remap_programs(_midi()).tracks[0] if m.type == "program_change"]
    assert programs == [(0, 24), (9, 5), (1, (120 + 24) % 128)]
    assert all(p // 8 != q // 8 for (c, p), q in zip(programs, (0, 5, 120)) if c != 9)


def test_truncate_drops_notes_after_the_limit():
    kept = truncate_midi(_midi(), seconds=4.5)
    notes = [m for m in kept.tracks[0] if m.type == "note_on"]
    assert len(notes) == 5
    assert kept.length < 5.0


def test_truncate_follows_the_tempo_of_another_track():
    midi = _midi()
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=250000, time=0)])  # 240 bpm: a note each 0.5 s
    midi.tracks.insert(0, conductor)
    midi.type = 1
    notes = [m for m in truncate_midi(midi, seconds=2.2).tracks[1] if m.type == "note_on"]
    assert len(notes) == 5


def test_files_of_the_same_name_in_different_folders_keep_apart(tmp_path: Path):
    from build_suite import Source, _pick

    root = tmp_path / "pkg"
    files = [root / "usr/share/game/tilesets/forest/sounds/day.ogg", root / "usr/share/game/tilesets/desert/sounds/day.ogg",
             root / "usr/share/game/music/intro.ogg"]
    picked = _pick(Source("game-data", r"\.ogg$"), files, root)
    names = [name for _path, name, _category in picked]
    assert names == ["game__forest__sounds__day.ogg", "game__desert__sounds__day.ogg", "game__music__intro.ogg"]
    assert [category for *_, category in picked] == ["game/sounds", "game/sounds", "game/music"]


def test_a_file_shipped_in_several_folders_is_kept_once(tmp_path: Path):
    from build_suite import _distinct

    paths = [tmp_path / name for name in ("a.ogg", "b.ogg", "c.ogg")]
    for path, data in zip(paths, (b"day", b"night", b"day")):
        path.write_bytes(data)
    picked = [(path, path.name, "sounds", "game-data.deb") for path in paths]
    assert [entry[1] for entry in _distinct(picked)] == ["a.ogg", "b.ogg"]


def _deb(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """A minimal .deb holding ``files`` (paths under the package root), built by dpkg-deb."""
    import subprocess

    tree = tmp_path / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text("Package: game-data\nVersion: 1.0\nArchitecture: all\n"
                                         "Maintainer: nobody <nobody@example.org>\nDescription: test\n")
    for rel, data in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    deb = tmp_path / "game-data_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(deb)], check=True, capture_output=True)
    return deb


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian)")
def test_a_games_zip_archive_is_unpacked_beside_it_and_its_members_picked(tmp_path: Path):
    import io
    import zipfile

    from build_suite import Source, _pick, unpack

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as zipped:
        zipped.writestr("music/theme.ogg", b"theme")
        zipped.writestr("../../../../../../../escape.ogg", b"outside")
    deb = _deb(tmp_path, {"usr/share/game/base/0music.pk3": packed.getvalue(), "usr/share/game/readme.txt": b"hi"})
    root = tmp_path / "root"
    files = unpack(deb, root, archives=r"/0music\.pk3$")
    member = root / "usr/share/game/base/0music.pk3.d/music/theme.ogg"
    assert member in files and member.read_bytes() == b"theme"
    # A member's ".." parts are dropped: it stays inside the archive's folder.
    escaped = member.parents[1] / "escape.ogg"
    assert list(tmp_path.glob("**/escape.ogg")) == [escaped] and escaped.read_bytes() == b"outside"
    picked = _pick(Source("game-data", r"/0music\.pk3\.d/music/.*\.ogg$"), files, root)
    assert [name for _path, name, _category in picked] == ["game__music__theme.ogg"]
    assert unpack(deb, tmp_path / "plain") == sorted(p for p in (tmp_path / "plain").rglob("*") if p.is_file())
    assert not list((tmp_path / "plain").rglob("*.pk3.d"))  # without ``archives`` nothing is unpacked


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian)")
def test_an_archive_that_is_not_a_zip_is_a_one_line_error(tmp_path: Path):
    from build_suite import unpack

    deb = _deb(tmp_path, {"usr/share/game/base/0music.pk3": b"not a zip"})
    with pytest.raises(SuiteError, match="0music.pk3 in game-data_1.0_all.deb is not a zip archive"):
        unpack(deb, tmp_path / "root", archives=r"\.pk3$")
