"""docs/notebook.ipynb runs: executed by nbclient on a small generated collection, so it cannot rot.

The notebook's cell tagged ``parameters`` is replaced by this collection's folders and the fast
training settings, as papermill would. The screenshot of the README's "In a notebook" section is
the executed notebook's map output rendered by headless Chromium: written to
``artifacts/notebook-map.png`` on every run, and to ``docs/notebook-map.png`` with
``SONGMAP_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

from browsing import VIEWPORT
from conftest import FAST, REPO_ROOT, write_small_collection
from songmap.app.jobs import read_map

NOTEBOOK = REPO_ROOT / "docs" / "notebook.ipynb"
SCREENSHOT = REPO_ROOT / "artifacts" / "notebook-map.png"
DOCS_SCREENSHOT = REPO_ROOT / "docs" / "notebook-map.png"


def cell_with(notebook, text: str):
    (cell,) = [cell for cell in notebook.cells if cell.cell_type == "code" and text in cell.source]
    return cell


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook run on the small collection in a folder of its own: (the executed notebook, that folder)."""
    folder = tmp_path_factory.mktemp("notebook")
    songs = write_small_collection(folder / "my songs")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (parameters,) = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    parameters.source = (
        "from pathlib import Path\n"
        f"SONGS = Path({str(songs)!r})\nOUT = Path('my map')\n"
        f"MAPPER = {dict(FAST, n_jobs=1)!r}\nCATEGORY = 'soundeffect'\n"
    )
    # The kernel imports this checkout's songmap (PYTHONPATH), as the tests do, and draws figures
    # with its own inline backend, as in Jupyter (a MPLBACKEND set for the tests would replace it).
    env = {name: value for name, value in os.environ.items() if name != "MPLBACKEND"}
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)  # the kernel runs in `folder`, as Jupyter runs one in its notebook's folder
    return notebook, folder


def test_every_cell_runs_without_an_error(executed) -> None:
    notebook, folder = executed
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert all(output.output_type != "error" for output in cell.outputs), cell.source
    printed = "".join(output.get("text", "") for output in cell_with(notebook, "map_folder(").outputs)
    assert printed.strip() == "8 tracks on the map, 0 skipped"
    assert (folder / "my map" / "embeddings.json").is_file()


def test_the_map_shows_as_a_widget_and_as_html(executed) -> None:
    (output,) = cell_with(executed[0], "songmap.show(OUT)").outputs
    assert "application/vnd.jupyter.widget-view+json" in output.data
    assert output.data["text/html"].startswith("<iframe sandbox=") and "srcdoc=" in output.data["text/html"]


def test_the_frame_cells_show_the_map_read_back(executed) -> None:
    notebook, folder = executed
    frame = read_map(folder / "my map")
    (head,) = cell_with(notebook, "frame = songmap.read_map(OUT)").outputs
    text = head.data["text/plain"]
    assert all(title in text for title in frame["title"].head())
    (attrs,) = cell_with(notebook, 'frame.attrs["quality"]').outputs
    assert repr(frame.attrs["quality"]["trustworthiness"]) in attrs.data["text/plain"]
    (selected,) = cell_with(notebook, "view.selected").outputs
    assert "Empty DataFrame" in selected.data["text/plain"]  # nothing is selected where no one clicks


def test_one_category_is_plotted(executed) -> None:
    outputs = cell_with(executed[0], "plt.subplots").outputs
    assert [output.output_type for output in outputs] == ["display_data"] and "image/png" in outputs[0].data


def test_the_export_cell_writes_parquet_for_embedding_atlas(executed) -> None:
    notebook, folder = executed
    outputs = cell_with(notebook, 'export_map(OUT, "parquet")').outputs
    parquet = folder / "my map" / "map.parquet"
    assert outputs[0].text.strip() == f"embedding-atlas {Path('my map') / 'map.parquet'} --x x --y y --neighbors neighbors"
    back = pd.read_parquet(parquet)
    np.testing.assert_array_equal(back["x"], read_map(folder / "my map")["x"])


@pytest.mark.browser
def test_screenshot_of_the_map_in_the_notebook(executed, browser) -> None:
    """The README's picture: the map cell's HTML output, as a notebook page in Chromium shows it."""
    notebook, folder = executed
    cell = cell_with(notebook, "songmap.show(OUT)")
    (output,) = cell.outputs
    page_file = folder / "notebook.html"
    page_file.write_text(
        "<!doctype html><html><body style='margin: 16px; font: 14px sans-serif'>"
        f"<pre style='background: #f5f5f5; padding: 8px'>In [{cell.execution_count}]: {cell.source.replace('<', '&lt;')}</pre>"
        f"{output.data['text/html']}</body></html>",
        encoding="utf-8",
    )
    page = browser.new_context(viewport={**VIEWPORT, "height": 720}).new_page()
    try:
        page.goto(page_file.as_uri())
        frame = page.query_selector("iframe").content_frame()
        frame.wait_for_selector("body[data-ready='1']", timeout=20_000)
        assert frame.evaluate("window.songmap.points") == 8
        # Hover a track, as a person would first: its tooltip shows in the picture.
        box = page.query_selector("iframe").bounding_box()
        point = frame.evaluate("window.songmap.screenPosition(0)")
        page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
        frame.wait_for_selector("#tooltip:not([hidden])", timeout=5_000)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    finally:
        page.context.close()
    from PIL import Image

    with Image.open(SCREENSHOT) as image:
        colours = len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0))
    assert colours > 100  # the map drawn, not a blank frame
    if os.environ.get("SONGMAP_UPDATE_SCREENSHOTS"):
        shutil.copyfile(SCREENSHOT, DOCS_SCREENSHOT)
