"""Map quality of the autoencoder against PCA, t-SNE and UMAP, per preset and seed (BENCHMARKS.md "Map quality").

Runs :func:`songmap.app.jobs.compare_folder` on each collection, for each preset
and each seed, and prints one markdown table per collection and preset: the
figures of seed 0, the range over all seeds, and the median wall time.

    python benchmarks/bench_quality.py                      # ../shared/audio/games and the demo soundtrack
    python benchmarks/bench_quality.py --seeds 0,1,2 --presets default,seed --json quality-bench.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from songmap.app.jobs import compare_folder  # noqa: E402
from songmap.mapper import SongMapper  # noqa: E402
from songmap.report.plots import METHOD_TITLES  # noqa: E402


def _figures(q: dict) -> dict:
    return {
        "T@5": q["trustworthiness"]["5"], "T@10": q["trustworthiness"]["10"],
        "C@5": q["continuity"]["5"], "C@10": q["continuity"]["10"],
        "kNN cat": q["knn_category_agreement"],
        "pairs": " ".join(f"{p['rank_a_to_b']}/{p['rank_b_to_a']}" for p in q.get("pairs", [])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", default="", help="folders, comma-separated (default: shared games + demo)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--presets", default="default,seed")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="songmap-bench-quality-"))
    collections = [Path(c) for c in args.collections.split(",") if c]
    if not collections:
        games = REPO.parent / "shared" / "audio" / "games"
        if games.is_dir():
            collections.append(games)
        from songmap.demo import synthesize_soundtrack

        synthesize_soundtrack(work / "demo", seed=0)
        collections.append(work / "demo")
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = []
    for folder in collections:
        for preset in args.presets.split(","):
            by_seed = {}
            for seed in seeds:
                out = work / f"{folder.name}-{preset}-{seed}"
                started = time.perf_counter()
                result = compare_folder(folder, out, SongMapper(seed=seed, preset=preset, cache_dir=work / f"cache-{folder.name}"))
                doc = result.document
                by_seed[seed] = doc
                runs.append({"collection": str(folder), "preset": preset, "seed": seed, "wall_s": time.perf_counter() - started,
                             "features_seconds": doc["features_seconds"], "methods": doc["methods"]})
                print(f"{folder.name} {preset} seed {seed}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
            first = by_seed[seeds[0]]
            print(f"\n### {folder.name} ({first['n_tracks']} tracks), preset `{preset}`\n")
            print(f"Reference space: {first['reference_space']}; crop {first['params']['crop_seconds']} s.\n")
            print(f"| method | T@5 | T@10 | C@5 | C@10 | kNN category | pair ranks | T@10 over seeds {','.join(map(str, seeds))} | storm ranks over seeds | median s |")
            print("|---|---:|---:|---:|---:|---:|---|---|---|---:|")
            for name in first["methods"]:
                f = _figures(first["methods"][name])
                t10 = [by_seed[s]["methods"][name]["trustworthiness"]["10"] for s in seeds]
                pair_sets = [_figures(by_seed[s]["methods"][name])["pairs"] for s in seeds]
                seconds = statistics.median(by_seed[s]["methods"][name]["seconds"] for s in seeds)
                t10_range = f"{min(t10):.3f}–{max(t10):.3f}" if None not in t10 else "n/a"
                print(f"| {METHOD_TITLES[name]} | {f['T@5']:.3f} | {f['T@10']:.3f} | {f['C@5']:.3f} | {f['C@10']:.3f} | "
                      f"{f['kNN cat']:.2f} | {f['pairs']} | {t10_range} | {'; '.join(pair_sets)} | {seconds:.1f} |")
            print(f"\nFeatures: median {statistics.median(by_seed[s]['features_seconds'] for s in seeds):.1f} s.")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
