"""Killing `songmap map` at any moment leaves OUT_DIR as it was or complete, and the next run resumes from the cache.

A real `python -m songmap map` process is killed with SIGKILL (no cleanup code runs) at named points
(``SONGMAP_TEST_STOP_AT``, see songmap._checkpoints) and at arbitrary times; Ctrl-C (SIGINT to the
whole process group, as a terminal sends it) must print one line and exit 130.
"""

from __future__ import annotations

import contextlib
import csv
import html.parser
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FAST_ARGS, write_six_songs
from songmap.app.cli import app
from songmap.app.cli.commands import map_command
from songmap.report.outdir import STAGING_PREFIX, recover_output_folder
from songmap.web.page_wire import unpack_page_tracks

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and process groups are POSIX")

OUTPUTS = ("model.safetensors", "embeddings.csv", "map.png", "map.html", "embeddings.json")
# One process: worker start-up would dominate these tiny runs (Ctrl-C is tested with the default workers).
JOBS1 = ["--jobs", "1"] if "jobs" in inspect.signature(map_command).parameters else []
N_FILES = 6


def _map_args(root: Path, out: Path, seed: int, one_process: bool = True) -> list[str]:
    return ["map", str(root), "--out", str(out), "--seed", str(seed), *FAST_ARGS, *(JOBS1 if one_process else [])]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small collection and a complete output folder of it made with seed 0 (the "before" state)."""
    base = tmp_path_factory.mktemp("interrupt")
    root = base / "songs"
    write_six_songs(root)
    before = base / "before"
    result = CliRunner().invoke(app, _map_args(root, before, seed=0), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root, before, {name: (before / name).read_bytes() for name in OUTPUTS}


def _fresh_out(world, tmp_path: Path, keep_cache: bool = True) -> Path:
    """A copy of the "before" output folder; without its cache, the next run computes every feature."""
    _, before, _ = world
    out = tmp_path / "out"
    shutil.copytree(before, out)
    if not keep_cache:
        shutil.rmtree(out / "cache")
    return out


def _start(root: Path, out: Path, seed: int, one_process: bool = True, **env) -> subprocess.Popen:
    environment = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    environment.pop("SONGMAP_PROGRESS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "songmap", *_map_args(root, out, seed, one_process)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, start_new_session=True,
        # A test run started in the background by a shell ignores SIGINT, and so would the run (Python
        # then installs no KeyboardInterrupt): a terminal's run does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _kill_at(world, out: Path, point: str) -> None:
    root, _, _ = world
    proc = _start(root, out, seed=1, SONGMAP_TEST_STOP_AT=point)
    _wait_and_reap(proc)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"not killed at {point}: rc={proc.returncode}\n{stdout}\n{stderr}"
    assert "Traceback" not in stderr


def _wait_and_reap(proc: subprocess.Popen, timeout: float = 300) -> None:
    """Wait for the run to end, then end whatever it left in its process group (worker processes, or
    the run itself when it did not end in time)."""
    try:
        proc.wait(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _visible(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUTS if (out / name).exists()}


def _stagings(out: Path) -> list[Path]:
    return sorted(out.glob(STAGING_PREFIX + "*"))


class _PageData(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.blocks, self._in = [], False

    def handle_starttag(self, tag, attrs):
        self._in = tag == "script" and dict(attrs).get("id") == "songmap-data"

    def handle_data(self, data):
        if self._in:
            self.blocks.append(data)

    def handle_endtag(self, tag):
        self._in = False


def assert_complete(out: Path, root: Path, seed: int) -> None:
    """The five outputs exist and belong to one run with ``seed``: every file agrees with embeddings.json."""
    assert set(_visible(out)) == set(OUTPUTS)
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    assert doc["params"]["seed"] == seed and len(doc["tracks"]) == N_FILES
    xy = {t["file"]: (t["x"], t["y"]) for t in doc["tracks"]}
    with open(out / "embeddings.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["file"]: (float(r["x"]), float(r["y"])) for r in rows} == xy
    from songmap.mapper import SongMapper

    model = SongMapper.load(out / "model.safetensors")
    assert model.seed == seed
    placed = model.transform([root / f for f in xy])
    np.testing.assert_allclose(placed, np.array(list(xy.values())), atol=1e-4)
    parser = _PageData()
    parser.feed((out / "map.html").read_text(encoding="utf-8"))
    (block,) = parser.blocks
    page = {t["file"]: (t["x"], t["y"]) for t in unpack_page_tracks(json.loads(block))}
    assert page.keys() == xy.keys()
    for name, (x, y) in xy.items():
        assert page[name] == pytest.approx((x, y), rel=1e-6, abs=1e-9)
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not _stagings(out), "a finished run leaves no staging folder"


def _cache(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "cache").glob("*.npz")}


def _rerun_resumes(world, out: Path, cached_before: dict[str, int]) -> None:
    """The next run succeeds, reuses every finished cache entry untouched, and completes the folder."""
    root, _, _ = world
    result = CliRunner().invoke(app, _map_args(root, out, seed=1), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    after = _cache(out)
    assert {name: after.get(name) for name in cached_before} == cached_before, "finished features were recomputed"
    assert_complete(out, root, seed=1)


def test_before_state_is_complete(world) -> None:
    root, before, _ = world
    assert_complete(before, root, seed=0)


@pytest.mark.parametrize("point", ["features:2", "staged"])
def test_killed_before_the_commit_leaves_the_folder_as_it_was(world, tmp_path: Path, point: str) -> None:
    root, _, old = world
    out = _fresh_out(world, tmp_path, keep_cache=point != "features:2")
    _kill_at(world, out, point)
    assert _visible(out) == old, "outputs changed although the run never committed"
    cached = _cache(out)
    if point == "features:2":
        assert 2 <= len(cached) < N_FILES
    # The run's own staging folder is all it left; the next run removes it and finishes the job.
    _rerun_resumes(world, out, cached)


@pytest.mark.parametrize("point", ["committed", "moved:3"])
def test_killed_after_the_commit_is_completed_by_the_next_command(world, tmp_path: Path, point: str) -> None:
    root, _, old = world
    out = _fresh_out(world, tmp_path)
    _kill_at(world, out, point)
    visible = _visible(out)
    (staging,) = _stagings(out)
    assert (staging / "COMMIT").is_file()
    finished = recover_output_folder(out)  # what every songmap command on OUT_DIR does first
    assert finished and "interrupted run" in finished[0]
    assert_complete(out, root, seed=1)
    for name, data in visible.items():
        assert data in (old[name], (out / name).read_bytes()), f"{name} was neither the old nor the new file"
    # `songmap page OUT_DIR` (any command on the folder) would have done the same: nothing left to do now.
    assert recover_output_folder(out) == []


def test_killed_at_arbitrary_moments(world, tmp_path: Path) -> None:
    """SIGKILL at spread-out times of a run: each time the folder is as before, or complete after recovery."""
    root, _, old = world
    started = time.perf_counter()
    out = _fresh_out(world, tmp_path / "timing")
    proc = _start(root, out, seed=1)
    proc.communicate(timeout=300)
    assert proc.returncode == 0
    duration = time.perf_counter() - started
    outcomes = []
    assert_complete(out, root, seed=1)
    for k, fraction in enumerate((0.5, 0.9)):
        out = _fresh_out(world, tmp_path / f"kill{k}")
        proc = _start(root, out, seed=1)
        time.sleep(duration * fraction)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _wait_and_reap(proc)
        proc.communicate(timeout=60)
        if _visible(out) == old and not any((s / "COMMIT").exists() for s in _stagings(out)):
            outcomes.append("before")
            recover_output_folder(out)
            assert _visible(out) == old and not _stagings(out)
        else:
            outcomes.append("complete")
            recover_output_folder(out)
            assert_complete(out, root, seed=1)
    assert outcomes  # which outcome depends on timing; either is correct


def test_ctrl_c_prints_one_line_and_exits_130(world, tmp_path: Path) -> None:
    root, _, old = world
    marker = tmp_path / "reached"
    out = _fresh_out(world, tmp_path, keep_cache=False)  # so that feature workers are busy when Ctrl-C comes
    proc = _start(root, out, seed=1, one_process=False, SONGMAP_TEST_STOP_AT="features:2",
                  SONGMAP_TEST_STOP_ACTION="pause", SONGMAP_TEST_STOP_FILE=str(marker))
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never reached its second file"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole foreground group
    _wait_and_reap(proc, timeout=120)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert stderr.strip().splitlines() == ["error: interrupted; finished features are cached and will be reused"], stderr
    assert stdout == ""
    assert _visible(out) == old and not _stagings(out)
    assert len(_cache(out)) >= 2
