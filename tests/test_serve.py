"""Tests of the local server, ``songmap serve`` (songmap.web.serve): Range parsing and HTTP requests."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from browsing import free_port
from conftest import make_doc, track
from songmap.io.discovery import AUDIO_CONTENT_TYPES
from songmap.web.page_wire import unpack_page_tracks
from songmap.web.serve import RangeNotSatisfiable, make_server, parse_range_header


class DataBlock(HTMLParser):
    """The text of the page's JSON data block (``<script id="songmap-data">``)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: str | None = None
        self._inside = False

    def handle_starttag(self, tag, attrs):
        self._inside = tag == "script" and dict(attrs).get("id") == "songmap-data"
        if self._inside:
            self.text = ""

    def handle_data(self, data):
        if self._inside:
            self.text += data

    def handle_endtag(self, tag):
        self._inside = False


def page_data(html: str) -> dict:
    parser = DataBlock()
    parser.feed(html)
    parser.close()
    assert parser.text is not None, "the page has no data block"
    data = json.loads(parser.text)
    return {**data, "tracks": unpack_page_tracks(data)}


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
    # Once served as octet-stream: serve.py had an audio list of its own that lacked them.
    "j.wave": "audio/wav",
    "k.AIFC": "audio/aiff",
    "l.wma": "audio/x-ms-wma",
}


@contextlib.contextmanager
def serving(out_dir: Path):
    """`make_server` on a free port in a thread; yields the port."""
    server = make_server(out_dir, port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


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

    with serving(out_dir) as port:
        yield {"port": port, "contents": contents, "names": names, "out_dir": out_dir}


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
    urls = [t["audio"] for t in page_data(body.decode())["tracks"]]
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


def test_every_audio_extension_is_served_as_audio(tmp_path):
    """Every name that marks a file as audio (the one list, songmap.io.discovery) is served as audio/*."""
    assert {".wave", ".aifc", ".wma"} <= AUDIO_CONTENT_TYPES.keys()
    input_dir, out_dir = tmp_path / "in", tmp_path / "out"
    input_dir.mkdir()
    out_dir.mkdir()
    extensions = sorted(AUDIO_CONTENT_TYPES)
    names = [f"song{ext}" for ext in extensions] + [f"LOUD{ext.upper()}" for ext in extensions]
    for name in names:
        (input_dir / name).write_bytes(b"\0" * 64)
    doc = make_doc(input_dir, [track(name, x=i) for i, name in enumerate(names)])
    (out_dir / "embeddings.json").write_text(json.dumps(doc))
    with serving(out_dir) as port:
        for index, name in enumerate(names):
            status, headers, _ = request({"port": port}, f"/audio/{index}")
            assert status == 200, name
            assert headers["Content-Type"].startswith("audio/"), name
            assert headers["Content-Type"] == AUDIO_CONTENT_TYPES[Path(name).suffix.lower()]


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


def test_a_link_swapped_to_outside_while_serving_is_404(tmp_path):
    # The check is made on the file opened, so a link that was fine on the first request is
    # checked again on the next.
    input_dir, out_dir, outside = tmp_path / "in", tmp_path / "out", tmp_path / "outside"
    for directory in (input_dir, out_dir, outside):
        directory.mkdir()
    (input_dir / "song.wav").write_bytes(b"inside")
    (outside / "secret.wav").write_bytes(b"secret")
    (input_dir / "link.wav").symlink_to(input_dir / "song.wav")
    (input_dir / "folder.wav").mkdir()
    os.mkfifo(input_dir / "pipe.wav")  # opening a FIFO to read waits for a writer: it must not hang a handler
    doc = make_doc(input_dir, [track("link.wav", x=0, y=0), track("folder.wav", x=1, y=1), track("pipe.wav", x=2, y=2)])
    (out_dir / "embeddings.json").write_text(json.dumps(doc))
    with serving(out_dir) as port:
        served = {"port": port}
        assert request(served, "/audio/0")[0:3:2] == (200, b"inside")
        (input_dir / "link.wav").unlink()
        (input_dir / "link.wav").symlink_to(outside / "secret.wav")
        status, _, body = request(served, "/audio/0")
        assert (status, b"secret" in body) == (404, False)
        assert request(served, "/audio/1")[0] == 404  # a folder is not a track's file
        assert request(served, "/audio/2")[0] == 404  # nor is a FIFO


@pytest.mark.parametrize("range_header", [None, "bytes=100-", "bytes=70000-70009"])
def test_files_beyond_the_small_body_limit_are_sent_whole_and_by_range(tmp_path, range_header):
    # Small bodies go out with the head, larger ones by sendfile: both must give the same bytes.
    input_dir, out_dir = tmp_path / "in", tmp_path / "out"
    input_dir.mkdir()
    out_dir.mkdir()
    data = bytes(range(256)) * 1024  # 256 KiB
    (input_dir / "long.flac").write_bytes(data)
    (out_dir / "embeddings.json").write_text(json.dumps(make_doc(input_dir, [track("long.flac", x=0, y=0)])))
    with serving(out_dir) as port:
        status, headers, body = request({"port": port}, "/audio/0",
                                        headers={"Range": range_header} if range_header else None)
    first, last = (0, len(data) - 1) if range_header is None else (
        (100, len(data) - 1) if range_header == "bytes=100-" else (70000, 70009))
    assert status == (200 if range_header is None else 206)
    assert body == data[first:last + 1]
    assert headers["Content-Length"] == str(last - first + 1)


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


# -- limits: many clients, non-HTTP bytes, huge headers ------------------------------------------------


def test_the_listen_backlog_holds_a_burst_of_a_hundred_connections(out_dir):
    """Before the server accepts any of them, 120 connections all complete their handshake."""
    server = make_server(out_dir, port=0)  # listening, not yet accepting
    port = server.server_address[1]
    clients = []
    try:
        for _ in range(120):
            client = socket.create_connection(("127.0.0.1", port), timeout=2)  # times out once the queue is full
            clients.append(client)
        assert len(clients) == 120
    finally:
        for client in clients:
            client.close()
        server.server_close()


def test_bytes_that_are_not_http_get_400_and_the_connection_closed_at_once(site):
    hello = bytes.fromhex("16030100a5010000a10303") + bytes(32)  # the start of a TLS ClientHello
    with socket.create_connection(("127.0.0.1", site["port"]), timeout=5) as client:
        client.sendall(hello)
        started = time.monotonic()
        answer = b""
        while chunk := client.recv(4096):  # ends when the server closes
            answer += chunk
        assert time.monotonic() - started < 2  # not the 60 s idle timeout
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert request(site, "/embeddings.json")[0] == 200  # and the server still answers


def test_headers_over_their_limit_get_431(site):
    status, _, _ = request(site, "/embeddings.json", headers={f"X-Filler-{i}": "x" * 8000 for i in range(10)})
    assert status == 431
    assert request(site, "/embeddings.json", headers={"X-Filler": "x" * 8000})[0] == 200


def test_connections_over_the_cap_get_503_and_the_server_recovers(out_dir, monkeypatch):
    import songmap.web.serve as serve_module

    monkeypatch.setattr(serve_module, "MAX_CONNECTIONS", 3)
    with serving(out_dir) as port:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]  # each holds a slot
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
            extra.sendall(b"GET /embeddings.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert extra.recv(4096).startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        for client in idle:
            client.close()
        time.sleep(0.3)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/embeddings.json")
        assert connection.getresponse().status == 200
        connection.close()


def test_a_hundred_concurrent_clients_and_fifty_idle_connections_are_all_answered(site):
    idle = [socket.create_connection(("127.0.0.1", site["port"]), timeout=10) for _ in range(50)]
    answers: list[int] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", site["port"], timeout=30)
        for j in range(5):
            connection.request("GET", f"/audio/{(k + j) % 4}", headers={"Range": "bytes=10-99"} if j % 2 else {})
            response = connection.getresponse()
            response.read()
            with lock:
                answers.append(response.status)
        connection.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for connection in idle:
        connection.close()
    assert sorted(set(answers)) == [200, 206] and len(answers) == 500
