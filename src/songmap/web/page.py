"""The interactive map page (``map.html``) of a songmap output folder.

The page is one self-contained HTML file: the track data is embedded in a JSON block,
the JavaScript and CSS are inline, and a Content-Security-Policy forbids every
external load (:mod:`songmap.web.page_template`). Each track is checked and reduced
to what the page shows (:mod:`songmap.web.page_tracks`), and the tracks travel
column-wise (:mod:`songmap.web.page_wire`). Colours come from
:func:`songmap.report.palette.category_colours` (in the data: ``categoryColours``
and ``uncategorisedColour``), so the page and ``map.png`` always agree.
It works both opened straight from disk (audio URLs relative to the page) and
served by ``songmap serve`` (audio URLs ``/audio/<index>``).

Titles and file names are untrusted: the data block escapes ``<``, ``>`` and
``&`` so nothing can close the ``<script>`` element early, and the page script
only ever puts data into the DOM through ``textContent``.

For tests and benchmarks the page exposes ``window.songmap``: ``points``
(track count), ``renderMs`` (navigation start to the end of the first canvas
draw), ``drawTimes`` (recent redraw durations, ms), ``visibleCount()`` (tracks
that are shown and match the search), ``screenPosition(i)`` (``{x, y,
onScreen}`` in page CSS pixels, ready for ``page.mouse.move``), ``title(i)``,
``categories()``, ``setCategoryVisible(label, bool)``, ``search(query)``,
``play(i)``, ``next()``, ``back()``, ``current()``, ``hovered()``,
``neighbours()``, ``resetView()`` and ``zoom()``; for the listening tools
``worldPosition(x, y)`` (a map coordinate in page pixels), ``findPath(a, b, n)`` (the
path, a port of :func:`songmap.evaluation.listening.find_path`), ``pathSource()``
(``"features"``, or ``"map"`` for documents without neighbours), ``path()``,
``pathEnds()``, ``selection()``, ``queue()`` (the path or selection playing),
``clusters()`` and ``drawn()`` (what the last draw put on the canvas: cluster
outlines and labels, trust rings, selection rings, path and trajectory vertices);
``positions()`` gives every track's map position (``{x, y}`` Float64Arrays).
``document.body.dataset.ready`` is ``"1"`` once the first draw is done.

The optional listening keys are passed only when well-formed, so an ``embeddings.json``
without them gives a page without them.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

from songmap.io.atomic import atomic_write_text
from songmap.report.colouring import check_colour_key, colourings, default_colour_key
from songmap.report.documents import read_embeddings, validate_embeddings
from songmap.report.palette import category_colours
from songmap.web.page_template import fill_template
from songmap.web.page_tracks import page_clusters, page_track
from songmap.web.page_wire import embed_json, pack_colourings, pack_tracks

__all__ = [
    "PAGE_FILENAME",
    "local_audio_urls",
    "render_map_page",
    "resolve_input_dir",
    "write_map_page",
]

PAGE_FILENAME = "map.html"


def resolve_input_dir(doc: dict[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    """Return the absolute input folder of an embeddings document.

    ``input_dir`` is written as an absolute path; a relative one is taken as
    relative to ``out_dir`` (where the document lives), never to the current
    working directory, so the answer does not depend on where a command runs.
    """
    input_dir = Path(doc["input_dir"])
    if not input_dir.is_absolute():
        input_dir = Path(out_dir).absolute() / input_dir
    return Path(os.path.normpath(input_dir))


def local_audio_urls(doc: dict[str, Any], out_dir: str | os.PathLike[str]) -> list[str]:
    """Audio URLs for a ``map.html`` in ``out_dir`` that is opened from disk.

    Each URL is the path of ``input_dir/track.file`` relative to ``out_dir``,
    with POSIX separators and every character outside ``A-Za-z0-9_.-~/``
    percent-encoded (UTF-8), so spaces, ``#``, ``?``, ``:`` and non-ASCII
    names survive being resolved against the page's ``file://`` URL.

    Parameters
    ----------
    doc
        A validated embeddings document.
    out_dir
        The folder the page will be written to.

    Returns
    -------
    list of str
        One URL per entry of ``doc["tracks"]``, in order.
    """
    page_dir = os.path.abspath(out_dir)
    input_dir = resolve_input_dir(doc, out_dir)
    urls = []
    for track in doc["tracks"]:
        audio_path = os.path.join(input_dir, *track["file"].split("/"))
        try:
            relative = os.path.relpath(audio_path, page_dir)
        except ValueError:
            # Different drives on Windows: no relative path exists.
            urls.append(Path(audio_path).as_uri())
            continue
        # surrogateescape: a name that is not UTF-8 is quoted as its original bytes, which is what opens it.
        urls.append(urllib.parse.quote(relative.replace(os.sep, "/"), safe="/", errors="surrogateescape"))
    return urls

def render_map_page(doc: dict[str, Any], audio_urls: list[str], model: dict[str, Any] | None = None, *,
                    colour_by: str | None = None, cover_prefix: str | None = None,
                    media_origins: tuple[str, ...] = ()) -> str:
    """Render the self-contained interactive map page.

    Parameters
    ----------
    doc
        An embeddings document (see :func:`songmap.report.documents.read_embeddings`).
    audio_urls
        The audio URL of each track, in the order of ``doc["tracks"]``:
        :func:`local_audio_urls` for a page opened from disk,
        ``["/audio/0", "/audio/1", ...]`` for a page served by ``songmap serve``.
    model
        What the page's "Place a song" control runs (:func:`songmap.web.placing.page_model`),
        or ``{"unavailable": reason}``; None: unavailable, as for a page without a model.
    colour_by
        What the page is first coloured by, a key of :data:`songmap.report.colouring.COLOUR_KEYS`
        (ValueError for another); by default the document's ``colour_by`` (which ``songmap map
        --colour-by`` writes), else :func:`songmap.report.colouring.default_colour_key`: its
        categories, else its genres, artists or albums, else its clusters. A key no track has a
        value for falls back to that default.
    cover_prefix
        URL prefix of the tracks' cover pictures (``/cover/`` on a served page: track
        ``i``'s is ``/cover/i``); None: no covers (a page opened from disk stays self-contained).
    media_origins
        Origins the page may also play audio from (the ``songmap serve`` of a notebook's page,
        :mod:`songmap.web.notebook`); its Content-Security-Policy allows nothing else more.

    Returns
    -------
    str
        The complete HTML document.

    Raises
    ------
    ValueError
        If ``doc`` is not a valid embeddings document or ``audio_urls`` has
        the wrong length.
    """
    validate_embeddings(doc, source="embeddings document")
    tracks = doc["tracks"]
    if len(audio_urls) != len(tracks):
        raise ValueError(f"got {len(audio_urls)} audio URLs for {len(tracks)} tracks")
    input_dir = doc["input_dir"].replace("\\", "/").rstrip("/")
    payload = {
        "version": doc.get("songmap_version"),
        "created": doc.get("created"),
        "collection": input_dir.rsplit("/", 1)[-1] or input_dir,
        "skipped": len(doc.get("skipped") or []),
        "inputDir": input_dir,
    }
    page_tracks = [page_track(track, str(url), i, len(tracks)) for i, (track, url) in enumerate(zip(tracks, audio_urls))]
    payload["clusters"] = page_clusters(doc, page_tracks)
    # Colours come from the one palette, so map.png and the page agree.
    colours = category_colours(track["category"] for track in page_tracks)
    payload["uncategorisedColour"] = colours.pop(None)
    payload["categoryColours"] = colours
    payload.update(pack_tracks(page_tracks, [str(url) for url in audio_urls]))
    choices = colourings(tracks)
    colour_by = colour_by if colour_by is not None else doc.get("colour_by")
    if colour_by is not None:
        check_colour_key(colour_by)
    payload.update(pack_colourings(choices, colour_by if colour_by in choices else default_colour_key(choices),
                                   [track.get("year") for track in tracks]))
    if cover_prefix is not None:
        payload["coverPrefix"] = cover_prefix
    added = [i for i, track in enumerate(tracks) if track.get("added_after_training") is True]
    if added:
        payload["added"] = added  # placed by `songmap update` since the map was trained: marked on the page
    if model is None:
        model = {"unavailable": "this page was made without the map's model"}
    return fill_template(data=embed_json(payload), model=embed_json(model), media_origins=media_origins)


def write_map_page(out_dir: str | os.PathLike[str], doc: dict[str, Any] | None = None, *, colour_by: str | None = None) -> Path:
    """Write ``out_dir/map.html`` for opening from disk.

    Parameters
    ----------
    out_dir
        A songmap output folder.
    doc
        The embeddings document; read from ``out_dir/embeddings.json`` when
        omitted.
    colour_by
        What the page is first coloured by (see :func:`render_map_page`).

    Returns
    -------
    pathlib.Path
        The path of the written page.

    Raises
    ------
    FileNotFoundError
        If ``doc`` is omitted and ``out_dir/embeddings.json`` does not exist.
    ValueError
        If the document is invalid.

    Notes
    -----
    The page is written to a temporary file in ``out_dir`` and moved into
    place with :func:`os.replace` (:func:`songmap.io.atomic.atomic_write_text`),
    so a browser never sees a half-written page and a failed write leaves
    the old page intact.
    """
    out_path = Path(out_dir)
    if doc is None:
        doc = read_embeddings(out_path)
    from songmap.web.placing import page_model_for  # loads the model (numpy only, no PyTorch)

    html = render_map_page(doc, local_audio_urls(doc, out_path), page_model_for(out_path), colour_by=colour_by)
    page_path = out_path / PAGE_FILENAME
    atomic_write_text(page_path, html)
    return page_path
