"""Tests of the map page renderer and the local server (no browser needed)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from songmap.io import atomic as atomic_module
from songmap.report.documents import read_embeddings as load_embeddings
from songmap.web.page import embed_json, local_audio_urls, render_map_page, write_map_page
from songmap.web.serve import RangeNotSatisfiable, make_server, parse_range_header

SCRIPT_BREAKER = "</script><script>alert(1)</script>"
ATTRIBUTE_BREAKER = '"onerror=alert(1) x="'


def make_doc(input_dir: Path, tracks: list[dict]) -> dict:
    """An embeddings document in the format `songmap map` writes."""
    return {
        "songmap_version": "0.1.0",
        "created": "2026-11-25T10:00:00+00:00",
        "input_dir": str(input_dir),
        "params": {"sample_rate": 22050, "n_mels": 128},
        "tracks": tracks,
        "skipped": [],
    }


def track(file: str, x: float = 0.0, y: float = 0.0, **extra) -> dict:
    entry = {"file": file, "title": Path(file).stem, "category": "demo", "duration_s": 61.4, "x": x, "y": y}
    entry.update(extra)
    return entry


class ScriptCollector(HTMLParser):
    """Collects every <script> element with its attributes and raw text."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self.metas: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._open = dict(attrs)
            self.scripts.append((self._open, ""))
        elif tag == "meta":
            self.metas.append(dict(attrs))

    def handle_data(self, data):
        if self._open is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
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
    # Exactly the data block and the page's own script: nothing broke out.
    assert [attrs.get("type") for attrs, _ in parsed.scripts] == ["application/json", None]
    data_attrs, data_text = parsed.scripts[0]
    assert data_attrs["id"] == "songmap-data"
    assert "<" not in data_text and ">" not in data_text
    data = json.loads(data_text)
    assert data["tracks"][0]["title"] == title
    assert data["tracks"][1]["file"] == f"{title}.ogg"
    assert "alert(1)" not in parsed.scripts[1][1]


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


def test_page_data_normalises_missing_fields(tmp_path):
    doc = make_doc(
        tmp_path,
        [
            {"file": "dir/No Title.mp3", "x": 1, "y": 2},
            {"file": "b.ogg", "title": "B", "category": None, "duration_s": None, "x": 0.123456789, "y": -5},
        ],
    )
    data_text = parse_page(render_map_page(doc, ["u0", "u1"])).scripts[0][1]
    first, second = json.loads(data_text)["tracks"]
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


@pytest.fixture
def out_dir(tmp_path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "embeddings.json").write_text(json.dumps(make_doc(tmp_path / "in", [track("a.ogg")])))
    return out


def test_write_map_page_reads_embeddings_and_writes_the_page(out_dir):
    path = write_map_page(out_dir)
    assert path == out_dir / "map.html"
    html = path.read_text(encoding="utf-8")
    assert "../in/a.ogg" in html
    assert sorted(p.name for p in out_dir.iterdir()) == ["embeddings.json", "map.html"]


def test_write_map_page_uses_the_given_doc(out_dir, tmp_path):
    doc = make_doc(tmp_path / "elsewhere", [track("given.ogg")])
    html = write_map_page(out_dir, doc).read_text(encoding="utf-8")
    assert "../elsewhere/given.ogg" in html


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


# ------------------------------------------------------------ range parsing --


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-1000", (0, 99)),
        ("bytes=50-5000", (50, 99)),
        ("BYTES = 1-2", (1, 2)),
        ("bytes=5-1", None),  # malformed: ignored
        ("bytes=0-1,5-6", None),  # several ranges: whole file
        ("items=0-1", None),
        ("bytes=abc", None),
        ("bytes=-", None),
        ("bytes=\u00b2-", None),  # a Unicode digit is not a digit here
    ],
)
def test_parse_range_header(header, expected):
    assert parse_range_header(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_parse_range_header_unsatisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range_header(header, 100)


# ------------------------------------------------------------------ server --

AUDIO_FILES = {
    "a.wav": "audio/wav",
    "sub dir/b #1?.ogg": "audio/ogg",
    "c.MP3": "audio/mpeg",
    "d.flac": "audio/flac",
    "e.m4a": "audio/mp4",
    "f.aiff": "audio/aiff",
    "g.opus": "audio/opus",
    "h.aac": "audio/aac",
    "i.xyz": "application/octet-stream",
}


@pytest.fixture
def site(tmp_path):
    """A served output folder: listed audio, an unlisted file, an escaping symlink."""
    input_dir = tmp_path / "in"
    out_dir = tmp_path / "out"
    outside = tmp_path / "outside"
    for directory in (input_dir / "sub dir", out_dir, outside):
        directory.mkdir(parents=True)
    contents = {}
    for index, name in enumerate(AUDIO_FILES):
        contents[name] = bytes((index * 7 + i) % 256 for i in range(1000 + index))
        (input_dir / name).write_bytes(contents[name])
    (input_dir / "unlisted.wav").write_bytes(b"not for you")
    (outside / "secret.wav").write_bytes(b"secret outside the input folder")
    (input_dir / "link.wav").symlink_to(outside / "secret.wav")
    names = list(AUDIO_FILES) + ["link.wav", "missing.wav", "../outside/secret.wav"]
    doc = make_doc(input_dir, [track(name, x=i, y=-i) for i, name in enumerate(names)])
    (out_dir / "embeddings.json").write_text(json.dumps(doc))

    server = make_server(out_dir, port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield {
            "port": server.server_address[1],
            "contents": contents,
            "names": names,
            "out_dir": out_dir,
        }
    finally:
        server.shutdown()
        server.server_close()


def request(site, path, method="GET", headers=None):
    """Send ``path`` exactly as given (http.client does not normalise it)."""
    connection = http.client.HTTPConnection("127.0.0.1", site["port"], timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/", "/map.html", "/?from=bookmark"])
def test_server_serves_the_page_with_server_audio_urls(site, path):
    status, headers, body = request(site, path)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    data_text = parse_page(body.decode()).scripts[0][1]
    urls = [t["audio"] for t in json.loads(data_text)["tracks"]]
    assert urls == [f"/audio/{i}" for i in range(len(site["names"]))]


def test_server_serves_embeddings(site):
    status, headers, body = request(site, "/embeddings.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == (site["out_dir"] / "embeddings.json").read_bytes()


@pytest.mark.parametrize(("index", "name"), list(enumerate(AUDIO_FILES)))
def test_server_serves_listed_audio_with_its_content_type(site, index, name):
    status, headers, body = request(site, f"/audio/{index}")
    assert status == 200
    assert body == site["contents"][name]
    assert headers["Content-Type"] == AUDIO_FILES[name]
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Length"] == str(len(body))


def test_head_sends_headers_only(site):
    status, headers, body = request(site, "/audio/0", method="HEAD")
    assert status == 200 and body == b""
    assert headers["Content-Length"] == str(len(site["contents"]["a.wav"]))


@pytest.mark.parametrize(
    ("range_header", "first", "last"),
    [("bytes=10-19", 10, 19), ("bytes=990-", 990, 999), ("bytes=-5", 995, 999), ("bytes=0-99999", 0, 999)],
)
def test_range_request_gets_206_with_the_right_bytes(site, range_header, first, last):
    data = site["contents"]["a.wav"]
    status, headers, body = request(site, "/audio/0", headers={"Range": range_header})
    assert status == 206
    assert body == data[first : last + 1]
    assert headers["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
    assert headers["Content-Length"] == str(last - first + 1)


def test_unsatisfiable_range_gets_416(site):
    size = len(site["contents"]["a.wav"])
    status, headers, body = request(site, "/audio/0", headers={"Range": f"bytes={size}-"})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{size}"
    assert body == b""


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/audio/..%2f..%2fetc%2fpasswd",
        "/audio/../../../etc/passwd",
        "/audio/0/../../etc/passwd",
        "/audio/%30",
        "/audio/-1",
        "/audio/1.0",
        "/audio/99999",
        "/audio/99999999999999999999",
        "/audio/",
        "/audio",
        "//etc/passwd",
        "/embeddings.json/../../etc/passwd",
        "/map.html%00",
        "/a.wav",
        "/unlisted.wav",
        "/in/a.wav",
        "/embeddings.json.bak",
        "http://127.0.0.1/etc/passwd",
    ],
)
def test_everything_else_is_404(site, path):
    status, _, body = request(site, path)
    assert status == 404
    assert b"root:" not in body


def test_symlink_out_of_the_input_folder_is_404(site):
    index = site["names"].index("link.wav")
    assert request(site, f"/audio/{index}")[0] == 404


def test_listed_path_escaping_the_input_folder_is_404(site):
    index = site["names"].index("../outside/secret.wav")
    assert request(site, f"/audio/{index}")[0] == 404


def test_listed_but_missing_file_is_404(site):
    index = site["names"].index("missing.wav")
    assert request(site, f"/audio/{index}")[0] == 404


def test_foreign_host_header_is_refused(site):
    # A DNS-rebinding page would arrive with its own name in Host.
    assert request(site, "/", headers={"Host": "evil.example:8000"})[0] == 403
    assert request(site, "/", headers={"Host": f"localhost:{site['port']}"})[0] == 200


def test_server_picks_up_a_rewritten_embeddings_file(site):
    path = site["out_dir"] / "embeddings.json"
    doc = json.loads(path.read_text())
    doc["tracks"] = doc["tracks"][:1]
    path.write_text(json.dumps(doc))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    _, _, body = request(site, "/embeddings.json")
    assert len(json.loads(body)["tracks"]) == 1
    assert request(site, "/audio/1")[0] == 404


def test_server_is_quiet(site, capfd):
    request(site, "/")
    request(site, "/nope")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_make_server_without_embeddings_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="embeddings.json not found"):
        make_server(tmp_path, port=0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_run_server_stops_cleanly_on_ctrl_c(out_dir):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "songmap", "serve", str(out_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first_line
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "stopped" in out


def test_server_keeps_serving_when_embeddings_becomes_invalid(site):
    path = site["out_dir"] / "embeddings.json"
    path.write_text("{broken")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    status, _, body = request(site, "/audio/0")
    assert status == 200 and body == site["contents"]["a.wav"]
