"""The map page's listening tools in headless Chromium: paths, selections, exports, clusters,
the "where the map is unsure" layer, map-only neighbour marks and trajectories.

The documents are written by hand (tones written with soundfile; neighbours, clusters and
trustworthiness made up here), so these tests exercise the page, not the model.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from browsing import PageSession, download_text, list_titles, pixel, rgb, songmap_serve
from conftest import make_doc, track
from songmap.evaluation.listening import feature_neighbours as feature_neighbours_of
from songmap.evaluation.listening import find_path, neighbour_k
from songmap.report.palette import category_colours
from songmap.report.playlists import PLAYLIST_COLUMNS, m3u8_text, read_m3u8, xspf_text
from songmap.web.page import write_map_page

pytestmark = pytest.mark.browser


SAMPLE_RATE = 22050
SECONDS = 1.2
K = 3   # feature neighbours per track in these documents (small, so paths take several steps)

# The "feature space": two families along a line, a gap between them. The map keeps them apart
# but swaps two tracks between the families, so those tracks' map neighbours are map-only.
FEATURES = np.array(
    [[0.0, 0.0], [1.0, 0.1], [2.0, -0.1], [3.0, 0.2], [4.0, 0.0], [5.0, 0.1],
     [6.5, 0.0], [7.5, 0.2], [8.5, -0.1], [9.5, 0.1], [10.5, 0.0]]
)
FAMILY_GAP = 6.0   # features below this x are the drones
NAMES = ["Low Drone", "Deep Hum", "Dark Pad", "Slow Swell", "Grey Wash", "Storm #1",
         "Bright Bell", "Café Chime", "Glass Ping", "Spark 🎵", "High Tick"]
FILES = [f"tones/{name}.wav" for name in NAMES[:-1]] + ["tones/sub dir/High Tick.wav"]
CLUSTER_NAMES = {0: "Low Drone family", 1: "Bright Bell family"}
SWAPPED = (5, 10)   # track 5 sits among the bells on the map, track 10 among the drones
TRAJECTORY = [[-1.0, 1.5], [-0.5, 1.0], [0.2, 0.4], [0.6, -0.2]]   # track 0's windows


def map_positions() -> np.ndarray:
    points = FEATURES.copy()
    points[:, 0] = np.where(points[:, 0] < FAMILY_GAP, points[:, 0] - 8, points[:, 0] - 2)
    points[:, 1] = points[:, 1] * 4
    a, b = SWAPPED
    points[[a, b]] = points[[b, a]] + np.array([[0.0, 1.5], [0.0, 1.5]])
    return points


def feature_neighbours(k: int = K) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances), each ``(n, k)``: every track's k nearest in FEATURES, nearest first."""
    d = np.linalg.norm(FEATURES[:, None] - FEATURES[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(d, order, axis=1)


def listening_doc(input_dir: Path, *, with_keys: bool = True) -> dict:
    points = map_positions()
    order, distances = feature_neighbours()
    tracks = []
    for i, (file, title) in enumerate(zip(FILES, NAMES)):
        entry = track(file, float(points[i, 0]), float(points[i, 1]), title=title, duration_s=SECONDS,
                      category="drone" if FEATURES[i, 0] < FAMILY_GAP else "bell")
        if with_keys:
            cluster = -1 if i == 4 else int(FEATURES[i, 0] > FAMILY_GAP)
            entry.update(
                neighbours=order[i].tolist(),
                neighbour_distances=[round(float(v), 4) for v in distances[i]],
                cluster=cluster,
                cluster_name=CLUSTER_NAMES.get(cluster),
                trustworthiness=0.3 if i in SWAPPED else 1.0,
                continuity=0.4 if i in SWAPPED else 1.0,
            )
            if i == 0:
                entry["path"] = TRAJECTORY
        tracks.append(entry)
    doc = make_doc(input_dir, tracks)
    if with_keys:
        doc["clusters"] = [
            {"id": c, "name": name, "size": sum(1 for t in tracks if t["cluster"] == c), "category": None, "centre": 0 if c == 0 else 6}
            for c, name in CLUSTER_NAMES.items()
        ]
    return doc


@pytest.fixture(scope="module")
def listening_dirs(tmp_path_factory) -> dict[str, Path]:
    """Tones in ``songs/``, and two output folders: ``new`` (with the issue-13 keys) and ``old`` (without)."""
    root = tmp_path_factory.mktemp("listening")
    input_dir = root / "songs"
    for index, file in enumerate(FILES):
        seconds = np.arange(int(SAMPLE_RATE * SECONDS)) / SAMPLE_RATE
        path = input_dir / file
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.2 * np.sin(2 * np.pi * (200 + 60 * index) * seconds)).astype(np.float32), SAMPLE_RATE)
    dirs = {"input": input_dir}
    for name, with_keys in (("new", True), ("old", False)):
        out = root / name
        out.mkdir()
        (out / "embeddings.json").write_text(json.dumps(listening_doc(input_dir, with_keys=with_keys), ensure_ascii=False), encoding="utf-8")
        write_map_page(out)
        dirs[name] = out
    return dirs


@pytest.fixture
def open_page(browser):
    """open_page(url) -> PageSession in a fresh 1280×900 context that accepts downloads."""
    contexts = []

    def open_(url: str, **context_options) -> PageSession:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, **context_options)
        contexts.append(context)
        session = PageSession(context.new_page())
        session.open(url)
        return session

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def served(listening_dirs):
    """`songmap serve` of the ``new`` folder; yields its URL."""
    with songmap_serve(listening_dirs["new"]) as url:
        yield url


def python_path(doc: dict, start: int, end: int, length: int | None = None) -> list[int]:
    """What `songmap path` gives for the same tracks: songmap.evaluation.listening.find_path on the document.

    A document without neighbours uses the map coordinates' neighbours, as the CLI does.
    """
    points = np.array([[t["x"], t["y"]] for t in doc["tracks"]])
    if all("neighbours" in t for t in doc["tracks"]):
        neighbours = [t["neighbours"] for t in doc["tracks"]]
        distances = [t["neighbour_distances"] for t in doc["tracks"]]
    else:
        neighbours, distances = feature_neighbours_of(points, k=neighbour_k(len(points)))
    result = find_path(neighbours=neighbours, distances=distances, points=points, start=start, end=end, length=length)
    return result.tracks


def _saved(folder: Path, text: str) -> Path:
    """``text`` saved as a playlist in ``folder`` (as a user saves a download next to map.html)."""
    path = folder / "saved.m3u8"
    path.write_text(text, encoding="utf-8")
    return path


def m3u8_entries(text: str) -> list[tuple[str, str]]:
    """[(#EXTINF line, location)] of an M3U8 playlist, checking its header."""
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U" and lines[1].startswith("#PLAYLIST:") and lines[2].startswith("# songmap ")
    body = lines[3:]
    assert len(body) % 2 == 0
    return [(body[k], body[k + 1]) for k in range(0, len(body), 2)]


# --------------------------------------------------------------------- paths --


def test_shift_click_draws_and_lists_the_path(open_page, listening_dirs):
    doc = json.loads((listening_dirs["new"] / "embeddings.json").read_text(encoding="utf-8"))
    session = open_page((listening_dirs["new"] / "map.html").as_uri())
    page = session.page
    start, end = 0, 9
    expected = python_path(doc, start, end)
    assert len(expected) >= 4   # the test is about a path of several steps
    for index in (start, end):
        point = session.position(index)
        page.keyboard.down("Shift")
        page.mouse.click(point["x"], point["y"])
        page.keyboard.up("Shift")
    page.wait_for_function("() => window.songmap.path().length > 0")
    assert page.evaluate("window.songmap.current()") == -1   # shift-click picks, it does not play
    assert page.evaluate("window.songmap.path()") == expected
    assert page.evaluate("window.songmap.pathSource()") == "features"
    assert list_titles(page, "#path-list") == [NAMES[i] for i in expected]
    assert page.text_content("#path-ends").startswith(f"From {NAMES[start]} to {NAMES[end]}")
    # The line is drawn: the canvas pixel halfway along a segment is the path's colour.
    page.wait_for_function(f"() => window.songmap.drawn().pathVertices === {len(expected)}")
    a, b = session.position(expected[1]), session.position(expected[2])
    seen = pixel(page, (a["x"] + b["x"]) / 2, (a["y"] + b["y"]) / 2)
    assert np.abs(np.array(seen[:3]) - rgb("#7cc4ff")).max() <= 12, seen
    assert session.errors == []


@pytest.mark.parametrize("folder", ["new", "old"])
def test_page_paths_equal_the_python_paths(open_page, listening_dirs, folder):
    """For several (A, B, N), shortest, shortened and lengthened, the page's path is songmap's."""
    doc = json.loads((listening_dirs[folder] / "embeddings.json").read_text(encoding="utf-8"))
    session = open_page((listening_dirs[folder] / "map.html").as_uri())
    page = session.page
    n = len(NAMES)
    cases = [(0, 9, None), (0, 9, 3), (0, 9, 8), (10, 3, None), (10, 3, n), (5, 6, 2), (4, 2, 6)]
    for start, end, length in cases:
        expected = python_path(doc, start, end, length)
        assert page.evaluate("([a, b, n]) => window.songmap.findPath(a, b, n)", [start, end, length]) == expected, (start, end, length)
    # Through the path panel too, with a length typed in.
    page.evaluate("window.songmap.play(0)")
    page.click("#path-from")
    page.evaluate("window.songmap.play(9)")
    page.click("#path-to")
    page.fill("#path-length", "8")
    page.press("#path-length", "Enter")
    page.wait_for_function("() => window.songmap.path().length === 8")
    assert page.evaluate("window.songmap.path()") == python_path(doc, 0, 9, 8)
    assert list_titles(page, "#path-list") == [NAMES[i] for i in python_path(doc, 0, 9, 8)]


def test_paths_bridge_parts_of_the_graph_like_python(open_page, tmp_path):
    """Two families that list only each other: the path jumps where they come closest on the map."""
    tracks = []
    for i in range(8):
        family = i // 4
        others = [j for j in range(4 * family, 4 * family + 4) if j != i]
        tracks.append(track(f"t{i}.wav", x=float(i + 3 * family), y=float(i % 2), neighbours=others,
                            neighbour_distances=[abs(i - j) * 1.5 for j in others]))
    doc = make_doc(tmp_path / "songs", tracks)
    out = tmp_path / "out"
    out.mkdir()
    page_path = write_map_page(out, doc)
    page = open_page(page_path.as_uri()).page
    for start, end, length in [(0, 7, None), (1, 6, None), (0, 7, 3), (0, 7, 8)]:
        expected = python_path(doc, start, end, length)
        assert page.evaluate("([a, b, n]) => window.songmap.findPath(a, b, n)", [start, end, length]) == expected


def test_path_from_and_to_by_keyboard(open_page, listening_dirs):
    doc = json.loads((listening_dirs["new"] / "embeddings.json").read_text(encoding="utf-8"))
    session = open_page((listening_dirs["new"] / "map.html").as_uri())
    page = session.page
    page.evaluate("window.songmap.play(10)")
    page.focus("#path-from")
    page.keyboard.press("Enter")
    page.evaluate("window.songmap.play(3)")
    page.focus("#map")
    page.keyboard.press("t")   # the key for "Path to here"
    assert page.evaluate("window.songmap.pathEnds()") == [10, 3]
    assert page.evaluate("window.songmap.path()") == python_path(doc, 10, 3)
    page.click("#path-clear")
    assert page.evaluate("window.songmap.path()") == []
    assert list_titles(page, "#path-list") == []


def test_path_plays_back_to_back(open_page, served, listening_dirs):
    doc = json.loads((listening_dirs["new"] / "embeddings.json").read_text(encoding="utf-8"))
    expected = python_path(doc, 1, 4)
    assert len(expected) == 3
    session = open_page(served)
    page = session.page
    page.evaluate("window.songmap.play(1)")
    page.click("#path-from")
    page.evaluate("window.songmap.play(4)")
    page.click("#path-to")
    assert page.evaluate("window.songmap.path()") == expected
    page.click("#path-play")
    session.wait_until_playing(expected[0])
    # Each track is 1.2 s: when one ends, the next one on the path starts.
    page.wait_for_function(f"() => window.songmap.current() === {expected[1]}", timeout=10_000)
    page.wait_for_function(f"() => window.songmap.current() === {expected[2]}", timeout=10_000)
    assert page.evaluate("window.songmap.queue().position") == 2
    assert page.locator("#path-list .track-btn.queued .name").text_content() == NAMES[expected[2]]
    page.wait_for_function("() => window.songmap.queue() === null", timeout=10_000)
    assert page.text_content("#status") == "End of the path."
    assert session.errors == []


def test_path_exports_m3u8_and_csv_that_find_the_audio(open_page, listening_dirs):
    out = listening_dirs["new"]
    session = open_page((out / "map.html").as_uri())
    page = session.page
    page.evaluate("window.songmap.play(0)")
    page.click("#path-from")
    page.evaluate("window.songmap.play(10)")   # "High Tick", in a sub folder with a space
    page.click("#path-to")
    path = page.evaluate("window.songmap.path()")

    name, text = download_text(page, "#path-m3u")
    assert name == "songmap-path.m3u8"
    # The very text `songmap path --output` would write next to map.html.
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    assert text == m3u8_text([doc["tracks"][i] for i in path], input_dir=doc["input_dir"], playlist_dir=out,
                             name=f"Path from {NAMES[0]} to {NAMES[10]}")
    saved = read_m3u8(_saved(out, text))   # the parser songmap's own tests read playlists with
    assert [(title, file.resolve()) for _, title, file in saved] == [
        (NAMES[i], (listening_dirs["input"] / FILES[i]).resolve()) for i in path
    ]
    entries = m3u8_entries(text)
    assert [info for info, _ in entries] == [f"#EXTINF:1,{NAMES[i]}" for i in path]
    # Saved next to map.html, the playlist's relative paths are the audio files.
    for (_, location), index in zip(entries, path):
        assert not location.startswith(("/", "file:")) and "%" not in location
        assert (out / location).resolve() == (listening_dirs["input"] / FILES[index]).resolve()

    name, text = download_text(page, "#path-csv")
    assert name == "songmap-path.csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["file"] for row in rows] == [FILES[i] for i in path]
    assert [row["title"] for row in rows] == [NAMES[i] for i in path]
    assert [int(row["order"]) for row in rows] == list(range(1, len(path) + 1))
    assert list(rows[0]) == list(PLAYLIST_COLUMNS)
    assert rows[0]["cluster_name"] == CLUSTER_NAMES[0]


def test_path_exports_xspf_and_paths_relative_to_a_library_folder(open_page, listening_dirs):
    out = listening_dirs["new"]
    library = listening_dirs["input"].parent
    session = open_page((out / "map.html").as_uri())
    page = session.page
    page.evaluate("window.songmap.play(0)")
    page.click("#path-from")
    page.evaluate("window.songmap.play(10)")
    page.click("#path-to")
    path = page.evaluate("window.songmap.path()")
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    chosen, name = [doc["tracks"][i] for i in path], f"Path from {NAMES[0]} to {NAMES[10]}"

    filename, text = download_text(page, "#path-xspf")
    assert filename == "songmap-path.xspf"
    assert text == xspf_text(chosen, input_dir=doc["input_dir"], playlist_dir=out, name=name)

    # Relative to the library's root, as `songmap path --relative-to` writes them (for a media server).
    page.fill("#export-relative-to", str(library))
    _, text = download_text(page, "#path-m3u")
    assert text == m3u8_text(chosen, input_dir=doc["input_dir"], playlist_dir=out, name=name, relative_to=library)
    for (_, location), index in zip(m3u8_entries(text), path):
        assert (library / location).resolve() == (listening_dirs["input"] / FILES[index]).resolve()
    _, text = download_text(page, "#path-xspf")
    assert text == xspf_text(chosen, input_dir=doc["input_dir"], playlist_dir=out, name=name, relative_to=library)

    # A folder that does not hold the tracks, or one not written in full: nothing saved, and why.
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    for folder, reason in ((out, "is not inside"), ("Music", "in full")):
        page.fill("#export-relative-to", str(folder))
        page.click("#path-xspf")
        page.click("#path-m3u")
        assert reason in page.text_content("#status")
    page.wait_for_timeout(300)
    assert downloads == []
    assert session.errors == []


def test_old_documents_get_paths_over_map_neighbours_and_no_cluster_layer(open_page, listening_dirs):
    session = open_page((listening_dirs["old"] / "map.html").as_uri())
    page = session.page
    assert page.evaluate("window.songmap.pathSource()") == "map"
    path = page.evaluate("window.songmap.findPath(0, 9)")
    assert path[0] == 0 and path[-1] == 9 and len(set(path)) == len(path)
    assert page.is_hidden("#clusters-section")
    assert page.is_disabled("#show-trust")
    page.evaluate("window.songmap.play(5)")
    assert page.locator("#neighbours .mark").count() == 0
    assert page.evaluate("window.songmap.drawn().hulls") == []
    assert session.errors == []


# ---------------------------------------------------------------- selections --


def lasso(page, session, indices: list[int], margin: float = 18) -> None:
    """Turn the lasso on and drag a rectangle (as a lasso stroke) around the given tracks."""
    points = [session.position(i) for i in indices]
    x0, x1 = min(p["x"] for p in points) - margin, max(p["x"] for p in points) + margin
    y0, y1 = min(p["y"] for p in points) - margin, max(p["y"] for p in points) + margin
    page.click("#lasso")
    assert page.get_attribute("#lasso", "aria-pressed") == "true"
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in ((x1, y0), (x1, y1), (x0, y1), (x0, y0 + 1)):
        page.mouse.move(x, y, steps=6)
    page.mouse.up()


def inside_box(session, indices: list[int], margin: float = 18) -> set[int]:
    points = [session.position(i) for i in indices]
    x0, x1 = min(p["x"] for p in points) - margin, max(p["x"] for p in points) + margin
    y0, y1 = min(p["y"] for p in points) - margin, max(p["y"] for p in points) + margin
    return {i for i in range(len(NAMES)) if x0 < session.position(i)["x"] < x1 and y0 < session.position(i)["y"] < y1}


def test_lasso_selects_the_tracks_inside_and_plays_them_in_order(open_page, served):
    session = open_page(served)
    page = session.page
    around = [6, 7, 8]
    expected = inside_box(session, around)
    assert 3 <= len(expected) < len(NAMES)
    lasso(page, session, around)
    selection = page.evaluate("window.songmap.selection()")
    assert set(selection) == expected and len(selection) == len(expected)
    assert page.text_content("#selection-count") == f"{len(expected)} tracks selected"
    assert list_titles(page, "#selection-list") == [NAMES[i] for i in selection]
    # The rings are drawn on the next frame, as the path's vertices and the hulls are (waited for alike).
    page.wait_for_function(f"() => window.songmap.drawn().selectionRings === {len(expected)}")
    assert page.evaluate("window.songmap.drawn().selectionRings") == len(expected)
    assert page.evaluate("window.songmap.current()") == -1   # a lasso neither plays nor pans

    page.click("#selection-play")
    session.wait_until_playing(selection[0])
    page.wait_for_function(f"() => window.songmap.current() === {selection[1]}", timeout=10_000)

    page.keyboard.press("Escape")
    assert page.get_attribute("#lasso", "aria-pressed") == "false"
    page.click("#selection-clear")
    assert page.evaluate("window.songmap.selection()") == []
    assert session.errors == []


def test_selection_exports_and_copies_paths(open_page, served, listening_dirs):
    origin = served.rstrip("/")
    session = open_page(served, permissions=["clipboard-read", "clipboard-write"])
    page = session.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    lasso(page, session, [0, 1, 2])
    selection = page.evaluate("window.songmap.selection()")
    assert set(selection) == inside_box(session, [0, 1, 2])

    _, text = download_text(page, "#selection-m3u")
    entries = m3u8_entries(text)
    # A served page's playlist points at the server, which serves each track's audio.
    assert [location for _, location in entries] == [f"{origin}/audio/{i}" for i in selection]
    for _, location in entries:
        assert page.request.get(location).status == 200

    _, text = download_text(page, "#selection-csv")
    assert [row["file"] for row in csv.DictReader(io.StringIO(text))] == [FILES[i] for i in selection]

    page.click("#selection-copy")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.splitlines() == [str(listening_dirs["input"] / FILES[i]) for i in selection]
    assert page.text_content("#status") == f"Copied {len(selection)} paths."


def test_select_in_view_respects_the_search(open_page, listening_dirs):
    session = open_page((listening_dirs["new"] / "map.html").as_uri())
    page = session.page
    page.fill("#search", "bell")
    page.click("#select-view")
    assert page.evaluate("window.songmap.selection()") == [6]


# ------------------------------------------------------------------ clusters --


def test_cluster_outlines_labels_toggle_and_filter(open_page, listening_dirs):
    session = open_page((listening_dirs["new"] / "map.html").as_uri())
    page = session.page
    names = list(CLUSTER_NAMES.values())
    assert page.is_visible("#clusters-section")
    drawn = page.evaluate("window.songmap.drawn()")
    assert drawn["hulls"] == names and sorted(drawn["clusterLabels"]) == sorted(names)
    legend = page.eval_on_selector_all("#cluster-legend .legend-btn", "bs => bs.map(b => [b.dataset.cluster, b.querySelector('.count').textContent])")
    assert legend == [[names[0], "5"], [names[1], "5"], ["in no cluster", "1"]]
    assert "2 clusters" in page.text_content("#summary")

    page.uncheck("#show-clusters")
    page.wait_for_function("() => window.songmap.drawn().hulls.length === 0")
    assert page.evaluate("window.songmap.drawn().clusterLabels") == []
    page.check("#show-clusters")
    page.wait_for_function("() => window.songmap.drawn().hulls.length === 2")

    # Dimming a cluster: its tracks stay on the map faintly but cannot be hovered or clicked.
    button = page.locator(f"#cluster-legend .legend-btn[data-cluster='{names[1]}']")
    button.click()
    assert button.get_attribute("aria-pressed") == "false"
    assert page.evaluate("window.songmap.visibleCount()") == len(NAMES) - 5
    session.hover(7, expect_hit=False)
    page.wait_for_timeout(150)
    assert page.evaluate("window.songmap.hovered()") == -1
    # Shift-click shows only one cluster.
    page.locator("#cluster-legend .legend-btn[data-cluster='in no cluster']").click(modifiers=["Shift"])
    assert page.evaluate("window.songmap.visibleCount()") == 1
    assert session.errors == []


# ------------------------------------------------------- where the map is unsure --


def test_trust_layer_rings_the_unsure_tracks(open_page, listening_dirs):
    session = open_page((listening_dirs["new"] / "map.html").as_uri())
    page = session.page
    assert page.evaluate("window.songmap.drawn().trustRings") == 0
    page.check("#show-trust")
    page.wait_for_function("() => window.songmap.drawn().trustRings > 0")
    assert page.evaluate("window.songmap.drawn().trustRings") == len(SWAPPED)
    # The ring is on the unsure track: yellow just outside its point, and not around a sure one.
    unsure, sure = session.position(SWAPPED[0]), session.position(1)
    radius = 6.5 + 2.5 + 4 * 0.6   # point radius of a small map, ring offset of the strongest bucket
    ring = pixel(page, unsure["x"] - radius, unsure["y"])   # left: labels are drawn to the right
    assert ring[0] > 150 and ring[1] > 120 and ring[2] < 120, ring
    assert pixel(page, sure["x"] - radius, sure["y"])[2] > 150   # no yellow ring: the (blue) cluster outline shows
    page.uncheck("#show-trust")
    page.wait_for_function("() => window.songmap.drawn().trustRings === 0")


def test_neighbour_list_marks_map_only_neighbours(open_page, listening_dirs):
    session = open_page((listening_dirs["new"] / "map.html").as_uri())
    page = session.page
    order, _ = feature_neighbours()
    current = SWAPPED[1]   # sits among the drones on the map, is a bell in the features
    page.evaluate(f"window.songmap.play({current})")
    listed = page.evaluate("window.songmap.neighbours()")
    marks = page.eval_on_selector_all(
        "#neighbours .track-btn", "bs => bs.map(b => b.querySelector('.mark') ? b.querySelector('.mark').textContent : '')"
    )
    expected = ["" if j in set(order[current].tolist()) else "map-only" for j in listed]
    assert marks == expected
    assert "map-only" in marks and "" in marks
    # Visible as text, not only colour.
    assert page.locator("#neighbours .mark").first.is_visible()


# ---------------------------------------------------------------- trajectories --


def test_trajectory_is_drawn_for_the_selected_track(open_page, listening_dirs):
    session = open_page((listening_dirs["new"] / "map.html").as_uri())
    page = session.page
    page.evaluate("window.songmap.play(1)")
    page.wait_for_function("() => window.songmap.drawn().trajectoryVertices === 0")
    page.evaluate("window.songmap.play(0)")
    page.wait_for_function(f"() => window.songmap.drawn().trajectoryVertices === {len(TRAJECTORY)}")
    # Its first window, away from every track, is a dot in the track's category colour.
    first = page.evaluate("([x, y]) => window.songmap.worldPosition(x, y)", TRAJECTORY[0])
    colour = category_colours(["drone", "bell"])["drone"]
    assert np.abs(np.array(pixel(page, first["x"], first["y"])[:3]) - rgb(colour)).max() <= 12
    page.evaluate("window.songmap.play(2)")
    page.wait_for_function("() => window.songmap.drawn().trajectoryVertices === 0")
    assert np.abs(np.array(pixel(page, first["x"], first["y"])[:3]) - rgb(colour)).max() > 60   # gone with the selection
    assert session.errors == []
