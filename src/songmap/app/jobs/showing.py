"""The ``show`` job: a map's interactive page, inline in a notebook."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from songmap._extras import import_extra
from songmap.app.jobs.common import finish_interrupted_map
from songmap.report.documents import read_embeddings

if TYPE_CHECKING:
    from songmap.web.notebook import MapView

__all__ = ["show"]

_SERVE_URL_RE = re.compile(r"(https?://[^/?#\s]+)/?")


def show(
    out_dir: str | os.PathLike,
    *,
    serve_url: str | None = None,
    notebook_dir: str | os.PathLike | None = None,
    height: int = 600,
) -> MapView:
    """The map page of ``out_dir`` as a notebook widget: hover, search, clusters, paths, listening.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder of ``songmap map``.
    serve_url : str, optional
        The address of a running ``songmap serve`` of the same folder
        (``"http://127.0.0.1:8000"``): the page plays its audio from there, which works
        wherever the notebook's browser reaches that server.
    notebook_dir : str or os.PathLike, optional
        Without ``serve_url``, audio URLs are relative to this folder: the notebook's own,
        which is the kernel's working folder in Jupyter (the default). They play where
        the browser can fetch the files by those paths, e.g. the notebook exported to HTML
        and opened from disk.
    height : int, default=600
        Height of the map in CSS pixels.

    Returns
    -------
    songmap.web.notebook.MapView
        Shows the page when it is a cell's value; ``.selection`` / ``.selected`` are the
        tracks selected on it (row numbers / rows of :func:`songmap.read_map`).

    Raises
    ------
    FileNotFoundError, ValueError
        No map in ``out_dir``, or ``serve_url`` is not an ``http(s)://host[:port]`` address.
    songmap._extras.MissingExtraError
        anywidget or pandas is not installed (``pip install 'songmap[notebook]'``).

    Examples
    --------
    >>> import songmap
    >>> view = songmap.show("my-map")  # doctest: +SKIP
    >>> view                           # doctest: +SKIP
    >>> songmap.show("my-map", serve_url="http://127.0.0.1:8000")  # after `songmap serve my-map`  # doctest: +SKIP
    """
    for module in ("anywidget", "pandas"):
        import_extra(module, extra="notebook", purpose="songmap.show")
    origin = None
    if serve_url is not None:
        match = _SERVE_URL_RE.fullmatch(serve_url.strip())
        if match is None:
            raise ValueError(f"serve_url must be the address songmap serve prints, such as http://127.0.0.1:8000, got {serve_url!r}")
        origin = match.group(1)
    if height < 100:
        raise ValueError(f"height must be at least 100 pixels, got {height}")
    finish_interrupted_map(out_dir)
    doc = read_embeddings(out_dir)

    from songmap.web.notebook import MapView
    from songmap.web.page import local_audio_urls, render_map_page
    from songmap.web.placing import page_model_for

    if origin is None:
        urls = local_audio_urls(doc, Path(notebook_dir) if notebook_dir is not None else Path.cwd())
    else:
        urls = [f"{origin}/audio/{index}" for index in range(len(doc["tracks"]))]
    page = render_map_page(doc, urls, page_model_for(Path(out_dir)), media_origins=(origin,) if origin else ())
    return MapView(doc=doc, page=page, height=height, same_origin=origin is None)
