"""Speed and scale benchmarks: feature throughput, long tracks, many tracks, embedding one song.

Each part generates its audio once into ``benchmarks/data/`` (git-ignored) and prints a Markdown
table with medians, ratios, machine and date for BENCHMARKS.md::

    python benchmarks/bench_scale.py features [--folder DIR] [--repeats 3]
    python benchmarks/bench_scale.py long     [--tracks 40 --minutes 8]
    python benchmarks/bench_scale.py scale    [--counts 1000,10000] [--before TREE]
    python benchmarks/bench_scale.py embed
    python benchmarks/bench_scale.py library  [--sources DIR] [--count 1000] [--subset 200]

* ``features``: feature extraction with --jobs 1 and 2 against decode-only of the same files
  and against the librosa path (``librosa.load(sr=22050)`` + ``melspectrogram``), interleaved.
* ``long``: ``songmap map`` end to end on 40 x 8-minute 48 kHz stereo OGG tracks (5 h 20 min).
* ``scale``: ``songmap map`` on N short generated tracks (5-20 s); wall time and peak RSS of
  the main process and of the whole process tree (psutil, sampled every 50 ms).
* ``embed``: ``songmap embed`` of one 3-minute song on a fitted map, in process and as a command.
* ``library``: full-length songs (3-6 min of real audio, in ``--sources``) linked under several names
  into a library of ``--count`` files: libsndfile against FFmpeg on the windows songmap reads, per
  format; on ``--subset`` of them, decoding exactly those windows in 2 processes against songmap's
  feature stage with 2 workers, interleaved; then ``songmap map`` of the whole library, end to end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks" / "data"
SONGMAP = [sys.executable, "-m", "songmap"]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {date.today().isoformat()}"


# -- generated audio ---------------------------------------------------------------------------


def synth_track(seconds: float, sample_rate: int, channels: int, seed: int) -> np.ndarray:
    """A looping chiptune-ish bar (pulse melody + bass + noise hats), tiled to ``seconds``."""
    rng = np.random.default_rng(seed)
    bar_s = 60.0 / rng.uniform(80, 160) * 4
    t = np.arange(int(bar_s * sample_rate)) / sample_rate
    root = 110 * 2 ** (rng.integers(0, 12) / 12)
    notes = root * 2 ** (rng.choice([0, 3, 4, 5, 7, 9, 12], size=8) / 12)
    step = len(t) // 8
    melody = np.concatenate([np.sign(np.sin(2 * np.pi * f * t[:step])) * np.exp(-3 * t[:step] / bar_s) for f in notes])
    bass = np.sin(2 * np.pi * root / 2 * t[: len(melody)])
    hats = rng.standard_normal(len(melody)) * (np.arange(len(melody)) % (step // 2) < step // 16)
    bar = 0.3 * melody + 0.3 * bass + 0.1 * hats * rng.uniform(0.2, 1)
    y = np.tile(bar, int(np.ceil(seconds / bar_s)))[: int(seconds * sample_rate)]
    y = (0.8 * y / (np.abs(y).max() + 1e-9)).astype(np.float32)
    if channels == 2:
        y = np.stack([y, np.roll(y, 64)], axis=1)
    return y


def write_blocks(path: Path, y: np.ndarray, sample_rate: int, fmt: str, subtype: str) -> None:
    y = y if y.ndim == 2 else y[:, None]
    tmp = path.with_name(path.name + ".part")
    with sf.SoundFile(str(tmp), "w", sample_rate, y.shape[1], format=fmt, subtype=subtype) as f:
        for start in range(0, len(y), 65536):  # libsndfile 1.2.2 crashes on big single OGG writes
            f.write(y[start : start + 65536])
    tmp.rename(path)


def long_tracks(n: int, minutes: float) -> Path:
    folder = DATA / f"long-{n}x{minutes:g}min"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = folder / f"long track {i:03d}.ogg"
        if not path.exists():
            write_blocks(path, synth_track(minutes * 60, 48000, 2, seed=i), 48000, "OGG", "VORBIS")
    return folder


def short_tracks(n: int) -> Path:
    folder = DATA / f"short-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    for i in range(n):
        path = folder / f"{i // 1000:02d}" / f"clip {i:05d}.wav"
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            write_blocks(path, synth_track(float(rng.uniform(5, 20)), 16000, 1, seed=i), 16000, "WAV", "PCM_16")
    return folder


# -- parts -------------------------------------------------------------------------------------


def run_features(args) -> None:
    import librosa
    import torch

    from songmap.features.parallel import extract_collection
    from songmap.features.shaping import crop_seconds
    from songmap.features.spectrogram import FeatureParams
    from songmap.io.decode import decode, probe
    from songmap.io.discovery import find_audio_files

    warnings.filterwarnings("ignore", message="n_fft=.*is too large")
    folder = args.folder or long_tracks(40, 8)
    paths = find_audio_files(folder)
    durations = [probe(p).duration_s for p in paths]
    crop_s = crop_seconds(durations)
    audio_s = sum(durations)
    params = FeatureParams()

    def decode_crop(files=paths):
        for p in files:
            decode(p, max_seconds=crop_s)

    def features(jobs):
        return lambda files=paths: extract_collection(files, params, crop_s, jobs=jobs)

    def librosa_path(files=paths):
        for p in files:
            y, sr = librosa.load(p, sr=22050)
            librosa.feature.melspectrogram(y=y, sr=sr)

    stages = {"decode only (cropped part)": decode_crop, "songmap features --jobs 1": features(1),
              "songmap features --jobs 2": features(2), "librosa load + melspectrogram": librosa_path}
    for fn in stages.values():  # warm-up on two files: imports, numba compilation
        fn(paths[:2])
    times = {k: [] for k in stages}
    for _ in range(args.repeats):
        for name, fn in stages.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{len(paths)} files in {folder.name}, {audio_s / 3600:.2f} h of audio, crop {crop_s:.1f} s; "
          f"{machine()}; torch {torch.__version__}; median of {args.repeats}")
    print("\n| stage | median s | x realtime (whole files) | decode-only time / this | librosa / this |\n|---|---:|---:|---:|---:|")
    for name, s in med.items():
        print(f"| {name} | {s:.2f} | {audio_s / s:.0f} | {med['decode only (cropped part)'] / s:.2f} | "
              f"{med['librosa load + melspectrogram'] / s:.1f} |")
    print("runs: " + "; ".join(f"{k}: {', '.join(f'{t:.2f}' for t in v)}" for k, v in times.items()))


def timed_map(folder: Path, extra: list[str], tree: Path | None = None) -> tuple[float, float, float]:
    """Wall time of ``songmap map`` and its peak RSS in MB: the main process alone, and the
    whole process tree (feature workers included), sampled every 50 ms with psutil. ``tree``:
    another source tree to run (``PYTHONPATH=<tree>/src``). Its summary lines go to stderr."""
    import psutil  # installed with dask.distributed (the dev extra)

    out = Path(tempfile.mkdtemp(prefix="songmap-bench-"))
    env = {**os.environ, "PYTHONPATH": str(tree / "src")} if tree is not None else None
    log = open(out.with_name(out.name + ".log"), "w+", encoding="utf-8")
    start = time.perf_counter()
    proc = subprocess.Popen(SONGMAP + ["map", str(folder), "--out", str(out), *extra],
                            stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    main = psutil.Process(proc.pid)
    peak_main = peak_tree = 0
    while proc.poll() is None:
        try:
            rss_main = main.memory_info().rss
            rss_tree = rss_main + sum(c.memory_info().rss for c in main.children(recursive=True))
        except psutil.Error:
            continue
        peak_main, peak_tree = max(peak_main, rss_main), max(peak_tree, rss_tree)
        time.sleep(0.05)
    wall = time.perf_counter() - start
    log.seek(0)
    output = log.read()
    log.close()
    if proc.returncode != 0:
        raise SystemExit(output[-2000:])
    for line in output.splitlines():
        if line.startswith(("features", "Mapped", "Quality")) and "━" not in line[:60]:
            print("   ", line.strip()[:200], file=sys.stderr)
    return wall, peak_main / 2**20, peak_tree / 2**20


def run_long(args) -> None:
    folder = long_tracks(args.tracks, args.minutes)
    wall, main_mb, worker_mb = timed_map(folder, [])
    print(f"\n{machine()}\n\n| collection | songmap map wall s | peak RSS main / whole process tree MB |\n|---|---:|---:|")
    print(f"| {args.tracks} x {args.minutes:g} min 48 kHz stereo OGG ({args.tracks * args.minutes / 60:.1f} h) | "
          f"{wall:.1f} | {main_mb:.0f} / {worker_mb:.0f} |")


def run_scale(args) -> None:
    rows = []
    trees = [("after", None)] + ([("before", args.before.resolve())] if args.before else [])
    for n in [int(c) for c in args.counts.split(",")]:
        folder = short_tracks(n)
        for name, tree in trees:  # each run reads the audio afresh: a new output folder, a cold cache
            wall, main_mb, worker_mb = timed_map(folder, ["--epochs", str(args.epochs)] if args.epochs else [], tree)
            rows.append((name, n, wall, main_mb, worker_mb))
            print(name, n, f"{wall:.1f} s", file=sys.stderr, flush=True)
    print(f"\n{machine()}\n\n| tree | tracks | songmap map wall s | s per 1000 tracks | peak RSS main / whole process tree MB |\n"
          "|---|---:|---:|---:|---:|")
    for name, n, wall, main_mb, worker_mb in rows:
        print(f"| {name} | {n} | {wall:.1f} | {1000 * wall / n:.1f} | {main_mb:.0f} / {worker_mb:.0f} |")


def touch_uncached(path: Path) -> Path:
    """Give ``path`` a new modification time, so the feature cache (keyed by it) misses: every timed
    embedding then decodes and computes features, as for a song never seen before."""
    os.utime(path)  # now: never the time of an earlier run
    return path


def run_embed(args) -> None:
    from songmap.mapper import SongMapper

    fitted = DATA / "embed-map"
    if not (fitted / "model.safetensors").exists():
        subprocess.run(SONGMAP + ["map", str(REPO.parent / "shared" / "audio" / "games"), "--out", str(fitted)], check=True)
    song = DATA / "three-minute song.ogg"
    if not song.exists():
        write_blocks(song, synth_track(180, 44100, 2, seed=99), 44100, "OGG", "VORBIS")
    in_process, command = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        # The fitted map's cache folder, as `songmap embed` uses it.
        SongMapper.load(fitted / "model.safetensors", cache_dir=fitted / "cache").transform([touch_uncached(song)])
        in_process.append(time.perf_counter() - start)
        touch_uncached(song)
        start = time.perf_counter()
        subprocess.run(SONGMAP + ["embed", str(fitted), str(song)], check=True, capture_output=True)
        command.append(time.perf_counter() - start)
    print(f"\n{machine()}\n\n| embed one 3-minute song | median s |\n|---|---:|")
    print(f"| SongMapper.load + transform (in process) | {statistics.median(in_process):.2f} |")
    print(f"| `songmap embed` command (includes Python start-up and imports) | {statistics.median(command):.2f} |")


def library(sources: Path, count: int) -> Path:
    """``count`` hard links to the 3-6-minute songs in ``sources``, in folders ``copy NN/``: a file's
    copies are different paths to the feature cache (keyed by path), so each is decoded afresh."""
    from songmap.io.decode import probe
    from songmap.io.discovery import find_audio_files

    songs = [p for p in find_audio_files(sources) if 180 <= probe(p).duration_s <= 360]
    if not songs:
        raise SystemExit(f"no songs of 3-6 minutes in {sources}")
    folder = DATA / f"library-{count}"
    for k in range(count):
        song = songs[k % len(songs)]
        link = folder / f"copy {k // len(songs):02d}" / song.name
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            os.link(song, link)
    return folder


def _windows_of(paths: list[Path]):
    """What songmap's default preset reads of ``paths``: its feature parameters, window spec and
    each file's window starts (as :meth:`SongMapper.fit` chooses them)."""
    from songmap.features.shaping import crop_seconds
    from songmap.features.windows import window_starts
    from songmap.io.decode import probe
    from songmap.mapper import SongMapper

    mapper = SongMapper()
    mapper.params_ = mapper._checked_params()
    durations = [probe(p).duration_s for p in paths]
    mapper.crop_seconds_ = crop_seconds(durations, mapper.params_["crop_percentile"], mapper.min_crop_s, mapper.max_crop_s)
    spec = mapper._window_spec(augment=True)
    starts = [window_starts(d, window_s=spec.window_s, max_windows=int(spec.max_windows)) for d in durations]
    return mapper._feature_params(), spec, starts, durations


def _decode_windows(job) -> int:
    from songmap.io.windowed import load_windows

    path, starts, window_s, rate = job
    return len(load_windows(path, starts, window_s, rate)[0])


def run_library(args) -> None:
    from concurrent.futures import ProcessPoolExecutor

    from songmap.features.augment import copied_tracks
    from songmap.features.parallel import iter_features
    from songmap.io.windowed import _decode_windows_pyav, _decode_windows_sf

    folder = library(args.sources, args.count or args.subset)
    paths = sorted(folder.rglob("*.*"))
    originals = sorted(args.sources.glob("*.*"))
    print(f"\n{machine()}; load {os.getloadavg()[0]:.2f}; {len(paths)} files in {folder}", flush=True)

    # 1. libsndfile against FFmpeg on the same windows, per format: each codec's native rate, no resampling.
    formats = sorted({p.suffix.lower() for p in originals}) if args.per_format else []
    print("\n| format | files | libsndfile s / file | FFmpeg (PyAV) s / file | FFmpeg / libsndfile |\n|---|---:|---:|---:|---:|")
    for suffix in formats:
        chosen = [p for p in originals if p.suffix.lower() == suffix][: args.per_format]
        _, spec, starts, _ = _windows_of(chosen)
        times = {"sf": [], "av": []}
        for _ in range(args.repeats):
            window_s = spec.window_s
            for name, fn in (("sf", lambda p, s, w=window_s: _decode_windows_sf(p, s, w, [])),
                             ("av", lambda p, s, w=window_s: _decode_windows_pyav(p, s, w, []))):
                began = time.perf_counter()
                try:
                    for path, s in zip(chosen, starts):
                        fn(path, s)
                except Exception:  # this decoder does not read the format
                    times[name].append(float("nan"))
                    continue
                times[name].append((time.perf_counter() - began) / len(chosen))
        sf_s, av_s = statistics.median(times["sf"]), statistics.median(times["av"])
        print(f"| {suffix} | {len(chosen)} | {sf_s:.3f} | {av_s:.3f} | {av_s / sf_s:.2f} |", flush=True)

    # 2. Decoding the windows songmap reads against its feature stage, on a subset, interleaved. The
    # subset's tracks get augmented copies where `songmap map` of the whole library would make them.
    step = max(1, len(paths) // args.subset)
    picked = list(range(0, len(paths), step))[: args.subset]
    subset = [paths[i] for i in picked]
    library_copied = set(copied_tracks(len(paths)).tolist())
    copied = [k for k, i in enumerate(picked) if i in library_copied]
    params, spec, starts, durations = _windows_of(subset)
    jobs = [(p, s, spec.window_s, params.sample_rate) for p, s in zip(subset, starts)]

    def decode_only() -> None:
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_decode_windows, jobs, chunksize=4))

    def features() -> None:
        for _, feats, reason in iter_features(subset, params, spec.window_s, jobs=2, windows=spec, copied=copied):
            assert feats is not None, reason

    times = {"decode": [], "features": []}
    for _ in range(args.repeats):
        for name, fn in (("decode", decode_only), ("features", features)):
            began = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - began)
    decode_s, features_s = statistics.median(times["decode"]), statistics.median(times["features"])
    audio_h = sum(durations) / 3600
    print(f"\n{len(subset)} files ({audio_h:.1f} h), {len(starts[0])} windows of {spec.window_s:.0f} s each, 2 processes, "
          f"median of {args.repeats}; load {os.getloadavg()[0]:.2f}")
    print("\n| stage | median s | s per song | throughput / decoding's |\n|---|---:|---:|---:|")
    print(f"| decode + resample exactly those windows | {decode_s:.1f} | {decode_s / len(subset):.3f} | 1.00 |")
    print(f"| songmap feature stage (windows, tonal view, 2 augmented copies of {len(copied)}) | {features_s:.1f} | "
          f"{features_s / len(subset):.3f} | {decode_s / features_s:.2f} |")
    print("runs: " + "; ".join(f"{k}: {', '.join(f'{t:.1f}' for t in v)}" for k, v in times.items()), flush=True)

    # 3. The whole library, end to end.
    if args.count:
        wall, main_mb, tree_mb = timed_map(folder, [])
        print("\n| library | songmap map wall s | s per song | peak RSS main / process tree MB |\n|---|---:|---:|---:|")
        print(f"| {len(paths)} songs | {wall:.1f} | {wall / len(paths):.3f} | {main_mb:.0f} / {tree_mb:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    p = sub.add_parser("features")
    p.add_argument("--folder", type=Path)
    p.add_argument("--repeats", type=int, default=3)
    p = sub.add_parser("long")
    p.add_argument("--tracks", type=int, default=40)
    p.add_argument("--minutes", type=float, default=8)
    p = sub.add_parser("scale")
    p.add_argument("--counts", default="1000,10000")
    p.add_argument("--epochs", type=int, default=0, help="override --epochs (0: songmap's default)")
    p.add_argument("--before", type=Path, help="also run this source tree (a git worktree), after each count")
    p = sub.add_parser("embed")
    p.add_argument("--repeats", type=int, default=5)
    p = sub.add_parser("library")
    p.add_argument("--sources", type=Path, required=True, help="a folder of full-length songs (real audio)")
    p.add_argument("--count", type=int, default=1000, help="songs in the library (0: skip the end-to-end run)")
    p.add_argument("--subset", type=int, default=200)
    p.add_argument("--per-format", type=int, default=8, help="files of each format for the decoders' table (0: skip it)")
    p.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    {"features": run_features, "long": run_long, "scale": run_scale, "embed": run_embed, "library": run_library}[args.part](args)


if __name__ == "__main__":
    main()
