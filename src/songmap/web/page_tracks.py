"""Per-track sanitising: what the map page shows of each track, checked, rounded and short-named.

Titles, file names and the optional listening keys come from an ``embeddings.json`` that may be
old, hand-edited or from another tool: a malformed optional key is left out, so the page falls
back (map-coordinate neighbours, no cluster layer, no trust rings) instead of failing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from songmap.report.documents import is_finite_number

__all__ = ["page_clusters", "page_track"]


def _short_float(value: float) -> float:
    # Seven significant digits are far below a pixel at any sane zoom and keep
    # a 10 000-track page small.
    return float(f"{value:.7g}")


def _is_index(value: Any, count: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def _unit_or_none(value: Any) -> float | None:
    return round(float(value), 4) if is_finite_number(value) and 0 <= value <= 1 else None


def _listening_keys(track: dict[str, Any], index: int, count: int) -> dict[str, Any]:
    """A track's optional listening keys, checked, rounded and short-named.

    Absent or malformed keys are left out: ``nb``/``nd`` the feature-space neighbours and their
    distances, ``cl`` the cluster id, ``tw``/``ct`` the track's trustworthiness and continuity,
    ``path`` its trajectory of windows.
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
        keys["nd"] = distances   # sent as float32 (songmap.web.page_wire.pack_tracks)
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


def page_clusters(doc: dict[str, Any], tracks: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def page_track(track: dict[str, Any], audio_url: str, index: int = 0, count: int = 0) -> dict[str, Any]:
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
