"""Helpers of the browser tests: Debian's Chromium through Playwright, a ready map page, `songmap serve`.

The ``browser`` fixture (conftest.py) launches :func:`headless_chromium` once per module; the
tests marked ``browser`` are skipped (or, in CI, fail) where :func:`chromium_missing` says why
Chromium cannot run.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Headless Chromium has no user to click "allow", and our clicks are
    # synthetic; without this, play() may be refused.
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT = {"width": 1280, "height": 800}


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here (no Playwright, no Chromium), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (install it with: apt-get install chromium)"
    return None


@contextlib.contextmanager
def headless_chromium():
    """Debian's Chromium, headless (Playwright cannot download browsers here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_ready_page(browser, url: str, *, viewport: dict | None = None, timeout_ms: float = 30_000):
    """A page, in a context of its own, on ``url`` once map.js has marked it ready.

    Its uncaught errors collect in ``page.errors``; close it with ``page.context.close()``.
    """
    page = browser.new_context(viewport=viewport or VIEWPORT).new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=timeout_ms)
    page.errors = errors
    return page


class PageSession:
    """A page plus everything it reported that a test may want to assert on."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))

    def _on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']", timeout=15_000)

    def position(self, index: int) -> dict:
        return self.page.evaluate("i => window.songmap.screenPosition(i)", index)

    def hover(self, index: int, expect_hit: bool = True) -> None:
        point = self.position(index)
        self.page.mouse.move(point["x"], point["y"])
        if expect_hit:
            # Hit testing runs on the next animation frame.
            self.page.wait_for_function("i => window.songmap.hovered() === i", arg=index, timeout=5_000)

    def click(self, index: int) -> None:
        point = self.position(index)
        self.page.mouse.click(point["x"], point["y"])

    def tooltip_title(self) -> str:
        self.page.wait_for_selector("#tooltip:not([hidden])", timeout=5_000)
        return self.page.text_content("#tooltip .tt-title")

    def wait_until_playing(self, index: int) -> None:
        self.page.wait_for_function(
            """i => window.songmap.current() === i && !document.getElementById('player').paused
                   && document.getElementById('player').currentTime > 0.25""",
            arg=index,
            timeout=10_000,
        )


def pixel(page, x: float, y: float) -> list[int]:
    """RGBA of the map's canvas at page position (x, y)."""
    return page.evaluate(
        """([x, y]) => {
            const canvas = document.getElementById("map");
            const rect = canvas.getBoundingClientRect();
            const scale = canvas.width / rect.width;
            const px = Math.round((x - window.scrollX - rect.left) * scale), py = Math.round((y - window.scrollY - rect.top) * scale);
            return Array.from(canvas.getContext("2d").getImageData(px, py, 1, 1).data);
        }""",
        [x, y],
    )


def list_titles(page, selector: str) -> list[str]:
    """The track names of the list at ``selector``, in order."""
    return page.eval_on_selector_all(f"{selector} .track-btn .name", "nodes => nodes.map(n => n.textContent)")


def download_text(page, button: str) -> tuple[str, str]:
    """Click ``button`` and return the download it starts: (suggested file name, text)."""
    with page.expect_download() as info:
        page.click(button)
    download = info.value
    return download.suggested_filename, Path(download.path()).read_text(encoding="utf-8")


def rgb(colour: str) -> tuple[int, int, int]:
    """``(r, g, b)`` of ``"#rrggbb"``."""
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def songmap_serve(out_dir: Path, timeout_s: float = 30.0) -> Iterator[str]:
    """`songmap serve OUT_DIR` on a free port, in a subprocess as a user runs it; yields its URL.

    Waits until the server accepts connections, and stops it on leaving.
    """
    port = free_port()
    command = [sys.executable, "-m", "songmap", "serve", str(out_dir), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_port(port, process, timeout_s)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_port(port: int, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early: {process.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"server did not listen on port {port} within {timeout_s} s")
