"""``songmap.show``: the map page inline in a notebook, its audio, and selections read back in Python.

The browser tests put the view's HTML output in a page of its own, as a notebook shows it, and
drive the page inside the iframe; the widget's front end (its ESM) runs there too, against a
stand-in for the anywidget model, so the selection the page posts is seen arriving in the model.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from browsing import VIEWPORT, songmap_serve
from conftest import FAST, write_small_collection
from songmap.app.jobs import MissingExtraError, SongMapper, map_folder, show
from songmap.web.page_wire import unpack_page_tracks

WAIT_MS = 20_000


@pytest.fixture(scope="module")
def mapped(tmp_path_factory) -> Path:
    """A map of the small collection (default preset), its songs beside it: the map's folder."""
    root = tmp_path_factory.mktemp("show")
    songs = write_small_collection(root / "my songs")
    out = root / "my map"
    map_folder(songs, out, SongMapper(**FAST, n_jobs=1))
    return out


def media_src(page: str) -> str:
    return re.search(r"media-src ([^;]*);", page).group(1)


def test_show_renders_the_map_page_with_its_own_policy(mapped: Path) -> None:
    view = show(mapped)
    assert media_src(view.html) == "'self' file: blob:"
    assert "default-src 'none'" in view.html and view.selection == [] and view.selected.empty
    shown = view._repr_html_()
    # Files by relative paths: Chromium plays file: audio only to a page with the notebook's origin.
    assert shown.startswith('<iframe sandbox="allow-scripts allow-downloads allow-same-origin"') and 'srcdoc="' in shown
    assert "<script" not in shown  # the page is in the attribute, escaped: nothing runs in the notebook itself


def test_serve_url_adds_only_its_origin_for_audio(mapped: Path) -> None:
    view = show(mapped, serve_url="http://127.0.0.1:8765/")
    assert media_src(view.html) == "'self' file: blob: http://127.0.0.1:8765"
    assert view.sandbox == "allow-scripts allow-downloads"  # an origin of its own: the page cannot reach the notebook
    data = json.loads(re.search(r'id="songmap-data"[^>]*>(.*?)</script>', view.html, re.S).group(1))
    assert [t["audio"] for t in unpack_page_tracks(data)] == [f"http://127.0.0.1:8765/audio/{i}" for i in range(8)]


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://host", "http://a b", "http://host;script-src *", "http://host/path"])
def test_a_bad_serve_url_is_one_clear_error(mapped: Path, url: str) -> None:
    with pytest.raises(ValueError, match="serve_url must be|not an http"):
        show(mapped, serve_url=url)


def test_show_errors(mapped: Path, tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(FileNotFoundError, match="songmap map INPUT_DIR"):
        show(tmp_path)
    with pytest.raises(ValueError, match="height"):
        show(mapped, height=10)
    monkeypatch.setitem(sys.modules, "anywidget", None)
    with pytest.raises(MissingExtraError, match=r"songmap.show needs anywidget: pip install 'songmap\[notebook\]'"):
        show(mapped)


# -- in the browser ----------------------------------------------------------------------------------


def notebook_page(browser, folder: Path, body: str):
    """A page holding ``body`` as a notebook's output, opened from ``folder/notebook.html``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "notebook.html"
    path.write_text(f"<!doctype html><html><body>{body}</body></html>", encoding="utf-8")
    page = browser.new_context(viewport=VIEWPORT).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.errors = errors
    return page


def map_frame_of(page):
    """The map page inside the notebook page's iframe, once it is ready."""
    page.wait_for_selector("iframe", timeout=WAIT_MS)
    frame = page.query_selector("iframe").content_frame()
    frame.wait_for_selector("body[data-ready='1']", timeout=WAIT_MS)
    return frame


def wait_until_playing(frame, index: int) -> None:
    frame.wait_for_function(
        "i => window.songmap.current() === i && !document.getElementById('player').paused"
        " && document.getElementById('player').currentTime > 0.25",
        arg=index, timeout=WAIT_MS,
    )


@pytest.mark.browser
def test_the_html_output_is_the_interactive_map_and_posts_the_selection(browser, mapped: Path) -> None:
    listener = "<script>window.posted = []; addEventListener('message', e => posted.push(e.data));</script>"
    page = notebook_page(browser, mapped.parent / "notebooks", listener + show(mapped)._repr_html_())
    # (the page may announce its empty selection as it starts)
    try:
        frame = map_frame_of(page)
        assert frame.evaluate("window.songmap.points") == 8
        frame.evaluate("window.songmap.search('Boom')")
        assert frame.evaluate("window.songmap.visibleCount()") == 2
        frame.evaluate("window.songmap.search('')")
        frame.click("#select-view")
        page.wait_for_function("posted.some(p => p.indices.length > 0)", timeout=WAIT_MS)
        posted = page.evaluate("posted")
        assert posted[-1]["songmap"] == "selection" and sorted(posted[-1]["indices"]) == list(range(8))
        assert page.errors == []
    finally:
        page.context.close()


@pytest.mark.browser
def test_the_widget_reads_the_selection_back_into_python(browser, mapped: Path) -> None:
    view = show(mapped)
    page = notebook_page(browser, mapped.parent / "notebooks", "<div id='output'></div>")
    try:
        # The widget's own ESM, rendered as anywidget renders it, with a model that records what it is told.
        page.evaluate(
            """async ([esm, html, height, sandbox]) => {
                const values = { html, height, sandbox, selection: [] };
                window.saved = 0;
                window.model = { get: k => values[k], set: (k, v) => { values[k] = v; }, save_changes: () => { saved += 1; },
                                 values };
                const module = await import(URL.createObjectURL(new Blob([esm], { type: "text/javascript" })));
                module.default.render({ model, el: document.getElementById("output") });
            }""",
            [view._esm, view.html, view.height, view.sandbox],
        )
        frame = map_frame_of(page)
        frame.evaluate("window.songmap.search('Boom')")
        frame.click("#select-view")
        page.wait_for_function("model.values.selection.length > 0 && saved > 0", timeout=WAIT_MS)
        view.selection = page.evaluate("model.values.selection")
        assert sorted(view.selected["file"]) == ["effects/Boom 1.wav", "effects/Boom 2.wav"]
        assert list(view.selected.index) == view.selection  # the page's listening order, as row numbers
    finally:
        page.context.close()


@pytest.mark.browser
def test_audio_plays_relative_to_the_notebook(browser, mapped: Path) -> None:
    notebooks = mapped.parent / "notebooks"
    page = notebook_page(browser, notebooks, show(mapped, notebook_dir=notebooks)._repr_html_())
    try:
        frame = map_frame_of(page)
        frame.evaluate("window.songmap.play(2)")
        wait_until_playing(frame, 2)
        assert frame.evaluate("document.getElementById('player').currentSrc").startswith(notebooks.parent.as_uri())
    finally:
        page.context.close()


@pytest.mark.browser
def test_audio_plays_through_a_running_songmap_serve(browser, mapped: Path, tmp_path: Path) -> None:
    with songmap_serve(mapped) as url:
        page = notebook_page(browser, tmp_path / "elsewhere", show(mapped, serve_url=url)._repr_html_())
        try:
            frame = map_frame_of(page)
            frame.evaluate("window.songmap.play(3)")
            wait_until_playing(frame, 3)
            assert frame.evaluate("document.getElementById('player').currentSrc") == f"{url}audio/3"
        finally:
            page.context.close()
