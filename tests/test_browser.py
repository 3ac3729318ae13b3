"""End-to-end tests of the map page in headless Chromium (Playwright).

The collection is generated here (short sine tones written with soundfile)
and the embeddings.json is written by hand, so these tests exercise the page
and the server without depending on the model.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import soundfile as sf

from browsing import VIEWPORT, PageSession, pixel, rgb, songmap_serve
from songmap.report.palette import category_colours
from songmap.web.page import write_map_page

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO_ROOT / "artifacts" / "map-page.png"

SAMPLE_RATE = 22050
XSS_FILE = "<img src=x onerror=alert(1)>.wav"
XSS_TITLE = "</script><script>window.__xss=1</script>"
ODD_FILE = "sub dir/Ünïcode Sông #2?.wav"

# (file, title, category, frequency in Hz, x, y): two clusters and one
# uncategorised track, far enough apart to hover each point unambiguously.
COLLECTION = [
    ("Low Drone.wav", "Low Drone", "ambient", 110, -3.0, 1.0),
    (XSS_FILE, "<img src=x onerror=alert(1)>", "ambient", 165, -2.0, 2.2),
    (ODD_FILE, "Ünïcode Sông #2?", "ambient", 220, -3.4, -0.6),
    ("Bright Bell.wav", "Bright Bell", "melodic", 880, 2.5, 0.8),
    ("Sine 660.wav", "Sine 660", "melodic", 660, 3.3, -0.7),
    ("Mid Hum.wav", "Mid Hum", "melodic", 440, 1.6, -1.5),
    ("<svg onload=window.__xss=1>.wav", XSS_TITLE, None, 330, 0.2, 2.6),
]
TITLES = [entry[1] for entry in COLLECTION]
# Enough categories to run past the palette's first colours and past its end, plus names that a
# naive JavaScript object lookup would get wrong.
MANY_CATEGORIES = [f"category {i:02d}" for i in range(12)] + ["__proto__", "constructor", "Éclair"]
PAGE_BACKGROUND = "#0e1117"   # --bg of map.css, behind the (transparent) canvas
POINT_ALPHA = 0.95            # how opaque map.js fills the points of a small collection


def track_duration(index: int) -> float:
    """Seconds of audio of track ``index``: 2.0 to 3.2."""
    return 2.0 + 0.2 * index


# ------------------------------------------------------------------ fixtures --


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    """An input folder of tones and an output folder with embeddings.json."""
    root = tmp_path_factory.mktemp("browser")
    input_dir, out_dir = root / "songs", root / "out"
    out_dir.mkdir()
    tracks = []
    for index, (file, title, category, frequency, x, y) in enumerate(COLLECTION):
        duration = track_duration(index)
        seconds = np.arange(int(SAMPLE_RATE * duration)) / SAMPLE_RATE
        tone = 0.2 * np.sin(2 * np.pi * frequency * seconds).astype(np.float32)
        path = input_dir / file
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, tone, SAMPLE_RATE)
        tracks.append(
            {"file": file, "title": title, "category": category, "duration_s": duration, "x": x, "y": y}
        )
    doc = {
        "songmap_version": "0.1.0",
        "created": "2026-11-25T10:00:00+00:00",
        "input_dir": str(input_dir),
        "params": {"sample_rate": SAMPLE_RATE},
        "tracks": tracks,
        "skipped": [{"file": "broken.mp3", "reason": "not decodable audio"}],
    }
    (out_dir / "embeddings.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return out_dir


@pytest.fixture(scope="module")
def server(collection):
    """`songmap serve` of the collection's output folder; yields its URL."""
    with songmap_serve(collection) as url:
        yield url


@pytest.fixture
def session(browser, server):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page_session = PageSession(page)
    page_session.open(server)
    yield page_session
    context.close()


def on_background(colour: str, alpha: float = POINT_ALPHA) -> np.ndarray:
    """The colour a user sees for ``colour`` drawn with ``alpha`` over the page background."""
    return np.round(alpha * np.array(rgb(colour)) + (1 - alpha) * np.array(rgb(PAGE_BACKGROUND)))


@pytest.fixture(scope="module")
def many_categories_page(tmp_path_factory) -> Path:
    """map.html (from disk) of one track per category of MANY_CATEGORIES and one uncategorised, on a circle."""
    out_dir = tmp_path_factory.mktemp("palette")
    names = [*MANY_CATEGORIES, None]
    tracks = [
        {
            "file": f"{i}.wav",
            "title": f"t{i}",
            "category": name,
            "x": float(np.cos(2 * np.pi * i / len(names))),
            "y": float(np.sin(2 * np.pi * i / len(names))),
        }
        for i, name in enumerate(names)
    ]
    doc = {"songmap_version": "0.1.0", "input_dir": str(out_dir / "songs"), "tracks": tracks}
    return write_map_page(out_dir, doc)


# --------------------------------------------------------------------- tests --


def test_every_track_is_a_point(session):
    page = session.page
    assert page.evaluate("window.songmap.points") == len(COLLECTION)
    assert page.evaluate("window.songmap.visibleCount()") == len(COLLECTION)
    assert 0 < page.evaluate("window.songmap.renderMs") < 2000
    for index in range(len(COLLECTION)):
        assert session.position(index)["onScreen"]
    assert page.text_content("#summary") == "7 tracks · 3 categories · 1 skipped"
    assert session.errors == []


@pytest.mark.parametrize("index", range(len(COLLECTION)))
def test_hover_shows_the_tooltip_of_that_track(session, index):
    session.hover(index)
    assert session.tooltip_title() == TITLES[index]
    category = COLLECTION[index][2] or "uncategorised"
    assert session.page.text_content("#tooltip .tt-category") == category
    assert session.page.text_content("#tooltip .tt-duration") == f"0:0{int(track_duration(index))}"


def test_click_plays_and_lists_neighbours(session):
    page = session.page
    session.click(3)
    session.wait_until_playing(3)
    assert page.evaluate("document.getElementById('player').currentSrc").endswith("/audio/3")
    assert page.text_content("#now-title") == "Bright Bell"
    # Playback really advances.
    first = page.evaluate("document.getElementById('player').currentTime")
    page.wait_for_timeout(400)
    assert page.evaluate("document.getElementById('player').currentTime") > first

    neighbour_titles = page.eval_on_selector_all("#neighbours .track-btn .name", "nodes => nodes.map(n => n.textContent)")
    assert len(neighbour_titles) == len(COLLECTION) - 1
    assert neighbour_titles[:2] == ["Sine 660", "Mid Hum"]  # nearest first
    assert page.evaluate("window.songmap.neighbours()")[:2] == [4, 5]

    # A neighbour entry plays its track.
    page.click("#neighbours .track-btn >> nth=0")
    session.wait_until_playing(4)
    assert session.errors == []


def test_keyboard_navigation(session):
    page = session.page
    session.click(0)
    session.wait_until_playing(0)
    page.focus("#map")
    page.keyboard.press("n")   # nearest neighbour of Low Drone
    page.wait_for_function("window.songmap.current() === 1")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("window.songmap.current() === 6")   # 1's nearest unvisited (0 was played)
    page.keyboard.press("p")
    page.wait_for_function("window.songmap.current() === 1")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("window.songmap.current() === 0")
    # Keyboard navigation shows the tooltip of the current track.
    assert session.tooltip_title() == "Low Drone"

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.type("hum")
    assert page.evaluate("window.songmap.visibleCount()") == 1
    page.keyboard.press("Escape")
    assert page.input_value("#search") == ""
    assert page.evaluate("window.songmap.visibleCount()") == len(COLLECTION)
    assert page.evaluate("document.activeElement.id") != "search"


def test_legend_toggles_categories(session):
    page = session.page
    legend = page.locator(".legend-btn[data-category='ambient']")
    legend.click()
    assert legend.get_attribute("aria-pressed") == "false"
    assert page.evaluate("window.songmap.visibleCount()") == len(COLLECTION) - 3
    # A hidden point can be neither hovered nor clicked.
    session.hover(0, expect_hit=False)
    page.wait_for_timeout(150)
    assert page.evaluate("window.songmap.hovered()") == -1
    assert page.is_hidden("#tooltip")
    session.click(0)
    page.wait_for_timeout(150)
    assert page.evaluate("window.songmap.current()") == -1

    legend.click()
    assert page.evaluate("window.songmap.visibleCount()") == len(COLLECTION)
    # Shift-click shows only that category.
    page.locator(".legend-btn[data-category='uncategorised']").click(modifiers=["Shift"])
    assert page.evaluate("window.songmap.visibleCount()") == 1


def test_search_filters_by_title_case_insensitively(session):
    page = session.page
    page.fill("#search", "BRIGHT")
    assert page.evaluate("window.songmap.visibleCount()") == 1
    assert page.text_content("#search-count") == "1 match"
    assert page.eval_on_selector_all("#results .name", "nodes => nodes.map(n => n.textContent)") == ["Bright Bell"]
    page.press("#search", "Enter")
    session.wait_until_playing(3)

    page.fill("#search", "sông")
    assert page.evaluate("window.songmap.visibleCount()") == 1
    page.fill("#search", "no such title")
    assert page.evaluate("window.songmap.visibleCount()") == 0


def test_untrusted_names_are_shown_as_text_and_never_run(session):
    page = session.page
    session.click(1)
    session.wait_until_playing(1)
    assert page.text_content("#now-title") == "<img src=x onerror=alert(1)>"
    assert page.text_content("#now-file") == XSS_FILE
    session.hover(6)
    assert session.tooltip_title() == XSS_TITLE
    neighbour_titles = page.eval_on_selector_all("#neighbours .name", "nodes => nodes.map(n => n.textContent)")
    assert XSS_TITLE in neighbour_titles

    page.wait_for_timeout(300)
    assert session.dialogs == []
    assert page.evaluate("typeof window.__xss") == "undefined"
    # No element came from the data: the one image is the hover card's cover.
    assert page.evaluate("document.querySelectorAll('svg, iframe, object').length") == 0
    assert page.evaluate("Array.from(document.querySelectorAll('img'), i => i.className)") == ["tt-cover"]
    # Only the template's scripts: the data, the placer's model and map.js.
    assert page.evaluate("document.scripts.length") == 3


def test_pan_zoom_and_reset(session):
    page = session.page
    before = session.position(3)
    centre_x, centre_y = 400, 400
    page.mouse.move(centre_x, centre_y)
    page.mouse.wheel(0, -400)   # zoom in around the cursor
    page.wait_for_function("window.songmap.zoom() > 1.5")
    zoomed = session.position(3)
    assert abs(zoomed["x"] - centre_x) > abs(before["x"] - centre_x)

    page.mouse.move(centre_x, centre_y)
    page.mouse.down()
    page.mouse.move(centre_x + 60, centre_y + 30, steps=5)
    page.mouse.up()
    dragged = session.position(3)
    assert dragged["x"] - zoomed["x"] == pytest.approx(60, abs=1)
    assert dragged["y"] - zoomed["y"] == pytest.approx(30, abs=1)
    assert page.evaluate("window.songmap.current()") == -1   # a drag is not a click

    page.click("#reset-view")
    page.wait_for_timeout(100)
    reset = session.position(3)
    assert reset["x"] == pytest.approx(before["x"], abs=0.5)
    assert reset["y"] == pytest.approx(before["y"], abs=0.5)


def test_server_refuses_traversal(session, server):
    for path in ["/audio/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "/audio/99999"]:
        assert session.page.request.get(server.rstrip("/") + path).status == 404
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(server).port, timeout=10)
    connection.request("GET", "/../../etc/passwd")
    assert connection.getresponse().status == 404
    connection.close()


def test_page_opened_from_disk_plays_odd_file_names(browser, collection):
    page_path = write_map_page(collection)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        session = PageSession(context.new_page())
        session.open(page_path.as_uri())
        odd_index = [entry[0] for entry in COLLECTION].index(ODD_FILE)
        for index in (odd_index, 1):   # "#?" + non-ASCII, then the <img ...> name
            session.click(index)
            session.wait_until_playing(index)
            assert session.page.evaluate("document.getElementById('player').error") is None
        assert session.dialogs == [] and session.errors == []
    finally:
        context.close()


def test_page_colours_each_category_like_map_png(browser, many_categories_page):
    """Legend, tooltip and points show each category in the colour map.png gives it (one palette)."""
    expected = category_colours([*MANY_CATEGORIES, None])
    context = browser.new_context(viewport=VIEWPORT)
    try:
        session = PageSession(context.new_page())
        session.open(many_categories_page.as_uri())
        page = session.page
        legend = page.eval_on_selector_all(
            ".legend-btn",
            "buttons => buttons.map(b => [b.dataset.category, getComputedStyle(b.querySelector('.dot')).backgroundColor])",
        )
        assert [label for label, _ in legend] == [*sorted(MANY_CATEGORIES), "uncategorised"]
        for label, shown in legend:
            colour = expected[None if label == "uncategorised" else label]
            assert shown == "rgb({}, {}, {})".format(*rgb(colour)), label

        names = [*MANY_CATEGORIES, None]
        for index, name in enumerate(names):
            # The point itself: the canvas pixel at its centre.
            centre = session.position(index)
            rgba = pixel(page, centre["x"], centre["y"])
            assert rgba[3] == pytest.approx(255 * POINT_ALPHA, abs=2)
            assert np.abs(np.array(rgba[:3]) - rgb(expected[name])).max() <= 2, (name, rgba)
            # The tooltip's dot when the point is hovered.
            session.hover(index)
            dot = page.evaluate("getComputedStyle(document.querySelector('#tooltip .dot')).backgroundColor")
            assert dot == "rgb({}, {}, {})".format(*rgb(expected[name])), name
        assert session.errors == []
    finally:
        context.close()


def test_screenshot_shows_the_points_in_their_category_colours(session):
    """What a user sees: the map drawn in map.png's colours. The picture is left in artifacts/."""
    page = session.page
    session.click(3)
    session.wait_until_playing(3)
    session.hover(4)
    session.tooltip_title()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    from PIL import Image

    box = page.locator("#map").bounding_box()
    with Image.open(SCREENSHOT) as image:
        assert image.size == (1280, 800)
        crop = (round(box["x"]), round(box["y"]), round(box["x"] + box["width"]), round(box["y"] + box["height"]))
        pixels = np.asarray(image.convert("RGB").crop(crop)).reshape(-1, 3).astype(int)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    # Not blank: the page background dominates, but points, labels, rings and the tooltip are drawn on it.
    assert tuple(colours[counts.argmax()]) == rgb(PAGE_BACKGROUND)
    assert len(colours) > 100
    assert counts.max() < 0.99 * len(pixels)
    # Every category's points appear in the colour map.png gives that category (the playing
    # track's point is redrawn opaque, the others let a little background through).
    expected = category_colours(entry[2] for entry in COLLECTION)
    for category, colour in expected.items():
        members = sum(1 for entry in COLLECTION if entry[2] == category)
        near = np.zeros(len(pixels), dtype=bool)
        for alpha in (POINT_ALPHA, 1.0):
            near |= np.abs(pixels - on_background(colour, alpha)).max(axis=1) <= 3
        # A point of radius 6.5 px covers about 130 px; allow for its anti-aliased rim and what lies on it.
        assert near.sum() >= 60 * members, (category, colour, int(near.sum()))
