"""Training speed, before and after a change: the autoencoder's training against t-SNE, side by side.

Runs the same fits with two source trees, interleaved so that load from other work hits both
alike, and prints a Markdown table of medians (training seconds, ratios) and the quality of
each map (seed by seed), plus ``songmap map`` end to end with a cold cache::

    git worktree add /tmp/before b039c41          # the tree to compare with (any commit)
    python benchmarks/bench_training.py --before /tmp/before [--folder ../shared/audio/games]
        [--seeds 0,1,2] [--repeats 3] [--map-repeats 3] [--profile]

Each fit runs in a fresh subprocess with ``PYTHONPATH=<tree>/src``: ``SongMapper(seed=s).fit``
on the folder (features from a per-tree cache warmed first, so the figure is
``training_seconds_``: training and encoding, features excluded), then trustworthiness@10,
kNN category agreement and the ranks of ``pairs.csv`` in the fitted map's reference space. t-SNE
(``songmap.evaluation.baselines.tsne_map``) runs on the same features in the "after" tree.
``--profile`` prints torch.profiler's top operators of 20 training steps of the "after" tree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_WORKER = r"""
import json, sys, time
from pathlib import Path
import numpy as np
from songmap.app.jobs.common import prepare_folder
from songmap.evaluation.quality import map_quality
from songmap.mapper import SongMapper
folder, cache, seed, tsne, preset = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
job = prepare_folder(folder, Path(cache) / "out")
files = job.collection.files
mapper = SongMapper(seed=seed, cache_dir=cache, preset=preset).fit(files)
X = mapper.features_for(files)
q = map_quality(X, mapper.embedding_, files=[job.collection.relative(f) for f in files],
                categories=[job.collection.category(f) for f in files], pairs=job.pairs)
out = {"train_s": mapper.training_seconds_, "T10": q["trustworthiness"]["10"], "knn": q["knn_category_agreement"],
       "pairs": " ".join(f"{p['rank_a_to_b']}/{p['rank_b_to_a']}" for p in q.get("pairs", [])),
       "epochs": len(mapper.training_.losses)}
if tsne:
    from songmap.evaluation.baselines import tsne_map
    t = time.perf_counter(); tsne_map(X, seed=seed); out["tsne_s"] = time.perf_counter() - t
print("RESULT " + json.dumps(out))
"""

_PROFILE = r"""
import sys, numpy as np, torch
from torch.profiler import profile, ProfilerActivity
from songmap.mapper import SongMapper
from songmap.app.jobs.common import prepare_folder
from songmap.model.autoencoder import ConvAutoencoder
from songmap.model.training import TrainingConfig, train_autoencoder, seed_everything
folder, cache = sys.argv[1], sys.argv[2]
files = prepare_folder(folder, cache + "/out").collection.files
m = SongMapper(epochs=1, cache_dir=cache).fit(files)
X = m.features_for(files).reshape(len(files), m.input_height, m.input_width).astype(np.float32)
seed_everything(0)
model = ConvAutoencoder(**m.model_config_)  # the fit's model: its decoder too
print("model", m.model_config_)
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    train_autoencoder(model, X, TrainingConfig(epochs=20, neighbour_weight=1.0))
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=10,
                                                          max_name_column_width=30, max_shapes_column_width=60))
"""


def _fit(tree: Path, folder: Path, cache: Path, seed: int, tsne: bool, preset: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    proc = subprocess.run([sys.executable, "-c", _WORKER, str(folder), str(cache), str(seed), "1" if tsne else "0", preset],
                          capture_output=True, text=True, env=env, check=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _map_seconds(tree: Path, folder: Path, work: Path) -> float:
    """``songmap map`` end to end in a subprocess, cold cache (a new output folder)."""
    out = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "songmap", "map", str(folder), "--out", str(out / "map")],
                   capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="source tree to compare with (a git worktree)")
    parser.add_argument("--after", type=Path, default=REPO)
    parser.add_argument("--folder", type=Path, default=REPO.parent / "shared" / "audio" / "games")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--repeats", type=int, default=1, help="timed fits per seed and tree")
    parser.add_argument("--map-repeats", type=int, default=3, help="cold `songmap map` runs per tree (0: none)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="songmap-bench-training-"))
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    seeds = [int(s) for s in args.seeds.split(",")]
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for name, tree in trees.items():  # warm each tree's feature cache (not timed)
        _fit(tree, args.folder, work / f"cache-{name}", 0, False, args.preset)
    for seed in seeds:
        for _ in range(args.repeats):
            for name, tree in trees.items():
                result = _fit(tree, args.folder, work / f"cache-{name}", seed, name == "after", args.preset)
                runs[name].append({"seed": seed, **result})
                print(name, runs[name][-1], file=sys.stderr, flush=True)
    maps: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.map_repeats):
        for name, tree in trees.items():
            maps[name].append(_map_seconds(tree, args.folder, work))
            print(name, "map", round(maps[name][-1], 1), file=sys.stderr, flush=True)

    median = {name: statistics.median(r["train_s"] for r in rs) for name, rs in runs.items()}
    tsne = statistics.median(r["tsne_s"] for r in runs["after"])
    print(f"{args.folder.name}, preset {args.preset}, seeds {args.seeds}, {args.repeats} fit(s) per seed and tree. "
          f"{date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}\n")
    print("| tree | training s (median) | × t-SNE | epochs | T@10 per seed | kNN category per seed | pair ranks per seed |")
    print("|---|---:|---:|---|---|---|---|")
    for name, rs in runs.items():
        first = {r["seed"]: r for r in rs}
        print(f"| {name} | {median[name]:.1f} | {median[name] / tsne:.1f} | {', '.join(str(first[s]['epochs']) for s in seeds)} | "
              f"{' / '.join(format(first[s]['T10'], '.3f') for s in seeds)} | "
              f"{' / '.join(format(first[s]['knn'], '.2f') for s in seeds)} | "
              f"{'; '.join(first[s]['pairs'] for s in seeds)} |")
    print(f"\nt-SNE on the same features: {tsne:.2f} s (median). Training speed-up: {median['before'] / median['after']:.1f}×.")
    if args.map_repeats:
        print("`songmap map` end to end, cold cache, median of "
              f"{args.map_repeats}: before {statistics.median(maps['before']):.1f} s "
              f"({', '.join(f'{s:.1f}' for s in maps['before'])}), after {statistics.median(maps['after']):.1f} s "
              f"({', '.join(f'{s:.1f}' for s in maps['after'])})")
    if args.profile:
        env = {**os.environ, "PYTHONPATH": str(trees["after"] / "src")}
        print(subprocess.run([sys.executable, "-c", _PROFILE, str(args.folder), str(work / "cache-after")],
                             capture_output=True, text=True, env=env, check=True).stdout)


if __name__ == "__main__":
    main()
