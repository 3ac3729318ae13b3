"""Tests of the map page renderer, songmap.web.page (no browser needed; the server's are in test_serve.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from conftest import make_doc, track
from songmap.io import atomic as atomic_module
from songmap.report.documents import read_embeddings as load_embeddings
from songmap.report.palette import PALETTE, UNCATEGORISED_COLOUR, category_colours
from songmap.web import page_template
from songmap.web.page import local_audio_urls, render_map_page, write_map_page
from songmap.web.page_wire import embed_json, unpack_page_tracks

SCRIPT_BREAKER = "</script><script>alert(1)</script>"
ATTRIBUTE_BREAKER = '"onerror=alert(1) x="'
STATIC = resources.files("songmap.web").joinpath("static")


class ScriptCollector(HTMLParser):
    """Collects every <script> element with its attributes and raw text, every <style> text and <meta>."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self.styles: list[str] = []
        self.metas: list[dict] = []
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._open = tag
            self.scripts.append((dict(attrs), ""))
        elif tag == "style":
            self._open = tag
            self.styles.append("")
        elif tag == "meta":
            self.metas.append(dict(attrs))

    def handle_data(self, data):
        if self._open == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        elif self._open == "style":
            self.styles[-1] += data

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._open = None


def parse_page(html: str) -> ScriptCollector:
    collector = ScriptCollector()
    collector.feed(html)
    collector.close()
    return collector


# ---------------------------------------------------------------- rendering --


def test_embed_json_escapes_everything_that_could_end_a_script_block():
    value = {"title": SCRIPT_BREAKER + "<!-- & \u2028 \u2029"}
    text = embed_json(value)
    for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
        assert forbidden not in text
    assert json.loads(text) == value


@pytest.mark.parametrize(
    "title",
    [SCRIPT_BREAKER, ATTRIBUTE_BREAKER, "<!--<script>", "</SCRIPT >", "a & b", "<img src=x onerror=alert(1)>"],
)
def test_untrusted_title_stays_inside_the_json_block(tmp_path, title):
    doc = make_doc(tmp_path, [track("a.ogg", title=title), track(f"{title}.ogg", x=1.0, title="plain")])
    html = render_map_page(doc, ["a.ogg", "b.ogg"])

    parsed = parse_page(html)
    # Exactly the data and model blocks and the page's own script: nothing broke out.
    assert [attrs.get("type") for attrs, _ in parsed.scripts] == ["application/json", "application/json", None]
    data_attrs, data_text = parsed.scripts[0]
    assert data_attrs["id"] == "songmap-data"
    assert "<" not in data_text and ">" not in data_text
    tracks = unpack_page_tracks(json.loads(data_text))
    assert tracks[0]["title"] == title
    assert tracks[1]["file"] == f"{title}.ogg"
    assert parsed.scripts[1][0]["id"] == "songmap-model"
    assert all("alert(1)" not in text for _, text in parsed.scripts[1:])


def test_page_has_a_csp_that_forbids_external_loads(tmp_path):
    html = render_map_page(make_doc(tmp_path, [track("a.ogg")]), ["a.ogg"])
    csp = [meta["content"] for meta in parse_page(html).metas if meta.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1
    directives = dict(part.strip().split(" ", 1) for part in csp[0].split(";"))
    assert directives["default-src"] == "'none'"
    assert "'unsafe-inline'" not in csp[0] and "http" not in csp[0]
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/=]+'", directives["script-src"])
    # Self-contained: no external script, style sheet, font or image.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html


def csp_directives(html: str) -> dict[str, str]:
    [csp] = [meta["content"] for meta in parse_page(html).metas if meta.get("http-equiv") == "Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in csp.split(";"))


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def test_page_inlines_map_js_and_map_css_and_the_csp_allows_exactly_them(tmp_path):
    html = render_map_page(make_doc(tmp_path, [track("a.ogg")]), ["a.ogg"])
    parsed = parse_page(html)
    [script] = [text for attrs, text in parsed.scripts if attrs.get("type") is None]
    [style] = parsed.styles
    assert script.strip() == STATIC.joinpath("map.js").read_text(encoding="utf-8").strip()
    assert style.strip() == STATIC.joinpath("map.css").read_text(encoding="utf-8").strip()
    # The browser runs an inline script or style only if its exact text hashes to the policy's value.
    directives = csp_directives(html)
    assert directives["script-src"] == sha256_source(script)
    assert directives["style-src"] == sha256_source(style)
    assert "__SONGMAP_" not in html


def test_page_data_carries_the_palette_of_map_png(tmp_path):
    names = [f"category {i:02d}" for i in range(12)] + ["__proto__", "Éclair"]
    tracks = [track(f"{i}.ogg", x=i, category=name) for i, name in enumerate(names)]
    tracks.append(track("none.ogg", category=None))
    data_text = parse_page(render_map_page(make_doc(tmp_path, tracks), ["u"] * len(tracks))).scripts[0][1]
    data = json.loads(data_text)
    expected = category_colours([*names, None])
    assert data["uncategorisedColour"] == expected.pop(None) == UNCATEGORISED_COLOUR
    assert data["categoryColours"] == expected


def test_page_script_has_no_palette_of_its_own():
    script = STATIC.joinpath("map.js").read_text(encoding="utf-8").lower()
    for colour in (*PALETTE, UNCATEGORISED_COLOUR):
        assert colour.lower() not in script
    assert "hsl(" not in script and "rgb(" not in script


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("static/map.js", "const s = '</SCRIPT>';"),
        ("static/map.js", "const s = '<script>';"),
        ("static/map.js", "// <!-- a comment"),
        ("static/map.js", "const s = '__SONGMAP_DATA__';"),
        ("static/map.css", "a { color: red } </style>"),
    ],
)
def test_inlined_source_that_could_leave_its_element_is_refused(monkeypatch, name, text):
    real = page_template._static_text
    monkeypatch.setattr(page_template, "_static_text", lambda path: text if path == name else real(path))
    with pytest.raises(RuntimeError, match="must not contain"):
        page_template._template_with_csp.__wrapped__()


def test_page_data_normalises_missing_fields(tmp_path):
    doc = make_doc(
        tmp_path,
        [
            {"file": "dir/No Title.mp3", "x": 1, "y": 2},
            {"file": "b.ogg", "title": "B", "category": None, "duration_s": None, "x": 0.123456789, "y": -5},
        ],
    )
    data_text = parse_page(render_map_page(doc, ["u0", "u1"])).scripts[0][1]
    first, second = unpack_page_tracks(json.loads(data_text))
    assert first["title"] == "No Title"
    assert first["category"] is None and first["duration"] is None
    assert second["category"] is None
    assert second["x"] == pytest.approx(0.1234568)
    assert [first["audio"], second["audio"]] == ["u0", "u1"]


def test_render_rejects_mismatched_audio_urls(tmp_path):
    with pytest.raises(ValueError, match="2 audio URLs for 1 tracks"):
        render_map_page(make_doc(tmp_path, [track("a.ogg")]), ["a", "b"])


@pytest.mark.parametrize(
    ("bad_track", "message"),
    [
        ({"file": "a.ogg", "x": float("nan"), "y": 0}, r"tracks\[0\]\.x must be a finite number"),
        ({"file": "a.ogg", "x": 0}, r"tracks\[0\]\.y must be a finite number"),
        ({"file": "", "x": 0, "y": 0}, r"tracks\[0\]\.file must be a non-empty string"),
        ("a.ogg", r"tracks\[0\] must be an object"),
    ],
)
def test_render_rejects_invalid_tracks(tmp_path, bad_track, message):
    with pytest.raises(ValueError, match=message):
        render_map_page(make_doc(tmp_path, [bad_track]), ["a"])


# ------------------------------------------------------------------ URLs --


ODD_NAMES = [
    "plain.ogg",
    "sub dir/with space.ogg",
    "hash #1 and query ?.mp3",
    "ünïcödé/日本語 曲.flac",
    "100% <img src=x onerror=alert(1)>.wav",
    "a:b.wav",
]


def test_local_audio_urls_are_quoted_relative_paths(tmp_path):
    input_dir = tmp_path / "my music"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for name in ODD_NAMES:
        (input_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (input_dir / name).write_bytes(b"x")
    doc = make_doc(input_dir, [track(name) for name in ODD_NAMES])

    urls = local_audio_urls(doc, out_dir)

    assert urls[0] == "../my%20music/plain.ogg"
    assert urls[1] == "../my%20music/sub%20dir/with%20space.ogg"
    assert urls[2] == "../my%20music/hash%20%231%20and%20query%20%3F.mp3"
    page_url = (out_dir / "map.html").as_uri()
    for name, url in zip(ODD_NAMES, urls):
        assert re.fullmatch(r"[A-Za-z0-9_.~/%-]+", url), url
        # What the browser does: resolve against the page URL, then decode.
        resolved = urllib.parse.urlsplit(urllib.parse.urljoin(page_url, url))
        assert resolved.scheme == "file" and not resolved.query and not resolved.fragment
        assert Path(urllib.request.url2pathname(resolved.path)) == input_dir / name


def test_relative_input_dir_is_taken_relative_to_the_output_folder(tmp_path):
    doc = make_doc(Path("../in"), [track("a b.ogg")])
    assert local_audio_urls(doc, tmp_path / "out") == ["../in/a%20b.ogg"]


# ---------------------------------------------------------------- writing --


def test_write_map_page_reads_embeddings_and_writes_the_page(out_dir):
    path = write_map_page(out_dir)
    assert path == out_dir / "map.html"
    html = path.read_text(encoding="utf-8")
    assert [t["audio"] for t in unpack_page_tracks(json.loads(parse_page(html).scripts[0][1]))][0] == "../in/a.ogg"
    assert sorted(p.name for p in out_dir.iterdir()) == ["embeddings.json", "map.html"]


def test_write_map_page_uses_the_given_doc(out_dir, tmp_path):
    doc = make_doc(tmp_path / "elsewhere", [track("given.ogg")])
    html = write_map_page(out_dir, doc).read_text(encoding="utf-8")
    assert [t["audio"] for t in unpack_page_tracks(json.loads(parse_page(html).scripts[0][1]))] == ["../elsewhere/given.ogg"]


def test_write_map_page_replaces_atomically(out_dir, monkeypatch):
    (out_dir / "map.html").write_text("old page")
    replaced = []
    real_replace = os.replace

    def recording_replace(source, target):
        replaced.append((Path(source), Path(target)))
        assert Path(target).read_text() == "old page"  # untouched until the swap
        real_replace(source, target)

    monkeypatch.setattr(atomic_module.os, "replace", recording_replace)
    write_map_page(out_dir)

    [(source, target)] = replaced
    assert target == out_dir / "map.html"
    assert source.parent == out_dir and source.name.startswith(".map.html.")
    assert "songmap-data" in target.read_text()
    assert sorted(p.name for p in out_dir.iterdir()) == ["embeddings.json", "map.html"]


def test_failed_write_keeps_the_old_page_and_leaves_no_temp_file(out_dir, monkeypatch):
    (out_dir / "map.html").write_text("old page")

    def failing_replace(source, target):
        raise OSError("disk on fire")

    monkeypatch.setattr(atomic_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_map_page(out_dir)
    assert (out_dir / "map.html").read_text() == "old page"
    assert sorted(p.name for p in out_dir.iterdir()) == ["embeddings.json", "map.html"]


def test_missing_embeddings_gives_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        write_map_page(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert "embeddings.json not found" in message and "songmap map" in message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"is not valid JSON: .*line 1, column 2"),
        ("[]", "expected a JSON object"),
        ('{"input_dir": "/x"}', "'tracks' must be a list"),
        ('{"tracks": []}', "'input_dir' must be a non-empty string"),
    ],
)
def test_invalid_embeddings_gives_a_clear_error(tmp_path, content, message):
    (tmp_path / "embeddings.json").write_text(content)
    with pytest.raises(ValueError, match=message) as caught:
        load_embeddings(tmp_path)
    assert "\n" not in str(caught.value)

