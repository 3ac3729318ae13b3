"""The fault matrix: every command that writes, against a full disk, a read-only file system, a user who
may not write, and ``kill -9`` at its checkpoints; each a real `songmap` process.

Each case asserts what the reference promises: one ``error:`` line naming the user's file (never a
temporary one), exit 1 (a kill: death by SIGKILL and nothing else), no traceback, no process left
running in the run's session, and the outputs as before or complete.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import FAST_ARGS, tone, write_audio, write_six_songs
from faults import (
    IS_ROOT,
    NEEDS_ROOT,
    assert_one_error,
    files_of,
    fill,
    remount_read_only,
    run_songmap,
    small_filesystem,
    unprivileged_user,
)
from songmap.app.cli import app

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, tmpfs and setpriv are Linux's")
needs_root = pytest.mark.skipif(not IS_ROOT, reason=NEEDS_ROOT)

COMMANDS = ["map", "compare", "convert", "export", "path", "playlist", "page", "update"]
MAP_OUTPUTS = ("model.safetensors", "embeddings.csv", "map.png", "map.html", "embeddings.json")
CONVERT_RATE = 16000


@dataclass
class World:
    songs: Path
    before: Path  # before/map, before/compare, before/convert: each command's outputs of an earlier run


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def world():
    """Six songs and the outputs of an earlier run of every command, in a folder every user can read."""
    base = Path(tempfile.mkdtemp(prefix="songmap-faults-"))
    base.chmod(0o755)
    songs = base / "songs"
    write_six_songs(songs)
    before = base / "before"
    _invoke("map", songs, "--out", before / "map", "--seed", "0", *FAST_ARGS, "--jobs", "1")
    _invoke("export", before / "map", "--format", "tsv")
    _invoke("path", before / "map", "--from", "b hum.flac", "--to", "e blip.wav", "--output", before / "map" / "list.m3u8")
    _invoke("compare", songs, "--out", before / "compare", "--methods", "pca", "--seed", "0")
    _invoke("convert", songs, before / "convert")
    for folder in base.rglob("*"):
        folder.chmod(folder.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if folder.is_dir() else 0))
    yield World(songs, before)
    shutil.rmtree(base, ignore_errors=True)


def _prepare(world: World, command: str, folder: Path) -> tuple[list[str], Path]:
    """Copy the earlier outputs ``command`` rewrites into ``folder``; its arguments and the folder it writes in."""
    kind = {"compare": "compare", "convert": "convert"}.get(command, "map")
    target = folder / kind
    shutil.copytree(world.before / kind, target)
    args = {
        "map": ["map", world.songs, "--out", target, "--seed", "1", *FAST_ARGS, "--jobs", "1"],
        "compare": ["compare", world.songs, "--out", target, "--methods", "pca", "--seed", "1"],
        "convert": ["convert", world.songs, target, "--force", "--sample-rate", str(CONVERT_RATE)],
        "export": ["export", target, "--format", "tsv"],
        "path": ["path", target, "--from", "a drone.wav", "--to", "f storm.wav", "--output", target / "list.m3u8"],
        "playlist": ["playlist", target, "--seed-track", "a drone.wav", "--length", "4", "--output", target / "list.m3u8"],
        "page": ["page", target],
        "update": ["update", target],  # re-reads the same songs: every output is written again
    }[command]
    return [str(a) for a in args], target


def _assert_old_or_complete(command: str, target: Path, old: dict[str, bytes]) -> None:
    """Every earlier file is there, unchanged or replaced by a complete new one; nothing else is, but
    feature cache entries (each written whole), the staging folder of a killed run (the next run on
    the folder removes it) and the temporary file of a write a kill interrupted."""
    now = files_of(target)
    extra = [Path(name) for name in now if name not in old]
    assert all(name.parts[0] in ("cache",) or name.parts[0].startswith(".songmap-staging-")
               or (name.name.startswith(".") and name.name.endswith(".tmp")) for name in extra), extra
    for name, data in old.items():
        assert name in now, f"{name} was lost"
        if now[name] == data:
            continue
        if command == "convert":
            info = sf.info(str(target / name))
            assert info.samplerate == CONVERT_RATE and info.frames > 0, name
        else:
            pytest.fail(f"{name} changed although the command failed")


def _check_complete(command: str, target: Path) -> None:
    if command == "map":
        doc = json.loads((target / "embeddings.json").read_text(encoding="utf-8"))
        assert doc["params"]["seed"] == 1 and len(doc["tracks"]) == 6
        assert all((target / name).stat().st_size > 0 for name in MAP_OUTPUTS)
    elif command == "convert":
        rates = {sf.info(str(p)).samplerate for p in target.rglob("*.wav")}
        assert rates == {CONVERT_RATE} and len(list(target.rglob("*.wav"))) == 6
    elif command in ("path", "playlist"):
        assert (target / "list.m3u8").read_text(encoding="utf-8").startswith("#EXTM3U")


def _rerun_completes(command: str, args: list[str], target: Path) -> None:
    """Once the fault is gone, the same command succeeds and leaves complete outputs, no staging folder.

    Not for `compare` and `update`, the slowest commands after `map`: they stage and commit with
    `map`'s code (:class:`songmap.report.outdir.OutputStaging`), whose reruns are tested."""
    if command in ("compare", "update"):
        return
    again = run_songmap(args)
    assert again.returncode == 0 and not again.left_behind, again.stderr
    _check_complete(command, target)
    assert not [name for name in os.listdir(target) if name.startswith(".songmap-staging-")]


@needs_root
@pytest.mark.parametrize("command", COMMANDS)
def test_full_disk_is_one_line_and_the_outputs_stay(world, tmp_path: Path, command: str) -> None:
    with small_filesystem(tmp_path / "disk") as disk:
        args, target = _prepare(world, command, disk)
        old = files_of(target)
        filler = fill(disk, leave=0)
        outcome = run_songmap(args)
        line = assert_one_error(outcome, "error: no space left on device while writing", str(disk))
        if command in ("map", "convert"):  # sizes known before writing: the line says how much is needed
            assert "needs" in line and "free" in line, line
        _assert_old_or_complete(command, target, old)
        filler.unlink()
        _rerun_completes(command, args, target)


@needs_root
def test_map_with_room_for_its_inputs_but_not_its_outputs(world, tmp_path: Path) -> None:
    """The disk fills while the outputs are staged: one line naming the output, the old map intact."""
    with small_filesystem(tmp_path / "disk") as disk:
        args, target = _prepare(world, "map", disk)
        args[args.index("--seed") + 1] = "0"  # the seed of the cached features: the run needs no new cache entry
        (target / "map.html").unlink()  # the page is the largest output: without it, it must be written anew
        old = files_of(target)
        inputs = sum(len(old[name]) for name in old if name.startswith("cache/")) // 2
        fill(disk, leave=inputs + 64 * 1024)
        outcome = run_songmap(args)
        line = assert_one_error(outcome, "error: no space left on device while writing", str(target))
        assert "needs" not in line, "the inputs fitted: the failure must be an output's"
        now = files_of(target)
        # Feature cache entries finished before the disk filled stay (the next run reuses them); the outputs are old.
        assert {k: v for k, v in now.items() if not k.startswith("cache/")} == {k: v for k, v in old.items() if not k.startswith("cache/")}
        assert all(now[name] == data for name, data in old.items())


@needs_root
@pytest.mark.parametrize("command", COMMANDS)
def test_read_only_file_system(world, tmp_path: Path, command: str) -> None:
    with small_filesystem(tmp_path / "disk") as disk:
        args, target = _prepare(world, command, disk)
        old = files_of(target)
        remount_read_only(disk)
        outcome = run_songmap(args)
        assert_one_error(outcome, "error: read-only file system while writing", str(target))
        assert files_of(target) == old


@pytest.fixture(scope="module")
def user():
    if not IS_ROOT:
        pytest.skip(NEEDS_ROOT)
    with unprivileged_user() as name:
        yield name


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_the_user_may_not_write(world, user: str, command: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="songmap-faults-root-"))
    try:
        base.chmod(0o755)  # root's: readable by the user, not writable
        args, target = _prepare(world, command, base)
        for path in [target, *target.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        old = files_of(target)
        outcome = run_songmap(args, user=user)
        assert_one_error(outcome, "error: permission denied while writing", str(target))
        assert files_of(target) == old
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_unreadable_files_and_folders_are_reasons_for_the_user(world, user: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="songmap-faults-user-"))
    try:
        base.chmod(0o777)
        songs = base / "songs"
        shutil.copytree(world.songs, songs)
        (songs / "locked.wav").write_bytes((songs / "a drone.wav").read_bytes())
        (songs / "locked.wav").chmod(0o000)
        (songs / "private").mkdir()
        shutil.copy(songs / "e blip.wav", songs / "private" / "hidden.wav")
        (songs / "private").chmod(0o700)
        for path in [songs, *songs.rglob("*")]:
            if path.name not in ("locked.wav", "private", "hidden.wav"):
                path.chmod(0o755 if path.is_dir() else 0o644)
        out = base / "out"
        outcome = run_songmap(["map", songs, "--out", out, *FAST_ARGS, "--jobs", "1"], user=user)
        assert outcome.returncode == 0, outcome.stderr
        assert "Traceback" not in outcome.stderr and not outcome.left_behind
        skipped = {s["file"]: s["reason"] for s in json.loads((out / "embeddings.json").read_text())["skipped"]}
        assert skipped["locked.wav"] == "cannot read file (permission denied)"
        assert "permission denied" in skipped["private/"].lower()
    finally:
        shutil.rmtree(base, ignore_errors=True)


KILL_POINTS = {
    "map": "features:2",
    "compare": "staged",
    "convert": "replacing:c bright.wav",
    "export": "replacing:embeddings.tsv",
    "path": "replacing:list.m3u8",
    "playlist": "replacing:list.m3u8",
    "page": "replacing:map.html",
    "update": "staged",
}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("command", COMMANDS)
def test_kill_9_at_a_checkpoint_leaves_no_process_and_the_outputs_old(world, tmp_path: Path, command: str) -> None:
    args, target = _prepare(world, command, tmp_path)
    if command == "map":  # worker processes, the forkserver and the resource tracker are running at this point
        args[args.index("--jobs") + 1] = "2"
    old = files_of(target)
    outcome = run_songmap(args, SONGMAP_TEST_STOP_AT=KILL_POINTS[command])
    assert outcome.returncode == -signal.SIGKILL, outcome.stderr
    assert not outcome.left_behind, f"processes outlived the killed run: {outcome.left_behind}"
    assert "Traceback" not in outcome.stderr
    _assert_old_or_complete(command, target, old)
    if command == "map":
        args[args.index("--jobs") + 1] = "1"  # the rerun only has to finish the job
    _rerun_completes(command, args, target)


def test_kill_9_while_workers_compute_features_leaves_no_process(world, tmp_path: Path) -> None:
    """As a user would: `map` with worker processes, killed once they run, without any checkpoint."""
    songs = tmp_path / "songs"
    for k in range(8):  # long enough that the features are still being computed when the kill comes
        write_audio(songs / f"long {k}.wav", tone(110 * (k + 1), 20.0, noise=0.05, seed=k), 22050)
    workers_running = lambda processes: sum("multiprocessing.forkserver" in p for p in processes) >= 3  # noqa: E731
    outcome = run_songmap(["map", songs, "--out", tmp_path / "out", *FAST_ARGS, "--jobs", "2"], kill_when=workers_running)
    assert outcome.returncode == -signal.SIGKILL, outcome.stderr
    assert not outcome.left_behind, f"processes outlived the killed run: {outcome.left_behind}"
