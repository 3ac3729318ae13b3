"""Time songmap's pipeline on a folder of songs (default: ../shared/audio/games).

Measured side by side in one run, each repeated and reported as a median:

* feature extraction (cold: decode the crop, resample, log-mel; no cache)
* feature extraction from a warm cache (what a second ``songmap map`` does)
* decode-only of the same cropped part, and decode-only of whole files
* the plain librosa path: ``librosa.load(sr=22050)`` + ``librosa.feature.melspectrogram``
* ``songmap map`` end to end in a subprocess (fresh output folder, so the cache is cold),
  and again on the same folder (warm cache)

Run: ``python benchmarks/bench_pipeline.py [--folder DIR] [--repeats 3]``; it prints a
Markdown table to paste into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from songmap.features.cache import FeatureCache
from songmap.features.parallel import extract_collection
from songmap.features.shaping import crop_seconds
from songmap.features.spectrogram import FeatureParams
from songmap.io.decode import decode, probe
from songmap.io.discovery import find_audio_files

REPO = Path(__file__).resolve().parents[1]

from bench_scale import machine  # noqa: E402  (same folder; the machine line carries the date)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=REPO.parent / "shared" / "audio" / "games")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-end-to-end", action="store_true")
    args = parser.parse_args()

    import librosa  # the baseline; imported here so songmap itself never needs it
    import torch

    paths = find_audio_files(args.folder)
    params = FeatureParams()
    durations = []
    for p in paths:
        try:
            durations.append(probe(p).duration_s)
        except Exception:
            pass
    crop_s = crop_seconds([d for d in durations if d > 0])
    audio_seconds = sum(durations)
    print(f"{len(paths)} files, {audio_seconds:.0f} s of audio, crop {crop_s:.2f} s; {machine()}; torch {torch.__version__}")

    def decode_cropped():
        for p in paths:
            try:
                decode(p, max_seconds=crop_s)
            except Exception:
                pass

    def decode_whole():
        for p in paths:
            try:
                decode(p)
            except Exception:
                pass

    def songmap_features():
        extract_collection(paths, params, crop_s, cache=None)

    cache_dir = Path(tempfile.mkdtemp(prefix="songmap-bench-cache-"))
    cache = FeatureCache(cache_dir)
    extract_collection(paths, params, crop_s, cache=cache)

    def songmap_cached():
        extract_collection(paths, params, crop_s, cache=cache)

    def librosa_path():
        for p in paths:
            try:
                y, sr = librosa.load(p, sr=22050)
            except Exception:
                continue
            if len(y):
                librosa.feature.melspectrogram(y=y, sr=sr, n_mels=128)

    # Warm-up: first calls pay for imports, numba compilation and file-system caches.
    librosa_path()
    songmap_features()

    stages = {
        "decode only, cropped part": decode_cropped,
        "decode only, whole files": decode_whole,
        "songmap features (cold cache)": songmap_features,
        "songmap features (warm cache)": songmap_cached,
        "librosa load + melspectrogram": librosa_path,
    }
    times: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(args.repeats):
        for name, fn in stages.items():  # interleaved, so load changes hit every stage alike
            times[name].append(timed(fn))
    shutil.rmtree(cache_dir, ignore_errors=True)

    end_to_end: dict[str, list[float]] = {"songmap map, cold cache": [], "songmap map, warm cache": []}
    if not args.skip_end_to_end:
        songmap = [sys.executable, "-m", "songmap", "map", str(args.folder)]
        for _ in range(args.repeats):
            out = Path(tempfile.mkdtemp(prefix="songmap-bench-out-"))
            end_to_end["songmap map, cold cache"].append(timed(lambda out=out: subprocess.run(songmap + ["--out", str(out)], check=True, capture_output=True)))
            end_to_end["songmap map, warm cache"].append(timed(lambda out=out: subprocess.run(songmap + ["--out", str(out)], check=True, capture_output=True)))
            shutil.rmtree(out, ignore_errors=True)

    med = {name: statistics.median(v) for name, v in {**times, **end_to_end}.items() if v}
    librosa_s = med["librosa load + melspectrogram"]
    print()
    print(f"{machine()}; {len(paths)} files ({audio_seconds / 60:.1f} min of audio); "
          f"median of {args.repeats} runs each")
    print()
    print("| stage | median s | x realtime | librosa path / this |")
    print("|---|---:|---:|---:|")
    for name, seconds in med.items():
        ratio = f"{librosa_s / seconds:.1f}x" if "map," not in name else ""
        print(f"| {name} | {seconds:.2f} | {audio_seconds / seconds:.0f} | {ratio} |")
    print()
    print(f"songmap features / decode-only of the same cropped part: "
          f"{med['songmap features (cold cache)'] / med['decode only, cropped part']:.2f}x the time")
    print("all runs (s): " + "; ".join(f"{k}: {', '.join(f'{t:.2f}' for t in v)}" for k, v in {**times, **end_to_end}.items() if v))


if __name__ == "__main__":
    np.seterr(all="ignore")
    warnings.filterwarnings("ignore", message="n_fft=.*is too large")  # librosa on the tiny effects
    main()
