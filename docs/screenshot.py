"""Make the pictures of the map page in README.md and docs/reference.md from a `songmap demo` output folder.

docs/map-page.png: a theme playing, its Storm variant hovered. docs/map-path.png: a path from one
family of the soundtrack to another, drawn and listed. docs/map-clusters.png: the named clusters,
the "where the map is unsure" rings and a neighbour list with map-only marks.

Usage: python docs/screenshot.py [DEMO_OUT_DIR]   (default: songmap-demo; run `make demo` first)
Needs Debian's chromium at /usr/bin/chromium and the playwright package (both installed by `make test`).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]


def main() -> None:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "songmap-demo")
    tracks = json.loads((out_dir / "embeddings.json").read_text(encoding="utf-8"))["tracks"]
    titles = [t["title"] for t in tracks]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "songmap", "serve", str(out_dir), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("body[data-ready='1']")
            # Play a theme that has a Storm variant, and hover its variant: what a person would try first.
            playing = next((i for i, t in enumerate(titles) if f"{t} (Storm)" in titles), 0)
            page.evaluate(f"window.songmap.play({playing})")
            hovered = titles.index(f"{titles[playing]} (Storm)") if f"{titles[playing]} (Storm)" in titles else 1
            pos = page.evaluate(f"window.songmap.screenPosition({hovered})")
            page.mouse.move(pos["x"], pos["y"])
            page.wait_for_timeout(600)
            page.screenshot(path=str(HERE / "map-page.png"))
            page.close()
            shoot_path(browser, f"http://127.0.0.1:{port}/", tracks)
            shoot_clusters(browser, f"http://127.0.0.1:{port}/", tracks)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    for name in ("map-page.png", "map-path.png", "map-clusters.png"):
        print(f"Wrote {HERE / name}")


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 760})
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page


def _show_section(page, section_id: str) -> None:
    """Scroll the side panel so that ``section_id`` is at its top."""
    page.evaluate("id => document.getElementById(id).scrollIntoView({block: 'start'})", section_id)


def shoot_path(browser, url: str, tracks: list[dict]) -> None:
    """A path between the two tracks farthest apart on the map, drawn and listed, its first track playing."""
    page = _open(browser, url)
    xy = [(t["x"], t["y"]) for t in tracks]
    start, end = max(((a, b) for a in range(len(xy)) for b in range(a)),
                     key=lambda ab: (xy[ab[0]][0] - xy[ab[1]][0]) ** 2 + (xy[ab[0]][1] - xy[ab[1]][1]) ** 2)
    page.evaluate(f"window.songmap.play({start})")
    page.click("#path-from")
    page.evaluate(f"window.songmap.play({end})")
    page.click("#path-to")
    page.click("#path-play")
    _show_section(page, "path-section")
    page.wait_for_timeout(600)
    page.screenshot(path=str(HERE / "map-path.png"))
    page.close()


def shoot_clusters(browser, url: str, tracks: list[dict]) -> None:
    """Cluster outlines and names, the trust rings on, and a track with map-only neighbours playing."""
    page = _open(browser, url)
    page.check("#show-trust")
    least_sure = min(range(len(tracks)), key=lambda i: tracks[i].get("trustworthiness") or 1.0)
    page.evaluate(f"window.songmap.play({least_sure})")
    page.evaluate("window.songmap.resetView()")
    _show_section(page, "now-heading")
    page.mouse.move(5, 5)   # off the lists, whose entries point their track out when hovered
    page.wait_for_timeout(600)
    page.screenshot(path=str(HERE / "map-clusters.png"))
    page.close()


if __name__ == "__main__":
    main()
