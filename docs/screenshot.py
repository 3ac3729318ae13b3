"""Make docs/map-page.png, the README's picture of the map page, from a `songmap demo` output folder.

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
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"Wrote {HERE / 'map-page.png'}")


if __name__ == "__main__":
    main()
