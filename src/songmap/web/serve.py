"""A small local web server for a songmap output folder (``songmap serve``).

It serves exactly these resources and nothing else:

* ``/`` and ``/map.html``: the map page, rendered with audio URLs
  ``/audio/<index>`` so audio comes from this server;
* ``/embeddings.json``: the embeddings document;
* ``/audio/<index>``: the file of ``tracks[index]``, with HTTP Range support
  so that seeking works in browsers;
* ``/cover/<index>``: the picture embedded in that file's tags (204 without one),
  read when the page first asks for it.

Limits, so that a busy or hostile client cannot stall the others:

* the listen backlog is :data:`LISTEN_BACKLOG` (128) connections, so a burst of 100
  browsers' connections waits in the kernel rather than being refused or SYN-cookied;
* at most :data:`MAX_CONNECTIONS` (256) connections are served at once; one more is
  answered 503 and closed;
* a connection whose first byte cannot begin an HTTP request (a TLS ClientHello sent to
  the plain port, binary noise) is answered 400 and closed at once, not held until the
  idle timeout;
* the request line and each header line are at most 65 536 bytes (414 and 431, the
  standard library's limits), at most 100 header lines, and at most
  :data:`MAX_HEADER_BYTES` (64 KiB) of headers in all (431);
* a connection idle for 60 s is closed.

Every other path is 404. Paths are matched on the raw request target without
any decoding, so no percent-encoded or ``..`` variant can name another file,
and a track whose real path (after symlinks) lies outside ``input_dir`` is
refused as well. On a loopback address, requests whose Host header names
another host get 403 (a defence against DNS rebinding).

Over 400 lines because the HTTP details that keep the server safe and players happy (ranges,
conditional requests, path checks, loopback binding) belong together with the handler.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import os
import queue
import re
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from stat import S_ISREG
from typing import Any

from songmap.io.discovery import AUDIO_CONTENT_TYPES
from songmap.io.tags import read_cover
from songmap.report.documents import EMBEDDINGS_FILENAME, read_embeddings
from songmap.web.page import render_map_page, resolve_input_dir
from songmap.web.placing import page_model_for

__all__ = [
    "LISTEN_BACKLOG",
    "MAX_CONNECTIONS",
    "MAX_HEADER_BYTES",
    "RangeNotSatisfiable",
    "parse_range_header",
    "make_server",
    "run_server",
    "server_url",
]

_FALLBACK_CONTENT_TYPE = "application/octet-stream"
_AUDIO_PATH_RE = re.compile(r"/audio/([0-9]{1,9})")
_COVER_PATH_RE = re.compile(r"/cover/([0-9]{1,9})")
_RANGE_SPEC_RE = re.compile(r"\s*([0-9]*)\s*-\s*([0-9]*)\s*")
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
#: Connections the kernel queues before songmap accepts them (http.server's default is 5).
LISTEN_BACKLOG = 128
#: Connections served at once (each holds a thread); more are answered 503.
MAX_CONNECTIONS = 256
#: Bytes of request headers, names and values together, a request may carry.
MAX_HEADER_BYTES = 64 * 1024
#: Bytes an HTTP request can begin with: a method's first letter (RFC 9110 methods are tokens; all
#: in use are upper-case letters).
_REQUEST_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: Audio bodies up to this size are read and sent with the head; larger ones go by sendfile.
_SMALL_BODY_BYTES = 64 * 1024


class RangeNotSatisfiable(ValueError):
    """A syntactically valid ``Range`` header that selects no byte of the file."""


def parse_range_header(value: str | None, size: int) -> tuple[int, int] | None:
    """Parse an HTTP ``Range`` header for a resource of ``size`` bytes.

    Parameters
    ----------
    value
        The header value, e.g. ``"bytes=0-499"``, ``"bytes=500-"`` or
        ``"bytes=-500"`` (the last 500 bytes); ``None`` when absent.
    size
        Length of the resource in bytes.

    Returns
    -------
    tuple of int or None
        Inclusive ``(first, last)`` byte positions, or ``None`` when the whole
        resource should be sent: no header, a unit other than bytes, a
        malformed header, or several ranges (allowed by RFC 9110, which lets a
        server ignore ``Range``).

    Raises
    ------
    RangeNotSatisfiable
        If the range starts at or beyond the end of the resource (answer 416).
    """
    if value is None:
        return None
    unit, separator, spec = value.strip().partition("=")
    if not separator or unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE_SPEC_RE.fullmatch(spec)
    if match is None:
        return None
    first_text, last_text = match.groups()
    if first_text == "":
        if last_text == "":
            return None
        suffix_length = int(last_text)
        if suffix_length == 0 or size == 0:
            raise RangeNotSatisfiable(f"bytes=-{suffix_length} of {size}")
        return max(0, size - suffix_length), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # malformed: RFC 9110 says to ignore it
    if first >= size:
        raise RangeNotSatisfiable(f"bytes={first}- of {size}")
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)


@dataclass(frozen=True)
class _Snapshot:
    """Everything served, built from one version of ``embeddings.json``."""

    doc: dict[str, Any]
    embeddings_bytes: bytes
    page_bytes: bytes
    input_root: str  # real path of input_dir
    track_paths: tuple[str, ...]  # input_root joined with each track's file, before resolving links

    @classmethod
    def load(cls, out_dir: Path) -> _Snapshot:
        doc = read_embeddings(out_dir)
        tracks = doc["tracks"]
        input_root = os.path.realpath(resolve_input_dir(doc, out_dir))
        return cls(
            doc=doc,
            embeddings_bytes=(out_dir / EMBEDDINGS_FILENAME).read_bytes(),
            page_bytes=render_map_page(doc, [f"/audio/{i}" for i in range(len(tracks))],
                                       page_model_for(out_dir), cover_prefix="/cover/").encode("utf-8"),
            input_root=input_root,
            track_paths=tuple(os.path.join(input_root, *track["file"].split("/")) for track in tracks),
        )

    def audio_path(self, index: int) -> str | None:
        """Real path of track ``index``'s file, or None if it must not be served."""
        if not 0 <= index < len(self.track_paths):
            return None
        # Resolved on every request, not once: realpath follows symlinks and "..", so a link (or a
        # crafted "file") pointing outside the input folder, even one changed while serving, ends up
        # outside input_root here.
        candidate = os.path.realpath(self.track_paths[index])
        if not self._inside(candidate) or not os.path.isfile(candidate):
            return None
        return candidate

    def open_track(self, index: int) -> tuple[Any, os.stat_result, str] | None:
        """Track ``index``'s file opened for reading, its stat and real path; None if it must not be
        served (as for :meth:`audio_path`)."""
        if not 0 <= index < len(self.track_paths):
            return None
        path = self.track_paths[index]
        try:
            # Non-blocking, so that opening a FIFO does not wait for a writer (and is then refused as
            # not a regular file); reads of a regular file are not changed by it.
            descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        try:
            # The kernel's name for what was opened (Linux): checked after opening, so nothing can
            # swap a link in between, and one system call where realpath makes one per folder.
            # Each call lets another of a hundred waiting handler threads take the interpreter
            # lock: a busy server spent half its time switching (benchmarks/bench_serve.py).
            real = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            real = os.path.realpath(path)
        stat = os.fstat(descriptor)
        if self._inside(real) and S_ISREG(stat.st_mode):
            return open(descriptor, "rb", buffering=0), stat, real
        os.close(descriptor)
        return None

    def _inside(self, real_path: str) -> bool:
        # Both are normalised real paths, so a prefix test is exact.
        return real_path.startswith(os.path.join(self.input_root, ""))


class _Site:
    """The served output folder; reloads when ``embeddings.json`` changes.

    Re-running ``songmap map`` while the server runs is picked up on the next
    request. Each request works on one :class:`_Snapshot`, swapped in with a
    single assignment, so it never sees half of an old and half of a new file.
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir)
        self._embeddings_path = os.fspath(self.out_dir / EMBEDDINGS_FILENAME)  # stat'ed on every request
        self._lock = threading.Lock()
        self._signature = self._stat_signature()
        self._snapshot = _Snapshot.load(self.out_dir)

    def _stat_signature(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self._embeddings_path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def current(self) -> _Snapshot:
        """The snapshot to serve, reloaded first if the file changed.

        A file that is now missing or invalid (e.g. being rewritten) keeps the
        previous snapshot in service.
        """
        signature = self._stat_signature()
        if signature != self._signature:
            with self._lock:
                if signature != self._signature:
                    # Remember the signature even on failure so a broken
                    # file is not re-parsed on every request; the next change
                    # of the file triggers the next attempt.
                    self._signature = signature
                    try:
                        self._snapshot = _Snapshot.load(self.out_dir)
                    except (OSError, ValueError):
                        pass
        return self._snapshot


class SongmapRequestHandler(BaseHTTPRequestHandler):
    """Answers GET and HEAD for the page, the embeddings and the listed audio files."""

    server: SongmapHTTPServer
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections give their thread back after this long.
    timeout = 60
    # Headers and body go out in separate writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK of the headers (40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "songmap"

    def handle(self) -> None:
        # Peek, not read: a connection that does not start like HTTP (a TLS hello) would otherwise
        # hold its thread until the idle timeout, waiting for a request line that never comes.
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if not first:
            return
        if first[0] not in _REQUEST_START:
            self.close_connection = True
            body = b"not an HTTP request\n"
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            return
        super().handle()

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    # -- routing ----------------------------------------------------------
    def _respond(self, send_body: bool) -> None:
        if sum(len(name) + len(value) for name, value in self.headers.items()) > MAX_HEADER_BYTES:
            self.close_connection = True
            self._send_text(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request headers too large\n", send_body)
            return
        if not self._host_allowed():
            self._send_text(HTTPStatus.FORBIDDEN, "unexpected Host header\n", send_body)
            return
        snapshot = self.server.site.current()
        # The raw target, deliberately not percent-decoded: only these exact
        # spellings name anything.
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path in ("/", "/map.html"):
            self._send_bytes(snapshot.page_bytes, "text/html; charset=utf-8", send_body, page=True)
        elif path == "/embeddings.json":
            self._send_bytes(snapshot.embeddings_bytes, "application/json", send_body)
        elif (match := _AUDIO_PATH_RE.fullmatch(path)) is not None:
            self._send_audio(snapshot.open_track(int(match.group(1))), send_body)
        elif (match := _COVER_PATH_RE.fullmatch(path)) is not None:
            self._send_cover(snapshot.audio_path(int(match.group(1))), send_body)
        else:
            self._send_text(HTTPStatus.NOT_FOUND, "not found\n", send_body)

    def _host_allowed(self) -> bool:
        """Refuse foreign Host names on a loopback server (DNS-rebinding defence).

        A web page on another site can make the browser resolve its own name
        to 127.0.0.1; the Host header then still carries that name.
        """
        if not self.server.loopback_only:
            return True
        host = self.headers.get("Host")
        if host is None:
            return True
        host = host.strip().lower()
        if host.startswith("["):
            name = host[1:].split("]", 1)[0]
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return name in self.server.allowed_host_names

    # -- responses --------------------------------------------------------
    def _common_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")

    def _send_text(self, status: HTTPStatus, text: str, send_body: bool) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self._common_headers()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._end_headers_with(body if send_body else b"")

    def _send_bytes(self, body: bytes, content_type: str, send_body: bool, page: bool = False) -> None:
        self.send_response(HTTPStatus.OK)
        self._common_headers()
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        if page:
            self.send_header("X-Frame-Options", "DENY")
        self._end_headers_with(body if send_body else b"")

    def _send_audio(self, opened: tuple[Any, os.stat_result, str] | None, send_body: bool) -> None:
        if opened is None:
            self._send_text(HTTPStatus.NOT_FOUND, "not found\n", send_body)
            return
        audio_file, stat, path = opened
        with audio_file:
            size = stat.st_size
            try:
                byte_range = parse_range_header(self.headers.get("Range"), size)
            except RangeNotSatisfiable:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self._common_headers()
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            first, last = byte_range if byte_range is not None else (0, size - 1)
            length = last - first + 1 if size else 0
            self.send_response(HTTPStatus.PARTIAL_CONTENT if byte_range is not None else HTTPStatus.OK)
            self._common_headers()
            content_type = AUDIO_CONTENT_TYPES.get(os.path.splitext(path)[1].lower(), _FALLBACK_CONTENT_TYPE)
            self.send_header("Content-Type", content_type)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(length))
            if byte_range is not None:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
            self.send_header("Cache-Control", "no-cache")
            if not send_body:
                self.end_headers()
            elif length <= _SMALL_BODY_BYTES:
                self._end_headers_with(os.pread(audio_file.fileno(), length, first))
            else:
                self.end_headers()
                self._copy_range(audio_file, first, length)

    def _end_headers_with(self, body: bytes) -> None:
        # Head and a small body in one write: a second write costs a system call and a packet, and
        # socket.sendfile's setup costs more than copying a few kilobytes (benchmarks/bench_serve.py).
        # http.server buffers the head in _headers_buffer until end_headers() flushes it (an
        # HTTP/0.9 answer has no head).
        if self.request_version == "HTTP/0.9":
            self.wfile.write(body)
            return
        self._headers_buffer += (b"\r\n", body)
        self.flush_headers()

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header, formatted once a second rather than on every request.
        if timestamp is not None:
            return super().date_time_string(timestamp)
        now = int(time.time())
        cached = self.server.date_header
        if cached[0] != now:
            cached = self.server.date_header = (now, super().date_time_string(now))
        return cached[1]

    def _send_cover(self, path: str | None, send_body: bool) -> None:
        if path is None:
            self._send_text(HTTPStatus.NOT_FOUND, "not found\n", send_body)
            return
        cover = read_cover(path)
        if cover is None:
            # 204, not 404: the page asks for every hovered track's cover, and a missing one is no error.
            self.send_response(HTTPStatus.NO_CONTENT)
            self._common_headers()
            self.end_headers()
            return
        self._send_bytes(cover[0], cover[1], send_body)

    def _copy_range(self, source: Any, first: int, length: int) -> None:
        # socket.sendfile: the kernel copies file to socket (os.sendfile) without the bytes passing
        # through Python, so a hundred clients' audio does not queue on the interpreter lock.
        sent = self.connection.sendfile(source, first, length)
        if sent < length:  # the file shrank under us; the client sees a short body
            self.close_connection = True


class SongmapHTTPServer(HTTPServer):
    """An HTTP server with a pool of handler threads that carries the site and stays quiet.

    The threads are started with the server, not per connection: under a burst of new
    connections, starting a thread each (``ThreadingHTTPServer``) waits for the new thread
    to take the interpreter lock, and the last of a hundred browsers' first requests waited
    about 2 s (``benchmarks/bench_serve.py``). Browsers routinely abort media requests
    (seeking, switching tracks); the resulting connection resets are not errors worth a
    traceback.
    """

    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], site: _Site, verbose: bool = False) -> None:
        host = address[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.site = site
        self.verbose = verbose
        self.loopback_only = _is_loopback(host)
        self.allowed_host_names = _LOOPBACK_NAMES | {host.strip("[]").lower()}
        self.date_header: tuple[int, str] = (0, "")  # (second, its Date text), shared by the handlers
        super().__init__(address, SongmapRequestHandler)
        # One slot per connection being served; every slot's connection has a thread waiting for it.
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._connections: queue.SimpleQueue = queue.SimpleQueue()
        self._workers = [threading.Thread(target=self._serve_connections, daemon=True, name=f"songmap-serve-{i}")
                         for i in range(MAX_CONNECTIONS)]
        for worker in self._workers:
            worker.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            # Full: a short answer from the accepting thread beats a connection that hangs.
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n"
                                b"Retry-After: 1\r\n\r\n")
            self.shutdown_request(request)
            return
        self._connections.put((request, client_address))

    def _serve_connections(self) -> None:
        while (item := self._connections.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
                self._slots.release()

    def server_close(self) -> None:
        super().server_close()
        for _ in self._workers:
            self._connections.put(None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        if self.verbose:
            super().handle_error(request, client_address)
        else:
            line = traceback.format_exception_only(type(error), error)[-1].strip()
            print(f"songmap serve: error handling a request: {line}", file=sys.stderr)


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(
    out_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    verbose: bool = False,
) -> SongmapHTTPServer:
    """Create (but do not start) the server for a songmap output folder.

    Parameters
    ----------
    out_dir
        Folder containing ``embeddings.json`` (written by ``songmap map``).
    host
        Address to bind; the default only accepts connections from this machine.
    port
        TCP port; 0 picks any free port (read it from ``server.server_address``).
    verbose
        Log every request (and full tracebacks) to stderr.

    Returns
    -------
    SongmapHTTPServer
        Bound and listening; call ``serve_forever()`` to serve.

    Raises
    ------
    FileNotFoundError
        If ``out_dir/embeddings.json`` does not exist.
    ValueError
        If it is not a valid embeddings document.
    OSError
        If the address cannot be bound (e.g. the port is in use).
    """
    site = _Site(out_dir)
    try:
        return SongmapHTTPServer((host, port), site, verbose=verbose)
    except OSError as error:
        raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}") from None


def server_url(server: HTTPServer) -> str:
    """The ``http://host:port/`` URL at which ``server`` serves the map page."""
    host, port = server.server_address[:2]
    if ":" in str(host):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def run_server(
    out_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    verbose: bool = False,
) -> None:
    """Serve ``out_dir`` until interrupted with Ctrl-C.

    Prints the URL to open, then serves; Ctrl-C stops the server cleanly
    (no traceback). Errors from :func:`make_server` propagate.
    """
    server = make_server(out_dir, host, port, verbose=verbose)
    track_count = len(server.site.current().doc["tracks"])
    try:
        # Inside the try: a Ctrl-C that comes right after the URL is printed still stops cleanly.
        print(f"songmap: serving {track_count} tracks at {server_url(server)}  (Ctrl-C to stop)", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nsongmap: stopped", flush=True)
    finally:
        server.server_close()
