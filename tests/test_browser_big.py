"""A map page of 100 000 tracks in headless Chromium.

The document is generated here (blobs of tracks with the listening keys: 10 neighbours with
distances, clusters, trustworthiness), plus four outliers far from the rest. The page must
render, find the track under the pointer with its spatial grid (also zoomed far into a dense
blob), select the tracks in view, and stay small: the page of one track plus, per track, its
title and file name and its numbers as base64 typed arrays. No timings are asserted here; they
are in BENCHMARKS.md (``benchmarks/bench_page.py --points 100000``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from browsing import open_ready_page
from songmap.evaluation.listening import feature_neighbours, find_path, neighbour_k
from songmap.web.page import write_map_page

pytestmark = pytest.mark.browser

N_BLOB_TRACKS = 99_996
CATEGORIES = ["ambient", "chiptune", "orchestral", "rock", "soundscape"]
OUTLIERS = [(-40.0, -40.0), (40.0, -40.0), (-40.0, 40.0), (40.0, 40.0)]   # one per category, far out
N = N_BLOB_TRACKS + len(OUTLIERS)
K = 10
# Bytes per track of the numbers, before base64: x, y, duration (float64), cluster (int32),
# trustworthiness and continuity (uint16), category (uint16), K neighbours (int32) and K
# distances (float32).
BINARY_BYTES_PER_TRACK = 3 * 8 + 4 + 2 * 2 + 2 + K * (4 + 4)




def big_document(input_dir: Path, seed: int = 0) -> dict:
    """100 000 tracks: 20 Gaussian blobs (a cluster each, categories cycling) and OUTLIERS."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(20, 2))
    blob = rng.integers(len(centres), size=N_BLOB_TRACKS)
    xy = np.vstack([centres[blob] + rng.normal(0, 1.0, size=(N_BLOB_TRACKS, 2)), OUTLIERS])
    cluster = np.concatenate([blob, np.full(len(OUTLIERS), -1)])
    category = np.concatenate([blob % len(CATEGORIES), np.arange(len(OUTLIERS)) % len(CATEGORIES)])
    distances, indices = NearestNeighbors(n_neighbors=K + 1).fit(xy).kneighbors(xy)
    trust = np.round(rng.uniform(0.5, 1.0, size=N), 4)
    durations = rng.uniform(30, 400, size=N)
    words = ["mist", "river", "neon", "echo", "glass", "ember", "north", "drift"]
    tracks = []
    for i in range(N):
        word = words[i % len(words)]
        tracks.append({
            "file": f"{CATEGORIES[category[i]]}/{i:06d} {word}.ogg",
            "title": f"{word.title()} {i}",
            "category": CATEGORIES[category[i]],
            "duration_s": float(durations[i]),
            "x": float(xy[i, 0]),
            "y": float(xy[i, 1]),
            "neighbours": indices[i, 1:].tolist(),
            "neighbour_distances": np.round(distances[i, 1:], 4).tolist(),
            "cluster": int(cluster[i]),
            "trustworthiness": float(trust[i]),
            "continuity": float(trust[i]),
        })
    clusters = [{"id": c, "name": f"Blob {c}", "size": int((blob == c).sum()), "centre": None} for c in range(len(centres))]
    return {"songmap_version": "0.1.0", "created": "2026-11-26T00:00:00+00:00", "input_dir": str(input_dir),
            "params": {}, "tracks": tracks, "skipped": [], "clusters": clusters}


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("big")
    doc = big_document(root / "songs")
    (root / "out").mkdir()
    page_path = write_map_page(root / "out", doc)
    one_dir = root / "one"
    one_dir.mkdir()
    one = {**doc, "tracks": doc["tracks"][:1], "clusters": doc["clusters"][:1]}
    one["tracks"][0] = {**one["tracks"][0], "neighbours": [], "neighbour_distances": []}
    one_path = write_map_page(one_dir, one)
    xy = np.array([[t["x"], t["y"]] for t in doc["tracks"]])
    return {"doc": doc, "page": page_path, "one": one_path, "xy": xy}


def open_page(browser, path: Path):
    return open_ready_page(browser, path.as_uri(), timeout_ms=60_000)  # 100 000 points take a while to load


@pytest.fixture(scope="module")
def page(browser, big):
    page = open_page(browser, big["page"])
    yield page
    page.context.close()


def next_frames(page) -> None:
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def screen_transform(page, xy: np.ndarray) -> tuple[float, float, float]:
    """``(scale, x0, y0)`` with page px = (x0 + scale * x, y0 - scale * y), from two tracks' positions."""
    a, b = 0, N - 1   # a blob track and an outlier: far apart
    pa, pb = (page.evaluate(f"window.songmap.screenPosition({i})") for i in (a, b))
    scale = (pb["x"] - pa["x"]) / (xy[b, 0] - xy[a, 0])
    return scale, pa["x"] - scale * xy[a, 0], pa["y"] + scale * xy[a, 1]


def expected_under(xy: np.ndarray, transform, mouse: tuple[float, float]) -> int:
    """The track nearest to the mouse on screen (of equals, the highest index: drawn last)."""
    scale, x0, y0 = transform
    d = (x0 + scale * xy[:, 0] - mouse[0]) ** 2 + (y0 - scale * xy[:, 1] - mouse[1]) ** 2
    return int(np.flatnonzero(d == d.min())[-1])


def hover(page, x: float, y: float) -> int:
    page.mouse.move(x, y)
    next_frames(page)
    return page.evaluate("window.songmap.hovered()")


def test_the_page_renders_every_track_with_its_colour(page, big):
    assert page.errors == []
    assert page.evaluate("window.songmap.points") == N
    drawn = page.evaluate("window.songmap.drawn()")
    assert drawn["splat"] is True   # so many points in view are stamped as pixels
    assert sorted(drawn["hulls"]) == sorted(c["name"] for c in big["doc"]["clusters"])
    categories = {c["label"]: c for c in page.evaluate("window.songmap.categories()")}
    assert {name: c["count"] for name, c in categories.items()} == {
        name: sum(t["category"] == name for t in big["doc"]["tracks"]) for name in CATEGORIES}
    # Each outlier is alone: the canvas pixel at its centre is its category's colour at the
    # big-map opacity (0.8; a faint grid line may lie under it).
    for i in range(N_BLOB_TRACKS, N):
        position = page.evaluate(f"window.songmap.screenPosition({i})")
        pixel = page.evaluate(
            """([x, y]) => {
                const canvas = document.getElementById("map"), rect = canvas.getBoundingClientRect();
                const ratio = canvas.width / rect.width;
                const at = [Math.floor((x - rect.left) * ratio), Math.floor((y - rect.top) * ratio)];
                return Array.from(canvas.getContext("2d").getImageData(at[0], at[1], 1, 1).data);
            }""",
            [position["x"], position["y"]],
        )
        colour = categories[big["doc"]["tracks"][i]["category"]]["colour"]
        expected = [int(colour[k:k + 2], 16) for k in (1, 3, 5)]
        assert abs(pixel[3] - 0.8 * 255) <= 4, (i, pixel)
        assert np.abs(np.array(pixel[:3]) - expected).max() <= 8, (i, pixel, colour)


def test_hover_finds_the_track_under_the_pointer(page, big):
    xy = big["xy"]
    page.evaluate("window.songmap.resetView()")
    next_frames(page)
    transform = screen_transform(page, xy)
    # The outliers and the tracks at the map's extremes (the grid's edge cells), pointed at 2 px off.
    extremes = [int(np.argmin(xy[:, 0])), int(np.argmax(xy[:, 0])), int(np.argmin(xy[:, 1])), int(np.argmax(xy[:, 1]))]
    for i in [*range(N_BLOB_TRACKS, N), *extremes]:
        p = page.evaluate(f"window.songmap.screenPosition({i})")
        mouse = (p["x"] + 2, p["y"] - 1)
        found = hover(page, *mouse)
        assert found == expected_under(xy, transform, mouse), i
        assert found == i or i in extremes   # an outlier is alone; an extreme track may have company
    # Far from every track: nothing.
    centre = page.evaluate(f"window.songmap.worldPosition({OUTLIERS[0][0] / 2}, {OUTLIERS[0][1] / 2})")
    assert hover(page, centre["x"], centre["y"]) == -1


def test_hover_and_select_in_view_deep_in_a_dense_blob(page, big):
    xy = big["xy"]
    page.evaluate("window.songmap.resetView()")
    rng = np.random.default_rng(1)
    targets = rng.choice(N_BLOB_TRACKS, size=3, replace=False)
    for target in targets:
        page.evaluate("window.songmap.resetView()")
        next_frames(page)
        p = page.evaluate(f"window.songmap.screenPosition({int(target)})")
        page.mouse.move(p["x"], p["y"])
        for _ in range(8):   # zoom in around the pointer, which stays on the track
            page.mouse.wheel(0, -400)
            next_frames(page)
        assert page.evaluate("window.songmap.zoom()") > 50
        transform = screen_transform(page, xy)
        p = page.evaluate(f"window.songmap.screenPosition({int(target)})")
        mouse = (p["x"] + 1.5, p["y"] + 1)
        assert hover(page, *mouse) == expected_under(xy, transform, mouse) == target
    # "Select in view" (the lasso's polygon test over the grid) takes exactly the tracks on screen.
    page.mouse.move(5, 5)
    page.click("#select-view")
    next_frames(page)
    selected = set(page.evaluate("window.songmap.selection()"))
    rect = page.evaluate("(() => { const r = document.getElementById('map').getBoundingClientRect();"
                         " return {x: r.left, y: r.top, w: r.width, h: r.height}; })()")
    scale, x0, y0 = screen_transform(page, xy)
    sx, sy = x0 + scale * xy[:, 0] - rect["x"], y0 - scale * xy[:, 1] - rect["y"]

    def inside(margin: float) -> set[int]:
        keep = (sx >= margin) & (sx <= rect["w"] - margin) & (sy >= margin) & (sy <= rect["h"] - margin)
        return set(np.flatnonzero(keep).tolist())

    assert 0 < len(inside(0.01)) < N / 10   # zoomed in: some tracks, not the whole map
    assert inside(0.01) <= selected <= inside(-0.01)   # exact up to float32 screen positions
    page.click("#selection-clear")


def test_the_page_stays_small(big):
    """Binary columns, not JSON objects: the one-track page plus, per track, its strings and numbers.

    The bound: the page of one track (the template, scripts and styles), plus per track its title
    and file name as JSON strings (their UTF-8 bytes, two quotes and a comma each), one byte of
    audio URL ("0," less, when all derive from the file name), and BINARY_BYTES_PER_TRACK bytes of
    numbers in base64 (4/3 of them), with 1 % to spare.
    """
    tracks = big["doc"]["tracks"]
    strings = sum(len(json.dumps(t[key], ensure_ascii=False).encode()) + 1 for t in tracks for key in ("title", "file"))
    bound = big["one"].stat().st_size + strings + N + math.ceil(4 / 3 * BINARY_BYTES_PER_TRACK * N)
    size = big["page"].stat().st_size
    assert size <= 1.01 * bound, (size, bound)


def test_an_old_document_of_100_000_tracks_finds_paths_over_map_neighbours(browser, big, tmp_path):
    """Without feature neighbours the page's path graph is each track's 10 nearest on the map,
    found through the grid (not by comparing every pair); the path is songmap path's."""
    old = {**big["doc"], "tracks": [{key: t[key] for key in ("file", "title", "category", "duration_s", "x", "y")}
                                    for t in big["doc"]["tracks"]]}
    del old["clusters"]
    page = open_page(browser, write_map_page(tmp_path, old))
    assert page.evaluate("window.songmap.pathSource()") == "map"
    xy = big["xy"]
    neighbours, distances = feature_neighbours(xy, k=neighbour_k(len(xy)))
    rng = np.random.default_rng(2)
    for start, end in rng.choice(N_BLOB_TRACKS, size=(2, 2), replace=False).tolist():
        expected = find_path(neighbours=neighbours, distances=distances, points=xy, start=start, end=end).tracks
        assert page.evaluate(f"window.songmap.findPath({start}, {end})") == expected
    assert page.errors == []
    page.context.close()


def test_playing_lists_the_nearest_tracks_and_their_feature_neighbours(page, big):
    """The decoded neighbour columns: here each track's 10 feature neighbours are its 10 nearest on
    the map, so none of the 8 nearest listed is marked "map-only"."""
    xy = big["xy"]
    for i in (7, 54_321, N - 1):
        page.evaluate(f"window.songmap.play({i})")
        d = np.hypot(*(xy - xy[i]).T)
        d[i] = np.inf
        assert page.evaluate("window.songmap.neighbours()") == np.argsort(d, kind="stable")[:8].tolist()
        assert page.locator("#neighbours .mark").count() == 0
    far = big["doc"]["tracks"][N - 1]["neighbours"]
    assert set(far) == set(np.argsort(np.hypot(*(xy - xy[N - 1]).T))[1:K + 1].tolist())
