"""The wire format of the map page's data block: how a document's tracks are encoded for ``map.js``.

The block is JSON that is safe inside ``<script>`` (:func:`embed_json`). The tracks travel
column-wise, so a page of 100 000 tracks stays small and starts fast: titles and file names
as JSON arrays; positions, durations, categories, clusters, trust and neighbours as
little-endian typed arrays in base64, which ``map.js`` decodes once into typed arrays, with no
per-track objects; audio URLs as a prefix plus the file name (percent-encoded as
:func:`songmap.web.page.local_audio_urls` does) where that gives the URL.
:func:`unpack_page_tracks` reads the columns back into per-track dicts.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from typing import Any

import numpy as np

__all__ = ["PAGE_DATA_FORMAT", "embed_json", "pack_colourings", "pack_tracks", "unpack_colourings", "unpack_page_tracks"]

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


#: The layout of the data block's track columns, written into it as ``format``.
PAGE_DATA_FORMAT = 2
_NO_CATEGORY = 0xFFFF            # category index of an uncategorised track
_NO_CLUSTER = -2                 # cluster id of a track without one (-1 is "in no cluster")
_NO_UNIT = 0xFFFF                # trustworthiness/continuity missing (values are stored x 10 000)
_UNIT_SCALE = 10_000
# "Colour by" groups the page derives from columns it already has (see pack_colourings).
_DERIVED = {"category": "category", "cluster": "cluster", "duration": "duration", "trust": "tw"}


def _b64(values: Any, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode("ascii")


def _unb64(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def _quoted(file: str) -> str | None:
    """``file`` percent-encoded as :func:`songmap.web.page.local_audio_urls` does (None: not UTF-8, always explicit)."""
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


def pack_tracks(tracks: list[dict[str, Any]], audio_urls: list[str]) -> dict[str, Any]:
    """Column-wise, compact form of the page's tracks (see :func:`unpack_page_tracks`).

    Parameters
    ----------
    tracks
        The page's tracks, as :func:`songmap.web.page_tracks.page_track` makes them.
    audio_urls
        The audio URL of each track, in order.

    Returns
    -------
    dict
        The data block's track columns, with ``format`` (:data:`PAGE_DATA_FORMAT`) and ``count``.
    """
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


def pack_colourings(colourings: dict[str, Any], default: str, years: list[Any]) -> dict[str, Any]:
    """The page's "Colour by" choices and the tracks' years, for the data block.

    Parameters
    ----------
    colourings
        :func:`songmap.report.colouring.colourings` of the document's tracks.
    default
        The key the page starts with.
    years
        Each track's ``year`` (int or None); sent only when some track has one.

    Returns
    -------
    dict
        ``colourBy`` (the default key) and ``colourings``: per key ``{key, label, names, colours,
        noneLabel, noneColour}`` and how each track's group is found. Groups the page can derive
        from columns it already has are not sent again: ``"from": "category"`` (the category
        column, whose names are the same sorted list), ``"from": "cluster"`` (the cluster ids and
        the clusters' names), ``"from": "duration"`` or ``"tw"`` with the bins' ``edges``; the
        others send ``code``, each track's group index as ``<u2`` in base64 (0xFFFF: no value).
        ``year`` is ``<u2`` (0: none), sent when some track has one.
    """
    packed: dict[str, Any] = {"colourBy": default, "colourings": []}
    for c in colourings.values():
        entry = {"key": c.key, "label": c.label, "names": c.names, "colours": c.colours, "noneLabel": c.none_label,
                 "noneColour": c.none_colour}
        if c.key in _DERIVED:
            entry["from"] = _DERIVED[c.key]
            if c.edges is not None:
                entry["edges"] = c.edges
        else:
            entry["code"] = _b64([_NO_CATEGORY if k < 0 else k for k in c.codes], "<u2")
        packed["colourings"].append(entry)
    clean = [y if isinstance(y, int) and not isinstance(y, bool) and 0 < y < 0xFFFF else 0 for y in years]
    if any(clean):
        packed["year"] = _b64(clean, "<u2")
    return packed


def unpack_colourings(data: dict[str, Any]) -> dict[str, list[str | None]]:
    """Each track's group under every colour key of a page's data block (None: no value), by key,
    derived as map.js derives them (wire.js ``readColourings``)."""
    tracks = unpack_page_tracks(data)
    cluster_names = {c["id"]: c["name"] for c in data.get("clusters", [])}
    groups = {}
    for entry in data.get("colourings", []):
        names, source = entry["names"], entry.get("from")
        if source == "category":
            values = [t["category"] for t in tracks]
        elif source == "cluster":
            values = [cluster_names.get(t.get("cl")) for t in tracks]
        elif source in ("duration", "tw"):
            inner = entry["edges"][1:-1]
            numbers = [t["duration"] if source == "duration" else t.get(source) for t in tracks]
            values = [None if v is None else names[sum(edge <= v for edge in inner)] for v in numbers]
        else:
            values = [None if k == _NO_CATEGORY else names[k] for k in _unb64(entry["code"], "<u2")]
        groups[entry["key"]] = values
    return groups


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
