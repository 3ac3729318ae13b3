"""Benchmark the map page with a large collection in headless Chromium.

Generates an embeddings.json with N points (default 10 000, random clusters in
5 categories), writes map.html with :func:`songmap.web.page.write_map_page`, opens
it from disk several times and reports

* first render: ``window.songmap.renderMs`` (navigation start -> end of the
  first full canvas draw, measured by the page) and the wall time from
  ``page.goto`` to ``body[data-ready="1"]`` (measured here, so it includes
  Playwright's round trips);
* pan/zoom: 60 wheel events then 60 drag steps dispatched one per animation
  frame inside the page; the median and 95th percentile of the frame interval
  (rAF timestamps) and of the time one redraw takes, and the median and 95th
  percentile of the zoom frames (wheel) and of the pan frames (drag) on their own;
* lasso: with the lasso on, a round lasso over the middle of the map
  (about half the points) drawn with 64 pointer moves; timed from the
  ``pointerup`` to the end of its handler (tracks found, ordered and listed)
  and to the next painted frame, three lassos per run.

The document carries the listening keys (10 feature neighbours per track,
clusters, per-track trustworthiness), so the page parses and lays out what a
current ``songmap map`` writes. Prints a markdown table row with the machine, so
results from different machines can be collected in one table. Targets: median
first render < 1 s, median lasso (to the painted frame) < 100 ms, and (for 100 000
points) median zoom and pan frame < 33 ms. The page file's size is
printed with the first line.

Usage::

    python benchmarks/bench_page.py [--points 10000] [--runs 5] [--screenshot artifacts/map-page-10k.png]
    python benchmarks/bench_page.py --points 100000 --runs 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from songmap.web.page import write_map_page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIRST_RENDER_TARGET_MS = 1000.0
LASSO_TARGET_MS = 100.0
FRAME_TARGET_MS = 33.0  # pan/zoom frame interval at 100 000 points: 30 frames a second
CATEGORIES = ["ambient", "chiptune", "orchestral", "rock", "soundscape"]
WORDS = ["black", "mist", "river", "neon", "echo", "glass", "ember", "north", "drift", "signal",
         "hollow", "velvet", "storm", "lantern", "orbit", "static", "bloom", "iron", "tide", "dust"]

# Runs inside the page: one synthetic input event per animation frame, so the
# measurement is of the page redrawing under continuous interaction and not
# of Playwright's round trips.
INTERACTION_SCRIPT = """
async ({steps}) => {
  const canvas = document.getElementById("map");
  const rect = canvas.getBoundingClientRect();
  const cx = rect.left + rect.width / 2, cy = rect.top + rect.height / 2;
  const drawsBefore = window.songmap.drawTimes.length;
  const frames = [];
  const nextFrame = () => new Promise(resolve => requestAnimationFrame(resolve));
  for (let i = 0; i < steps; i++) {
    // Zoom in for the first half, out for the second, around a moving cursor.
    const deltaY = i < steps / 2 ? -60 : 60;
    canvas.dispatchEvent(new WheelEvent("wheel", {
      deltaY, clientX: cx + 80 * Math.sin(i / 7), clientY: cy, bubbles: true, cancelable: true}));
    frames.push(await nextFrame());
  }
  const pointer = {pointerId: 7, button: 0, buttons: 1, isPrimary: true, bubbles: true};
  canvas.dispatchEvent(new PointerEvent("pointerdown", {...pointer, clientX: cx, clientY: cy}));
  for (let i = 1; i <= steps; i++) {
    canvas.dispatchEvent(new PointerEvent("pointermove", {
      ...pointer, clientX: cx + 6 * i, clientY: cy + 3 * Math.sin(i / 5) * 20}));
    frames.push(await nextFrame());
  }
  canvas.dispatchEvent(new PointerEvent("pointerup", {...pointer, clientX: cx + 6 * steps, clientY: cy}));
  const intervals = [], zoom = [], pan = [];
  for (let i = 1; i < frames.length; i++) {
    const interval = frames[i] - frames[i - 1];
    intervals.push(interval);
    // Frame i - 1 -> i is a zoom frame while i < steps (wheel events), a pan frame after.
    if (i < steps) zoom.push(interval);
    else if (i > steps) pan.push(interval);
  }
  return {intervals, zoom, pan, draws: window.songmap.drawTimes.slice(drawsBefore)};
}
"""


LASSO_SCRIPT = """
async ({lassos}) => {
  const canvas = document.getElementById("map");
  const rect = canvas.getBoundingClientRect();
  const cx = rect.left + rect.width / 2, cy = rect.top + rect.height / 2;
  const radius = 0.3 * Math.min(rect.width, rect.height);
  const nextFrame = () => new Promise(resolve => requestAnimationFrame(resolve));
  document.getElementById("lasso").click();
  const pointer = {pointerId: 9, button: 0, buttons: 1, isPrimary: true, bubbles: true};
  const handler = [], painted = [], selected = [];
  for (let run = 0; run < lassos; run++) {
    const at = (k) => ({clientX: cx + radius * Math.cos(k / 64 * 2 * Math.PI + run),
                        clientY: cy + radius * Math.sin(k / 64 * 2 * Math.PI + run)});
    canvas.dispatchEvent(new PointerEvent("pointerdown", {...pointer, ...at(0)}));
    for (let k = 1; k <= 64; k++) canvas.dispatchEvent(new PointerEvent("pointermove", {...pointer, ...at(k)}));
    await nextFrame();
    const started = performance.now();
    canvas.dispatchEvent(new PointerEvent("pointerup", {...pointer, ...at(64)}));
    handler.push(performance.now() - started);
    await nextFrame();
    painted.push(performance.now() - started);
    selected.push(window.songmap.selection().length);
  }
  return {handler, painted, selected};
}
"""


def make_embeddings(points: int, seed: int = 0) -> dict:
    """An embeddings document with ``points`` tracks in clustered categories, with the listening keys.

    Each track's 10 "feature" neighbours are its nearest in its map position plus
    noise (so some map neighbours are map-only), its cluster is the blob it was
    drawn from, and its trustworthiness a random figure in [0.5, 1].
    """
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    tracks = []
    centres = {name: rng.normal(0, 4, size=(rng.integers(2, 5), 2)) for name in CATEGORIES}
    blobs = [(name, b) for name in CATEGORIES for b in range(len(centres[name]))]
    for index in range(points):
        category = CATEGORIES[rng.integers(len(CATEGORIES))]
        blob = int(rng.integers(len(centres[category])))
        centre = centres[category][blob]
        x, y = centre + rng.normal(0, 0.8, size=2)
        title = " ".join(rng.choice(WORDS, size=rng.integers(1, 4))).title()
        tracks.append(
            {
                "file": f"{category}/{index:05d} {title}.ogg",
                "title": f"{title} {index}",
                "category": category,
                "duration_s": float(rng.uniform(30, 420)),
                "x": float(x),
                "y": float(y),
                "cluster": blobs.index((category, blob)),
                "trustworthiness": round(float(rng.uniform(0.5, 1.0)), 4),
                "continuity": round(float(rng.uniform(0.5, 1.0)), 4),
            }
        )
    xy = np.array([[t["x"], t["y"]] for t in tracks])
    features = np.hstack([xy + rng.normal(0, 0.3, size=xy.shape), rng.normal(0, 0.3, size=(len(xy), 6))])
    k = min(10, points - 1)
    distances, indices = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features)
    for i, entry in enumerate(tracks):
        entry["neighbours"] = [int(j) for j in indices[i, 1:]]
        entry["neighbour_distances"] = [round(float(d), 4) for d in distances[i, 1:]]
    clusters = [
        {"id": c, "name": f"{name.title()} blob {b + 1}", "size": sum(t["cluster"] == c for t in tracks), "category": name, "centre": 0}
        for c, (name, b) in enumerate(blobs)
    ]
    return {
        "songmap_version": "0.1.0",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "input_dir": "/nonexistent/bench-songs",
        "params": {},
        "tracks": tracks,
        "skipped": [],
        "clusters": clusters,
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def percentile(values: list[float], fraction: float) -> float:
    return float(np.percentile(values, fraction * 100)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60, help="wheel events, then drag steps")
    parser.add_argument("--screenshot", type=Path, help="save a screenshot of the last run")
    args = parser.parse_args(argv)

    if not os.path.exists(CHROMIUM):
        print(f"error: {CHROMIUM} not found", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="songmap-bench-") as temp:
        out_dir = Path(temp)
        doc = make_embeddings(args.points)
        (out_dir / "embeddings.json").write_text(json.dumps(doc))
        started = time.perf_counter()
        page_path = write_map_page(out_dir)
        write_ms = (time.perf_counter() - started) * 1000
        page_mb = page_path.stat().st_size / 1e6

        render_ms, ready_ms, intervals, draws, zoom_frames, pan_frames = [], [], [], [], [], []
        lasso_handler, lasso_painted, lasso_selected = [], [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            chromium_version = browser.version
            for run in range(args.runs):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                started = time.perf_counter()
                page.goto(page_path.as_uri(), wait_until="commit")
                page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                ready_ms.append((time.perf_counter() - started) * 1000)
                render_ms.append(page.evaluate("window.songmap.renderMs"))
                assert page.evaluate("window.songmap.points") == args.points
                result = page.evaluate(INTERACTION_SCRIPT, {"steps": args.steps})
                # The first frames after load include one-off work (fonts, JIT).
                intervals.extend(result["intervals"][5:])
                zoom_frames.extend(result["zoom"][5:])
                pan_frames.extend(result["pan"][5:])
                draws.extend(result["draws"][5:])
                page.evaluate("window.songmap.resetView()")
                lasso = page.evaluate(LASSO_SCRIPT, {"lassos": 3})
                lasso_handler.extend(lasso["handler"])
                lasso_painted.extend(lasso["painted"])
                lasso_selected.extend(lasso["selected"])
                if args.screenshot and run == args.runs - 1:
                    page.evaluate("window.songmap.resetView()")
                    page.evaluate("window.songmap.play(0)")
                    page.wait_for_timeout(200)
                    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(args.screenshot))
                context.close()
            browser.close()

    median_render = statistics.median(render_ms)
    print(f"points={args.points} runs={args.runs} page={page_mb:.2f} MB write_map_page={write_ms:.0f} ms")
    print(f"renderMs per run: {', '.join(f'{v:.0f}' for v in render_ms)}")
    print(f"goto->ready per run: {', '.join(f'{v:.0f}' for v in ready_ms)}")
    print(f"zoom frame median / p95: {statistics.median(zoom_frames):.1f} / {percentile(zoom_frames, 0.95):.1f} ms; "
          f"pan frame median / p95: {statistics.median(pan_frames):.1f} / {percentile(pan_frames, 0.95):.1f} ms")
    print()
    print(f"lasso: tracks selected per lasso {min(lasso_selected)}–{max(lasso_selected)}; "
          f"handler per lasso: {', '.join(f'{v:.0f}' for v in lasso_handler)} ms")
    print()
    print("| date | machine | chromium | points | first render median (renderMs) | goto→ready median "
          "| frame interval median / p95 | redraw median / p95 | lasso handler / to painted frame, median (p95) |")
    print("|---|---|---|---|---|---|---|---|---|")
    machine = f"{os.cpu_count()} cores, {cpu_model()}"
    print(
        f"| {dt.date.today().isoformat()} | {machine} | {chromium_version} | {args.points} "
        f"| {median_render:.0f} ms | {statistics.median(ready_ms):.0f} ms "
        f"| {statistics.median(intervals):.1f} / {percentile(intervals, 0.95):.1f} ms "
        f"| {statistics.median(draws):.1f} / {percentile(draws, 0.95):.1f} ms "
        f"| {statistics.median(lasso_handler):.0f} / {statistics.median(lasso_painted):.0f} ms "
        f"({percentile(lasso_handler, 0.95):.0f} / {percentile(lasso_painted, 0.95):.0f} ms) |"
    )
    median_lasso = statistics.median(lasso_painted)
    checks = (
        ("first render", median_render, FIRST_RENDER_TARGET_MS),
        ("lasso", median_lasso, LASSO_TARGET_MS),
        ("zoom frame", statistics.median(zoom_frames), FRAME_TARGET_MS),
        ("pan frame", statistics.median(pan_frames), FRAME_TARGET_MS),
    )
    ok = all(value < target for _, value, target in checks)
    for name, value, target in checks:
        print(f"{name} {'meets' if value < target else 'MISSES'} the {target:.0f} ms target ({value:.0f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
