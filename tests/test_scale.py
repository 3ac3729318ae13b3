"""Parallel and distributed feature extraction, and resuming an interrupted run from the cache."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FAST_ARGS, tone, write_audio
from songmap.app.cli import app
from songmap.features.cache import FeatureCache
from songmap.features.parallel import extract_collection
from songmap.features.spectrogram import FeatureParams
from songmap.io.discovery import find_audio_files

PARAMS = FeatureParams(n_mels=64)


@pytest.fixture
def mixed_files(small_collection: Path) -> list[Path]:
    bad = small_collection / "broken.ogg"
    bad.write_bytes(b"OggS but then nothing useful")
    return find_audio_files(small_collection)


def _assert_same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for i in a:
        np.testing.assert_array_equal(a[i].log_mel, b[i].log_mel)
        assert a[i].duration_s == b[i].duration_s


def test_parallel_extraction_equals_serial(mixed_files: list[Path], tmp_path: Path) -> None:
    serial, skipped_serial = extract_collection(mixed_files, PARAMS, 2.0, jobs=1)
    seen = []
    parallel, skipped_parallel = extract_collection(
        mixed_files, PARAMS, 2.0, cache=FeatureCache(tmp_path / "cache"), jobs=2,
        on_file=lambda done, total, path: seen.append((done, total)),
    )
    _assert_same(serial, parallel)
    assert skipped_serial == skipped_parallel and [p.name for p, _ in skipped_serial] == ["broken.ogg"]
    assert [d for d, _ in seen] == list(range(1, len(mixed_files) + 1))
    # The workers wrote the cache: one entry per decodable file.
    assert len(list((tmp_path / "cache").glob("*.npz"))) == len(serial)


def test_dask_local_cluster_and_scheduler_address(mixed_files: list[Path], tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    serial, skipped = extract_collection(mixed_files, PARAMS, 2.0)
    local, skipped_local = extract_collection(mixed_files, PARAMS, 2.0, scheduler="local", jobs=2)
    _assert_same(serial, local)
    assert skipped_local == skipped

    # A cluster started elsewhere, reached by its address, with the cache on a shared file system.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote, _ = extract_collection(
            mixed_files, PARAMS, 2.0, cache=FeatureCache(tmp_path / "shared-cache"), scheduler=cluster.scheduler_address
        )
    _assert_same(serial, remote)
    assert len(list((tmp_path / "shared-cache").glob("*.npz"))) == len(serial)


def test_unreachable_scheduler_is_a_clear_error(mixed_files: list[Path]) -> None:
    pytest.importorskip("dask.distributed")
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler"):
        extract_collection(mixed_files[:2], PARAMS, 2.0, scheduler="tcp://127.0.0.1:9")


def test_map_with_jobs_gives_the_same_map(small_collection: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    docs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        result = runner.invoke(app, ["map", str(small_collection), "--out", str(out), "--jobs", jobs, *FAST_ARGS])
        assert result.exit_code == 0, result.output
        docs.append(json.loads((out / "embeddings.json").read_text(encoding="utf-8")))
    assert [(t["file"], t["x"], t["y"]) for t in docs[0]["tracks"]] == [(t["file"], t["x"], t["y"]) for t in docs[1]["tracks"]]


@pytest.fixture
def many_long_files(tmp_path: Path) -> Path:
    """40 ten-second OGG files: decoding them takes long enough to interrupt a run half way."""
    root = tmp_path / "library"
    for i in range(40):
        write_audio(root / f"track {i:02d}.ogg", tone(110 * (1 + i % 7), 10.0, 44100, seed=i, noise=0.01), 44100)
    return root


def test_interrupted_map_resumes_from_the_cache(many_long_files: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cache = out / "cache"
    command = [sys.executable, "-m", "songmap", "map", str(many_long_files), "--out", str(out), "--jobs", "1",
               "--epochs", "3", "--n-mels", "32", "--filters", "4", "--max-crop-seconds", "10"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(cache.glob("*.npz"))) < 5 and process.poll() is None:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz")}
    # Two entries per track with the default preset: its windows' images, and its augmented copies' images.
    assert 5 <= len(finished) < 80, "the run must have been killed half way through feature extraction"
    assert not (out / "embeddings.json").exists()

    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    assert len(doc["tracks"]) == 40
    # Every entry finished before the kill was kept as it was (a track cut between its two entries
    # is recomputed once, and only its missing entry is written).
    after = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz")}
    assert {name: after[name] for name in finished} == finished
    assert len(after) == 2 * 40
    # No half-written entries: every entry loads. (A write the kill cut short can only have left
    # a hidden temporary file, which is never read as an entry.)
    kinds = []
    for entry in cache.iterdir():
        if entry.name.startswith("."):
            continue
        assert entry.suffix == ".npz", entry.name
        with np.load(entry) as data:  # the default (songwise) caches each window's image: 32 mel + 12 tonal rows,
            kinds.append("images" if "images" in data else "augmented")  # and, apart, its copies' images
            assert data[kinds[-1]].shape[-2] == 32 + 12 and np.isfinite(data[kinds[-1]]).all()
    assert kinds.count("images") == kinds.count("augmented") == 40
