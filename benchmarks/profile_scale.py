"""Profiles behind the scale benchmarks: where memory peaks, and where `songmap embed` spends its time.

    python benchmarks/profile_scale.py memory [--counts 1000,10000]   # needs: pip install memray
    python benchmarks/profile_scale.py imports

* ``memory``: ``songmap map`` on the generated short-track collections of ``bench_scale.py scale``
  under memray; prints the heap's high-water mark and what was allocated at that moment, grouped
  by the innermost songmap call sites (the main process; feature workers are separate processes).
* ``imports``: ``songmap embed`` of one 3-minute song under ``python -X importtime`` and cProfile;
  prints the wall time, the slowest imports (cumulative) and how much of the run is imports.
"""

from __future__ import annotations

import argparse
import collections
import io
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import DATA, SONGMAP, machine, run_embed, short_tracks, touch_uncached  # noqa: E402


def _frame(function: str, filename: str, line: int) -> str:
    return f"{function} ({Path(filename).name}:{line})"


def run_memory(args) -> None:
    try:
        from memray import FileReader
    except ImportError:
        raise SystemExit("memory profiles need memray: pip install memray") from None
    print(f"\n{machine()}")
    for n in [int(c) for c in args.counts.split(",")]:
        folder = short_tracks(n)
        with tempfile.TemporaryDirectory(prefix="songmap-profile-") as tmp:
            capture = Path(tmp) / "map.bin"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "memray", "run", "-q", "-o", str(capture), "-m", "songmap", "map", str(folder),
                            "--out", str(Path(tmp) / "out")], check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            reader = FileReader(str(capture))
            sites: collections.Counter = collections.Counter()
            for record in reader.get_high_watermark_allocation_records(merge_threads=True):
                stack = record.stack_trace(max_stacks=60)
                ours = [_frame(*f) for f in stack if "/songmap/" in f[1]][:2]
                sites[" <- ".join(ours) if ours else "outside songmap: " + _frame(*stack[0]) if stack else "?"] += record.size
        print(f"\n{n} tracks: heap high-water mark {reader.metadata.peak_memory / 2**20:.0f} MB "
              f"(main process, under memray: {wall:.0f} s)\n\n| MB at the peak | allocated at (innermost songmap frames) |\n|---:|---|")
        for site, size in sites.most_common(args.top):
            print(f"| {size / 2**20:.1f} | {site} |")


def run_imports(args) -> None:
    song = DATA / "three-minute song.ogg"
    fitted = DATA / "embed-map"
    if not song.exists() or not (fitted / "model.safetensors").exists():
        run_embed(argparse.Namespace(repeats=1))  # makes both
    command = SONGMAP + ["embed", str(fitted), str(song)]
    walls = []
    for _ in range(3):
        touch_uncached(song)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    touch_uncached(song)
    report = subprocess.run([sys.executable, "-X", "importtime", *command[1:]], check=True, capture_output=True, text=True).stderr
    top = {}
    for line in report.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split(":", 1)[1].split("|")
            # Nested imports are indented by two more spaces per level: keep the top level only.
            if cumulative.strip().isdigit() and not name.startswith("  "):
                top[name.strip()] = int(cumulative)
    print(f"\n{machine()}\n\n`songmap embed` of one 3-minute song: wall {sorted(walls)[1]:.2f} s (median of 3)\n")
    print("| top-level import | cumulative ms |\n|---|---:|")
    for name, us in sorted(top.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"| {name} | {us / 1000:.0f} |")
    print(f"| (all top-level imports) | {sum(top.values()) / 1000:.0f} |")

    code = f"import sys; sys.argv = {['songmap', *command[3:]]!r}; import runpy; runpy.run_module('songmap', run_name='__main__')"
    touch_uncached(song)
    profile_run = subprocess.run([sys.executable, "-c", f"import cProfile; cProfile.run({code!r}, {str(DATA / 'embed.prof')!r})"],
                                 capture_output=True, text=True)
    if profile_run.returncode == 0:
        stream = io.StringIO()
        stats = pstats.Stats(str(DATA / "embed.prof"), stream=stream)
        stats.sort_stats("cumulative").print_stats("songmap/(cli|mapping|features|audio|model).py:.*(embed_command|transform|load|encode|extract_features|decode)")
        print("\ncProfile, songmap's own steps (cumulative s):\n```")
        print("\n".join(line for line in stream.getvalue().splitlines() if "songmap/" in line and "List" not in line))
        print("```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    p = sub.add_parser("memory")
    p.add_argument("--counts", default="1000,10000")
    p.add_argument("--top", type=int, default=10)
    p = sub.add_parser("imports")
    p.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    {"memory": run_memory, "imports": run_imports}[args.part](args)


if __name__ == "__main__":
    main()
