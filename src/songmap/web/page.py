"""The interactive map page (``map.html``) of a songmap output folder.

The page is one self-contained HTML file: the track data is embedded in a JSON block,
the JavaScript and CSS are inline, and a Content-Security-Policy forbids every
external load. Its sources live in ``static/`` next to this module: ``map.html``
(the markup, with placeholders), ``map.css`` and ``map.js``; they are inlined
and hashed into the policy when a page is rendered. Colours come from
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
``neighbours()``, ``resetView()`` and ``zoom()``; for the listening tools (issue 13)
``worldPosition(x, y)`` (a map coordinate in page pixels), ``findPath(a, b, n)`` (the
path, a port of :func:`songmap.evaluation.listening.find_path`), ``pathSource()``
(``"features"``, or ``"map"`` for documents without neighbours), ``path()``,
``pathEnds()``, ``selection()``, ``queue()`` (the path or selection playing),
``clusters()`` and ``drawn()`` (what the last draw put on the canvas: cluster
outlines and labels, trust rings, selection rings, path and trajectory vertices).
``document.body.dataset.ready`` is ``"1"`` once the first draw is done.

The optional keys of issue 13 are passed compactly and only when well-formed
(``nb``/``nd`` neighbours and distances, ``cl`` cluster, ``tw``/``ct``
trustworthiness/continuity, ``path`` trajectory; top-level ``clusters`` and
``inputDir``), so an old ``embeddings.json`` gives a page without them.

The tracks travel column-wise (data format 2, issue 14: a page of 100 000 tracks):
titles and file names as JSON arrays; positions, durations, categories, clusters,
trust and neighbours as little-endian typed arrays in base64, which ``map.js``
decodes once into typed arrays; audio URLs as a prefix plus the file name
(percent-encoded as :func:`local_audio_urls` does) where that gives the URL, and
each cluster's outline as the corners of its convex hull.
:func:`unpack_page_tracks` reads the columns back into per-track dicts.
``window.songmap.positions()`` gives every track's map position (``{x, y}``
Float64Arrays) to ``place.js``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import urllib.parse
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from songmap.io.atomic import atomic_write_text
from songmap.report.documents import is_finite_number, read_embeddings, validate_embeddings
from songmap.report.palette import category_colours

__all__ = [
    "PAGE_FILENAME",
    "embed_json",
    "local_audio_urls",
    "render_map_page",
    "resolve_input_dir",
    "unpack_page_tracks",
    "write_map_page",
]

PAGE_FILENAME = "map.html"

_TEMPLATE_NAME = "static/map.html"
_STYLE_NAME = "static/map.css"
_SCRIPT_NAME = "static/map.js"
_PLACE_SCRIPT_NAME = "static/place.js"
_CSP_PLACEHOLDER = "__SONGMAP_CSP__"
_STYLE_PLACEHOLDER = "__SONGMAP_STYLE__"
_SCRIPT_PLACEHOLDER = "__SONGMAP_SCRIPT__"
_DATA_PLACEHOLDER = "__SONGMAP_DATA__"
# The in-page placer (issue 14): its script and the model it runs (songmap.web.placing).
_PLACE_SCRIPT_PLACEHOLDER = "__SONGMAP_PLACE_SCRIPT__"
_MODEL_PLACEHOLDER = "__SONGMAP_MODEL__"
_PLACEHOLDERS = (_CSP_PLACEHOLDER, _STYLE_PLACEHOLDER, _SCRIPT_PLACEHOLDER, _DATA_PLACEHOLDER,
                 _PLACE_SCRIPT_PLACEHOLDER, _MODEL_PLACEHOLDER)
# Text that would end (or, in a script, change the parsing of) the element a source is inlined into.
_FORBIDDEN_IN_SOURCE = {_STYLE_NAME: ("</style",), _SCRIPT_NAME: ("</script", "<script", "<!--"),
                        _PLACE_SCRIPT_NAME: ("</script", "<script", "<!--")}

# Characters that could end the <script> data block or start an HTML comment
# inside it, plus the two JavaScript line terminators that are legal in JSON.
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
# Lone surrogates stand for the bytes of a file name that is not UTF-8; written as \udcXX escapes
# they survive (JSON.parse keeps them) where raw they could not even be encoded.
_JSON_ESCAPE_RE = re.compile("[<>&\u2028\u2029\ud800-\udfff]")


def embed_json(value: Any) -> str:
    """Serialise ``value`` as JSON that is safe inside an HTML ``<script>`` block.

    Parameters
    ----------
    value
        Any JSON-serialisable value (non-finite floats are rejected).

    Returns
    -------
    str
        JSON text in which ``<``, ``>``, ``&``, U+2028 and U+2029 are written as
        ``\\uXXXX`` escapes, so ``</script>`` or ``<!--`` can never appear in
        it; ``JSON.parse`` restores the original characters.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return _JSON_ESCAPE_RE.sub(lambda match: _JSON_ESCAPES.get(match.group(0)) or f"\\u{ord(match.group(0)):04x}", text)


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


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _static_text(name: str) -> str:
    # Text mode reads every line ending as "\n", as the browser's HTML parser does before hashing.
    return resources.files("songmap.web").joinpath(name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _template_with_csp() -> str:
    """The page template with its style, script and Content-Security-Policy filled in.

    ``map.css`` and ``map.js`` are inlined into the ``<style>`` and ``<script>``
    elements of ``map.html``. The policy allows exactly those two inline
    sources (by hash, so an injected script would not run even if the escaping
    failed), audio from the page's own origin or from disk, and nothing else:
    no network requests, no external scripts, fonts or images. Only the data
    placeholder is left to fill.
    """
    template = _static_text(_TEMPLATE_NAME)
    for placeholder in _PLACEHOLDERS:
        if template.count(placeholder) != 1:
            raise RuntimeError(f"{_TEMPLATE_NAME} must contain {placeholder} exactly once")
    sources = {}
    for name in (_STYLE_NAME, _SCRIPT_NAME, _PLACE_SCRIPT_NAME):
        text = _static_text(name)
        lowered = text.lower()
        bad = [s for s in (*_FORBIDDEN_IN_SOURCE[name], *(p.lower() for p in _PLACEHOLDERS)) if s in lowered]
        if bad:
            raise RuntimeError(f"{name} must not contain {bad[0]!r}: it is inlined into the page")
        sources[name] = "\n" + text
    style, script, place_script = sources[_STYLE_NAME], sources[_SCRIPT_NAME], sources[_PLACE_SCRIPT_NAME]
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_csp_hash(script)} {_csp_hash(place_script)}",
            f"style-src {_csp_hash(style)}",
            "img-src data:",
            "media-src 'self' file: blob:",  # blob: plays a song dropped on the page
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    page = template.replace(_CSP_PLACEHOLDER, policy, 1)
    page = page.replace(f"<style>{_STYLE_PLACEHOLDER}</style>", f"<style>{style}</style>", 1)
    page = page.replace(f"<script>{_SCRIPT_PLACEHOLDER}</script>", f"<script>{script}</script>", 1)
    page = page.replace(f"<script>{_PLACE_SCRIPT_PLACEHOLDER}</script>", f"<script>{place_script}</script>", 1)
    if _STYLE_PLACEHOLDER in page or _SCRIPT_PLACEHOLDER in page or _PLACE_SCRIPT_PLACEHOLDER in page:
        wanted = f"<style>{_STYLE_PLACEHOLDER}</style> and <script>{_SCRIPT_PLACEHOLDER}</script>"
        raise RuntimeError(f"{_TEMPLATE_NAME} must hold {wanted}")
    return page


def _short_float(value: float) -> float:
    # Seven significant digits are far below a pixel at any sane zoom and keep
    # a 10 000-track page small.
    return float(f"{value:.7g}")


def _is_index(value: Any, count: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def _unit_or_none(value: Any) -> float | None:
    return round(float(value), 4) if is_finite_number(value) and 0 <= value <= 1 else None


def _listening_keys(track: dict[str, Any], index: int, count: int) -> dict[str, Any]:
    """The optional keys of issue 13 (and a track's ``path``), checked, rounded and short-named.

    Absent or malformed keys are left out, so the page falls back (map-coordinate neighbours, no
    cluster layer, no trust rings) instead of failing: ``nb``/``nd`` the feature-space neighbours
    and their distances, ``cl`` the cluster id, ``tw``/``ct`` the track's trustworthiness and
    continuity, ``path`` its trajectory of windows.
    """
    keys: dict[str, Any] = {}
    neighbours, distances = track.get("neighbours"), track.get("neighbour_distances")
    if (
        isinstance(neighbours, list)
        and isinstance(distances, list)
        and len(neighbours) == len(distances)
        and all(_is_index(j, count) and j != index for j in neighbours)
        and all(is_finite_number(d) and d >= 0 for d in distances)
    ):
        keys["nb"] = neighbours
        keys["nd"] = distances   # sent as float32 (_pack_tracks)
    cluster = track.get("cluster")
    if isinstance(cluster, int) and not isinstance(cluster, bool) and cluster >= -1:
        keys["cl"] = cluster
    for key, short in (("trustworthiness", "tw"), ("continuity", "ct")):
        value = _unit_or_none(track.get(key))
        if value is not None:
            keys[short] = value
    path = track.get("path")
    if isinstance(path, list) and all(
        isinstance(p, list | tuple) and len(p) == 2 and all(is_finite_number(v) for v in p) for p in path
    ):
        keys["path"] = [[_short_float(x), _short_float(y)] for x, y in path]
    return keys


def _page_clusters(doc: dict[str, Any], tracks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{"id", "name", "centre"}]`` of the clusters the page's tracks belong to (``cl`` >= 0).

    Names come from the document's ``clusters`` list, else from the tracks' ``cluster_name``,
    else ``"cluster <id>"``; a cluster without members is left out.
    """
    ids = sorted({t["cl"] for t in tracks if t.get("cl", -1) >= 0})
    if not ids:
        return []
    names: dict[int, str] = {}
    centres: dict[int, int] = {}
    listed = doc.get("clusters")
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), int):
            if isinstance(entry.get("name"), str) and entry["name"].strip():
                names[entry["id"]] = entry["name"]
            if _is_index(entry.get("centre"), len(tracks)):
                centres[entry["id"]] = entry["centre"]
    for track in doc["tracks"]:
        name, cluster = track.get("cluster_name"), track.get("cluster")
        if isinstance(cluster, int) and isinstance(name, str) and name.strip():
            names.setdefault(cluster, name)
    xy = np.array([[t["x"], t["y"]] for t in tracks], dtype=float).reshape(-1, 2)
    cluster = np.array([t.get("cl", -1) for t in tracks])
    return [{"id": c, "name": names.get(c, f"cluster {c}"), "centre": centres.get(c), "hull": _hull(xy[cluster == c])}
            for c in ids]


def _hull(points: np.ndarray) -> list[list[float]]:
    """The corners of the convex hull of ``points`` (shape (n, 2)), for the page's cluster outline.

    Computed here (Qhull) so the page does not pass over 100 000 tracks at start-up; for fewer
    than three points or points on a line, the points themselves (the page takes their hull).
    """
    from scipy.spatial import ConvexHull, QhullError

    unique = np.unique(points, axis=0)
    if len(unique) >= 3:
        try:
            unique = unique[ConvexHull(unique).vertices]
        except QhullError:
            pass
    return unique.tolist()


def _page_track(track: dict[str, Any], audio_url: str, index: int = 0, count: int = 0) -> dict[str, Any]:
    """The subset of a track the page needs, with types normalised."""
    file = track["file"]
    title = track.get("title")
    if not isinstance(title, str) or not title.strip():
        title = file.rsplit("/", 1)[-1].rsplit(".", 1)[0] or file
    category = track.get("category")
    if category is not None and not isinstance(category, str):
        category = str(category)
    duration = track.get("duration_s")
    return {
        "title": title,
        "category": category,
        "duration": float(duration) if is_finite_number(duration) else None,
        "x": _short_float(track["x"]),
        "y": _short_float(track["y"]),
        "file": file,
        "audio": audio_url,
        **_listening_keys(track, index, count),
    }


# The per-track data travels column-wise (issue 14: a page of 100 000 tracks): numbers as
# little-endian typed arrays in base64, decoded once by map.js with no per-track objects; strings
# (titles, files, audio URLs that differ from their file's) as JSON arrays.
PAGE_DATA_FORMAT = 2
_NO_CATEGORY = 0xFFFF            # category index of an uncategorised track
_NO_CLUSTER = -2                 # cluster id of a track without one (-1 is "in no cluster")
_NO_UNIT = 0xFFFF                # trustworthiness/continuity missing (values are stored x 10 000)
_UNIT_SCALE = 10_000


def _b64(values: Any, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode("ascii")


def _unb64(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def _quoted(file: str) -> str | None:
    """``file`` percent-encoded as :func:`local_audio_urls` does (None: not UTF-8, always explicit)."""
    try:
        return urllib.parse.quote(file, safe="/")
    except UnicodeEncodeError:
        return None


def _pack_audio(files: list[str], urls: list[str]) -> dict[str, Any]:
    """The audio URLs as a prefix and, per track, 0 (``prefix + quote(file)``) or the whole URL.

    Without ``urls``, every track's URL is ``prefix + quote(file)``; a served page's
    ``/audio/<index>`` URLs are ``{"prefix": "/audio/", "numbered": true}``.
    """
    prefix = ""
    if urls:
        quoted = _quoted(files[0])
        if quoted is not None and urls[0].endswith(quoted):
            prefix = urls[0][: len(urls[0]) - len(quoted)]
        elif urls[0].endswith("/0"):
            prefix = urls[0][:-1]
    if urls and all(url == f"{prefix}{i}" for i, url in enumerate(urls)):
        return {"prefix": prefix, "numbered": True}
    rest: list[int | str] = []
    for file, url in zip(files, urls):
        quoted = _quoted(file)
        rest.append(0 if quoted is not None and url == prefix + quoted else url)
    if all(entry == 0 for entry in rest):
        return {"prefix": prefix}   # every URL is prefix + quote(file)
    return {"prefix": prefix, "urls": rest}


def _pack_tracks(tracks: list[dict[str, Any]], audio_urls: list[str]) -> dict[str, Any]:
    """Column-wise, compact form of the page's tracks (see :func:`unpack_page_tracks`)."""
    n = len(tracks)
    names = sorted({t["category"] for t in tracks if t["category"] is not None})
    index_of = {name: k for k, name in enumerate(names)}
    packed: dict[str, Any] = {
        "format": PAGE_DATA_FORMAT,
        "count": n,
        "titles": [t["title"] for t in tracks],
        "files": [t["file"] for t in tracks],
        "audio": _pack_audio([t["file"] for t in tracks], audio_urls),
        "categoryNames": names,
        "category": _b64([_NO_CATEGORY if t["category"] is None else index_of[t["category"]] for t in tracks], "<u2"),
        "x": _b64([t["x"] for t in tracks], "<f8"),
        "y": _b64([t["y"] for t in tracks], "<f8"),
        "duration": _b64([np.nan if t["duration"] is None else t["duration"] for t in tracks], "<f8"),
    }
    if any("cl" in t for t in tracks):
        packed["cluster"] = _b64([t.get("cl", _NO_CLUSTER) for t in tracks], "<i4")
    for key in ("tw", "ct"):
        if any(key in t for t in tracks):
            packed[key] = _b64([round(t[key] * _UNIT_SCALE) if key in t else _NO_UNIT for t in tracks], "<u2")
    with_nb = [i for i, t in enumerate(tracks) if "nb" in t]
    if with_nb:
        # Neighbours and their distances, all tracks' lists end to end; nbStart[i]:nbStart[i + 1] are
        # track i's (sent only when the lists' lengths differ, else nbK); nbMissing: tracks without.
        lengths = [len(t.get("nb", ())) for t in tracks]
        packed["nb"] = _b64([j for t in tracks for j in t.get("nb", ())], "<i4")
        packed["nd"] = _b64([d for t in tracks for d in t.get("nd", ())], "<f4")
        if len(with_nb) == n and len(set(lengths)) == 1:
            packed["nbK"] = lengths[0]
        else:
            packed["nbStart"] = _b64(np.concatenate([[0], np.cumsum(lengths)]), "<i4")
        packed["nbMissing"] = [i for i, t in enumerate(tracks) if "nb" not in t]
    paths = {str(i): t["path"] for i, t in enumerate(tracks) if "path" in t}
    if paths:
        packed["paths"] = paths
    return packed


def unpack_page_tracks(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-track dicts of a page's data block, as map.js reads them (for tests and tools).

    Parameters
    ----------
    data
        The parsed JSON of a page's ``<script id="songmap-data">`` block.

    Returns
    -------
    list of dict
        One dict per track, shape (count,): ``title``, ``category`` (None: uncategorised),
        ``duration`` (None: unknown), ``x``, ``y``, ``file``, ``audio`` and, where present,
        ``nb``/``nd`` (neighbours, distances as float32), ``cl``, ``tw``/``ct`` and ``path``.
    """
    n = data["count"]
    names = data["categoryNames"]
    category = _unb64(data["category"], "<u2")
    x, y, duration = (_unb64(data[key], "<f8") for key in ("x", "y", "duration"))
    audio = data["audio"]
    tracks = []
    for i in range(n):
        if audio.get("numbered"):
            url = f"{audio['prefix']}{i}"
        else:
            rest = audio["urls"][i] if "urls" in audio else 0
            url = audio["prefix"] + _quoted(data["files"][i]) if rest == 0 else rest
        tracks.append({
            "title": data["titles"][i],
            "category": None if category[i] == _NO_CATEGORY else names[category[i]],
            "duration": None if np.isnan(duration[i]) else float(duration[i]),
            "x": float(x[i]),
            "y": float(y[i]),
            "file": data["files"][i],
            "audio": url,
        })
    if "cluster" in data:
        for entry, value in zip(tracks, _unb64(data["cluster"], "<i4")):
            if value != _NO_CLUSTER:
                entry["cl"] = int(value)
    for key in ("tw", "ct"):
        for entry, value in zip(tracks, _unb64(data.get(key, ""), "<u2")):
            if value != _NO_UNIT:
                entry[key] = int(value) / _UNIT_SCALE
    if "nb" in data:
        nb, nd = _unb64(data["nb"], "<i4"), _unb64(data["nd"], "<f4")
        start = _unb64(data["nbStart"], "<i4") if "nbStart" in data else np.arange(n + 1) * data["nbK"]
        missing = set(data["nbMissing"])
        for i, entry in enumerate(tracks):
            if i not in missing:
                entry["nb"] = nb[start[i]:start[i + 1]].tolist()
                entry["nd"] = nd[start[i]:start[i + 1]].tolist()
    for key, path in data.get("paths", {}).items():
        tracks[int(key)]["path"] = path
    return tracks


def render_map_page(doc: dict[str, Any], audio_urls: list[str], model: dict[str, Any] | None = None) -> str:
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
    page_tracks = [_page_track(track, str(url), i, len(tracks)) for i, (track, url) in enumerate(zip(tracks, audio_urls))]
    payload["clusters"] = _page_clusters(doc, page_tracks)
    # Colours come from the one palette, so map.png and the page agree.
    colours = category_colours(track["category"] for track in page_tracks)
    payload["uncategorisedColour"] = colours.pop(None)
    payload["categoryColours"] = colours
    payload.update(_pack_tracks(page_tracks, [str(url) for url in audio_urls]))
    if model is None:
        model = {"unavailable": "this page was made without the map's model"}
    # The data placeholder is replaced last (and its block comes before the model's), so data
    # that happens to contain a placeholder string can never be substituted into.
    page = _template_with_csp().replace(_MODEL_PLACEHOLDER, embed_json(model), 1)
    return page.replace(_DATA_PLACEHOLDER, embed_json(payload), 1)


def write_map_page(out_dir: str | os.PathLike[str], doc: dict[str, Any] | None = None) -> Path:
    """Write ``out_dir/map.html`` for opening from disk.

    Parameters
    ----------
    out_dir
        A songmap output folder.
    doc
        The embeddings document; read from ``out_dir/embeddings.json`` when
        omitted.

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

    html = render_map_page(doc, local_audio_urls(doc, out_path), page_model_for(out_path))
    page_path = out_path / PAGE_FILENAME
    atomic_write_text(page_path, html)
    return page_path
