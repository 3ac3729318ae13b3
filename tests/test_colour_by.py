"""Colour by anything: the groups of every colour key, the page's "Colour by" list, its legend and
points, search by artist and album, the hover card, and covers on a served page (Chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from browsing import PageSession, pixel, rgb, songmap_serve
from conftest import make_doc, tone, write_audio
from songmap.report.colouring import colouring, colourings, default_colour_key
from songmap.web.page import render_map_page, write_map_page
from songmap.web.page_wire import unpack_colourings

ARTISTS = ["Jens Erler", "AC/DC", "Kristian Picon"]
POINT_ALPHA = 0.95


def library_tracks() -> list[dict]:
    """Twelve tracks of three artists (one without artist), albums, genres, years, durations and trust, on a circle."""
    tracks = []
    for i in range(12):
        artist = ARTISTS[i % 3] if i != 11 else None
        angle = 2 * np.pi * i / 12
        tracks.append({
            "file": f"{i:02d}.wav", "title": f"Song {i}", "category": None, "duration_s": 30.0 + 20 * i,
            "x": float(3 * np.cos(angle)), "y": float(3 * np.sin(angle)),
            "artist": artist, "album": f"Album {i % 2}" if artist else None,
            "genre": [["Soundtrack"], ["Rock", "Pop"], []][i % 3], "year": 1975 + 3 * i if i % 4 and i != 11 else None,
            "track_number": i + 1, "trustworthiness": round(0.5 + i / 25, 4),
            "cluster": i % 2, "cluster_name": f"cluster {i % 2}",
        })
    return tracks


def test_colourings_group_tracks_by_every_key():
    tracks = library_tracks()
    found = colourings(tracks)
    assert list(found) == ["category", "genre", "artist", "album", "decade", "cluster", "duration", "trust"]
    assert found["category"].names == [] and set(found["category"].codes) == {-1}
    artist = found["artist"]
    assert artist.names == sorted(ARTISTS)
    assert [artist.names[c] if c >= 0 else None for c in artist.codes] == [t["artist"] for t in tracks]
    assert found["genre"].names == ["Rock", "Soundtrack"]  # a track's first genre colours it
    assert found["decade"].names == ["1970s", "1980s", "1990s", "2000s"]
    # Bins of a continuous value run from low to high, in equal counts.
    duration = found["duration"]
    assert duration.codes == sorted(duration.codes) and len(duration.names) == 6
    assert np.bincount(duration.codes).tolist() == [2] * 6
    assert duration.names[0].startswith("0:30–") and duration.names[-1].endswith("–4:10")  # 30 s to 250 s
    assert len(set(duration.colours)) == 6
    # Without categories, the map is coloured by its genres; with two categories, by those.
    assert default_colour_key(found) == "genre"
    categorised = [{**t, "category": "loop" if i % 2 else "effect"} for i, t in enumerate(tracks)]
    assert default_colour_key(colourings(categorised)) == "category"
    assert colouring([{"year": 2001}], "artist") is None
    with pytest.raises(ValueError, match="cannot colour by 'mood'"):
        colouring(tracks, "mood")


def test_page_data_carries_the_groups_and_the_map_s_choice(tmp_path):
    tracks = library_tracks()
    doc = make_doc(tmp_path / "songs", tracks)
    html = render_map_page(doc, [t["file"] for t in tracks])
    data = json.loads(re.search(r'id="songmap-data">(.*?)</script>', html, re.S).group(1))
    assert data["colourBy"] == "genre"
    groups = unpack_colourings(data)
    for key, c in colourings(tracks).items():
        assert groups[key] == [c.names[k] if k >= 0 else None for k in c.codes], key
    assert "coverPrefix" not in data  # a page opened from disk never asks for covers
    chosen = json.loads(re.search(r'id="songmap-data">(.*?)</script>', render_map_page({**doc, "colour_by": "decade"},
                        [t["file"] for t in tracks]), re.S).group(1))
    assert chosen["colourBy"] == "decade"


@pytest.fixture(scope="module")
def library_page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("colour-by")
    return write_map_page(out, make_doc(out / "songs", library_tracks()))


@pytest.mark.browser
def test_colour_by_regroups_the_legend_and_repaints_the_points(browser, library_page):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        session = PageSession(context.new_page())
        session.open(library_page.as_uri())
        page = session.page
        options = page.eval_on_selector_all("#colour-by option", "os => os.map(o => o.value)")
        assert options == ["category", "genre", "artist", "album", "decade", "cluster", "duration", "trust"]
        assert page.input_value("#colour-by") == "genre"

        page.select_option("#colour-by", "artist")
        assert page.text_content("#legend-heading") == "Artist"
        legend = page.eval_on_selector_all(".legend .legend-btn[data-category]", "bs => bs.map(b => b.dataset.category)")
        assert legend == [*sorted(ARTISTS), "no artist"]
        expected = colouring(library_tracks(), "artist")
        for index in (0, 1, 2, 11):
            centre = session.position(index)
            rgba = pixel(page, centre["x"], centre["y"])
            name, colour = expected.group_of(index)
            assert np.abs(np.array(rgba[:3]) - rgb(colour)).max() <= 2, (index, name, rgba)

        # The legend filters by the chosen key: hiding one artist hides exactly their tracks.
        page.click(".legend-btn[data-category='AC/DC']")
        assert page.evaluate("window.songmap.visibleCount()") == 12 - 4
        page.select_option("#colour-by", "duration")
        assert page.evaluate("window.songmap.visibleCount()") == 12  # a new colouring shows every group
        bins = page.eval_on_selector_all(".legend .legend-btn[data-category]", "bs => bs.map(b => b.dataset.category)")
        assert bins == colouring(library_tracks(), "duration").names
        # Every key groups the tracks on the page as in Python (groups derived by map.js included).
        for key, c in colourings(library_tracks()).items():
            page.evaluate("key => window.songmap.colourBy(key)", key)
            shown = [(g["label"], g["count"]) for g in page.evaluate("window.songmap.categories()")]
            counts = np.bincount([k for k in c.codes if k >= 0], minlength=len(c.names))
            wanted = [(name, int(n)) for name, n in zip(c.names, counts) if n] + (
                [(c.none_label, c.codes.count(-1))] if -1 in c.codes else [])
            assert shown == wanted, key
        assert session.errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_search_matches_artist_and_album_and_the_card_shows_them(browser, library_page):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        session = PageSession(context.new_page())
        session.open(library_page.as_uri())
        page = session.page
        assert page.evaluate("window.songmap.search('ac/dc')") == 4
        assert page.evaluate("window.songmap.search('album 1')") == 6 - 1  # track 11 has no album
        assert page.evaluate("window.songmap.search('song 1')") == 3       # titles still match: 1, 10, 11
        page.evaluate("window.songmap.search('')")
        session.hover(5)
        assert session.tooltip_title() == "Song 5"
        assert page.text_content("#tooltip .tt-details") == "Kristian Picon · Album 1 · 1990"
        session.hover(4)
        assert page.text_content("#tooltip .tt-details") == "AC/DC · Album 0"  # no year
        session.hover(11)
        assert page.is_hidden("#tooltip .tt-details")  # no artist, album or year: no line
        assert session.errors == []
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is needed to embed a cover")
def test_served_page_shows_the_embedded_cover_lazily(browser, tmp_path):
    songs = tmp_path / "songs"
    wav = write_audio(tmp_path / "src" / "tone.wav", tone(330, 1.0), 22050)
    png = tmp_path / "cover.png"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1", str(png)], check=True)
    songs.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-i", str(png), "-map", "0", "-map", "1", "-c:a", "libmp3lame",
                    "-c:v", "copy", "-disposition:v", "attached_pic", "-metadata", "artist=Picon", str(songs / "with cover.mp3")],
                   check=True)
    shutil.copy(wav, songs / "plain.wav")
    out = tmp_path / "out"
    out.mkdir()
    tracks = [{"file": "with cover.mp3", "title": "Covered", "x": 0.0, "y": 0.0, "artist": "Picon"},
              {"file": "plain.wav", "title": "Plain", "x": 1.0, "y": 1.0}]
    (out / "embeddings.json").write_text(json.dumps(make_doc(songs, tracks)), encoding="utf-8")
    with songmap_serve(out) as url:
        with urllib.request.urlopen(f"{url}/cover/0") as response:
            assert response.headers["Content-Type"] == "image/png" and response.read() == png.read_bytes()
        with urllib.request.urlopen(f"{url}/cover/1") as response:
            assert response.status == 204 and response.read() == b""  # no cover is no error
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{url}/cover/2")
        assert missing.value.code == 404
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            session = PageSession(context.new_page())
            requested = []
            session.page.on("request", lambda request: "/cover/" in request.url and requested.append(request.url))
            session.open(url)
            assert requested == []  # nothing is fetched until a card needs it
            session.hover(0)
            session.page.wait_for_selector("#tooltip .tt-cover:not([hidden])", timeout=5_000)
            assert session.page.evaluate("document.querySelector('#tooltip .tt-cover').naturalWidth") == 16
            session.hover(1)
            session.page.wait_for_timeout(300)
            assert session.page.is_hidden("#tooltip .tt-cover")
            assert [u.rsplit("/", 2)[-2:] for u in requested] == [["cover", "0"], ["cover", "1"]]
            assert session.errors == []  # a track without a cover logs nothing
        finally:
            context.close()
