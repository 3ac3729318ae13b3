"""Make docs/map-placed.png, docs/reference.md's picture of songs placed in the map page, from a `songmap demo` folder.

Usage: python docs/screenshot_placed.py DEMO_OUT_DIR FILE [FILE ...]
The files are given to the page's "Place a song…" input, as a user picking them would; the page
decodes and places them itself (nothing is uploaded). Needs /usr/bin/chromium and playwright.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_dir, files = Path(sys.argv[1]), [str(Path(f).resolve()) for f in sys.argv[2:]]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.goto((out_dir / "map.html").resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.set_input_files("#place-input", files)
        page.wait_for_selector("body[data-placing='done']", timeout=120_000)
        page.locator("#placed-section").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(HERE / "map-placed.png"))
        browser.close()
    print(f"Wrote {HERE / 'map-placed.png'}")


if __name__ == "__main__":
    main()
