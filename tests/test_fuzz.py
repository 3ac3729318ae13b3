"""Mutation fuzzing: seeded mutants of generated files in every container songmap reads.

Each mutant is a real file damaged the way downloads and disks damage them — flipped bits,
overwritten or removed stretches, truncation, a duplicated chunk, a swapped extension —
put in a read-only folder. ``songmap map`` must finish with exit 0, list every file once in
``tracks`` or ``skipped`` (with a reason), print no traceback, and leave the files as they
were; ``embed`` and ``inspect`` on each of a sample of them must answer in one line or a table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FAST_ARGS, noise_burst, tone, write_audio
from songmap.app.cli import app
from songmap.io.decode import TRUNCATED_NOTE

runner = CliRunner()
MUTANTS_PER_SOURCE = 7
SEED = 20261203


def songmap(*args: str | os.PathLike):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def _sources(folder: Path) -> list[Path]:
    """Clean files in the containers songmap reads (m4a and mp3 where ffmpeg can make them)."""
    signal = np.stack([tone(330, 3.0, 22050, harmonics=4), noise_burst(3.0, 22050, seed=4) * 0.2], axis=1)
    sources = [write_audio(folder / f"source.{ext}", signal, 22050) for ext in ("wav", "flac", "ogg")]
    if shutil.which("ffmpeg"):
        for ext, codec in (("m4a", "aac"), ("mp3", "libmp3lame"), ("opus", "libopus")):
            target = folder / f"source.{ext}"
            done = subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(sources[0]), "-c:a", codec, str(target)],
                                  capture_output=True)
            if done.returncode == 0:
                sources.append(target)
    return sources


def _mutate(data: bytes, rng: np.random.Generator, kind: str) -> bytes:
    b = bytearray(data)
    n = len(b)
    if kind == "flip":  # 0.1-1 % of the bytes, one bit each
        for at in rng.choice(n, size=max(1, int(n * rng.uniform(0.001, 0.01))), replace=False):
            b[at] ^= 1 << int(rng.integers(8))
    elif kind == "header":  # the first bytes overwritten
        b[: int(rng.integers(4, 64))] = rng.integers(0, 256, size=int(rng.integers(4, 64)), dtype=np.uint8).tobytes()
    elif kind == "truncate":
        del b[int(n * rng.uniform(0.05, 0.9)):]
    elif kind == "cut":  # a stretch removed from the middle
        start = int(n * rng.uniform(0.1, 0.8))
        del b[start : start + int(n * rng.uniform(0.01, 0.1))]
    elif kind == "duplicate":  # a stretch repeated
        start = int(n * rng.uniform(0.0, 0.8))
        b[start:start] = b[start : start + int(n * rng.uniform(0.01, 0.2))]
    elif kind == "zeros":  # a stretch zeroed, as a bad sector
        start = int(n * rng.uniform(0.0, 0.9))
        end = min(n, start + int(n * rng.uniform(0.01, 0.2)))
        b[start:end] = bytes(end - start)
    return bytes(b)


KINDS = ("flip", "header", "truncate", "cut", "duplicate", "zeros", "flip")
SWAPPED = {".wav": ".mp3", ".flac": ".ogg", ".ogg": ".wav", ".m4a": ".flac", ".mp3": ".m4a", ".opus": ".mp3"}


@pytest.fixture(scope="module")
def mutants(tmp_path_factory) -> Path:
    """A read-only folder of seeded mutants, and the clean files they were made from."""
    root = tmp_path_factory.mktemp("fuzz")
    sources = _sources(root / "clean")
    folder = root / "mutants"
    folder.mkdir()
    rng = np.random.default_rng(SEED)
    for source in sources:
        data = source.read_bytes()
        for k, kind in enumerate(KINDS[:MUTANTS_PER_SOURCE]):
            suffix = SWAPPED[source.suffix] if k == MUTANTS_PER_SOURCE - 1 else source.suffix  # the last: a swapped extension
            (folder / f"{source.stem} {source.suffix[1:]} {kind} {k}{suffix}").write_bytes(_mutate(data, rng, kind))
    for source in sources:  # and the clean ones, so the map has something to stand on
        shutil.copy(source, folder / source.name)
    for path in folder.iterdir():
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    yield folder
    folder.chmod(stat.S_IRWXU)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def mapped(mutants: Path, tmp_path_factory):
    """``songmap map`` of the mutants: (its result, the output folder, the files' digests before)."""
    before = _digests(mutants)
    out = tmp_path_factory.mktemp("fuzz-map") / "out"
    return songmap("map", mutants, "--out", out, *FAST_ARGS, "--jobs", "1"), out, before


def test_map_accounts_for_every_mutant_once_without_a_traceback(mutants: Path, mapped) -> None:
    result, out, before = mapped
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    listed = [t["file"] for t in doc["tracks"]] + [s["file"] for s in doc["skipped"]]
    assert sorted(listed) == sorted(before)  # every file exactly once
    assert all(s["reason"] and "permission" not in s["reason"] and "Traceback" not in s["reason"] for s in doc["skipped"])
    assert all(np.isfinite([t["x"], t["y"]]).all() for t in doc["tracks"])
    assert {p.name for p in mutants.iterdir() if p.stem == "source"} <= {t["file"] for t in doc["tracks"]}
    assert _digests(mutants) == before  # nothing the user owns is modified


def test_embed_and_inspect_answer_each_mutant_in_one_line_or_a_table(mutants: Path, mapped) -> None:
    _, out, _ = mapped
    for path in sorted(mutants.iterdir())[::3]:
        result = songmap("embed", out, path)
        assert result.exit_code in (0, 1), (path.name, result.output)
        assert "Traceback" not in result.output
        if result.exit_code == 1:
            assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error: ")
    result = songmap("inspect", mutants)
    assert result.exit_code == 0 and "Traceback" not in result.output


def test_files_cut_short_are_mapped_and_marked_damaged(tmp_path: Path) -> None:
    """A FLAC cut at 30 % (libsndfile refuses it; FFmpeg decodes the first 6 s), a WAV and an Ogg cut
    short (libsndfile reads what is there; only its log says the file ends early) are mapped, and say so."""
    folder = tmp_path / "songs"
    full = write_audio(folder / "whole.flac", tone(330, 20.0, 44100, harmonics=4), 44100)
    write_audio(folder / "other.wav", tone(550, 4.0, 22050), 22050)
    write_audio(folder / "noise.wav", noise_burst(2.0, 22050, seed=3), 22050)
    data = full.read_bytes()
    (folder / "cut.flac").write_bytes(data[: int(len(data) * 0.3)])
    rich = tone(220, 10.0, 22050, harmonics=4) + 0.3 * noise_burst(10.0, 22050, seed=5)[: 10 * 22050]
    for ext in ("wav", "ogg"):  # kept out of the folder whole: only their cut copies are mapped
        data = write_audio(tmp_path / f"whole.{ext}", rich, 22050).read_bytes()
        (folder / f"cut.{ext}").write_bytes(data[: int(len(data) * 0.3)])
    out = tmp_path / "out"
    for run in ("fresh", "from the cache"):
        result = songmap("map", folder, "--out", out, *FAST_ARGS, "--jobs", "1")
        assert result.exit_code == 0, (run, result.output)
        tracks = {t["file"]: t for t in json.loads((out / "embeddings.json").read_text(encoding="utf-8"))["tracks"]}
        assert set(tracks) == {"whole.flac", "cut.flac", "cut.wav", "cut.ogg", "other.wav", "noise.wav"}, run
        assert "damaged packet" in tracks["cut.flac"]["damaged"], run
        assert tracks["cut.wav"]["damaged"] == tracks["cut.ogg"]["damaged"] == TRUNCATED_NOTE, run
        assert 2.0 < tracks["cut.wav"]["duration_s"] < 3.5 and 1.0 < tracks["cut.ogg"]["duration_s"] < 3.5, run
        assert not any("damaged" in tracks[name] for name in ("whole.flac", "other.wav", "noise.wav")), run
        assert "3 damaged files were mapped from the part that decodes" in result.output, run
