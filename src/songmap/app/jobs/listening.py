"""The ``path`` and ``playlist`` jobs: ordered lists of a map's tracks, printed or written as M3U8/CSV.

The lists come from :mod:`songmap.evaluation.listening` over the neighbours
stored in ``embeddings.json``; a map written before those existed uses its map
coordinates' neighbours instead (and says so in a note).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from songmap.app.jobs.common import finish_interrupted_map
from songmap.evaluation.listening import feature_neighbours, find_path, neighbour_k, similar_tracks
from songmap.report.documents import EMBEDDINGS_FILENAME, is_finite_number, read_embeddings
from songmap.report.playlists import PLAYLIST_EXTENSIONS, is_songmap_playlist, write_playlist

__all__ = ["PlaylistResult", "find_track", "path_playlist", "similar_playlist"]


@dataclass
class PlaylistResult:
    """What :func:`path_playlist` or :func:`similar_playlist` made."""

    #: The tracks of ``embeddings.json``, in playlist order.
    tracks: list[dict]
    #: Their indices into ``embeddings.json``'s ``tracks``.
    indices: list[int]
    #: The playlist's name (the M3U8 ``#PLAYLIST``).
    name: str
    #: The file written, or None when none was asked for.
    output: Path | None = None
    #: ``"m3u8"`` or ``"csv"`` when a file was written.
    format: str | None = None
    #: One-line notes for the user (a fallback taken, a jump between parts of the map).
    notes: list[str] = field(default_factory=list)
    #: Notes about an interrupted ``map`` whose outputs were completed first.
    recovered: list[str] = field(default_factory=list)


def find_track(doc: dict, name: str | os.PathLike) -> int:
    """Index of the track ``name`` names in an embeddings document.

    Tried in order: the ``file`` as written in ``embeddings.json``; a path
    (absolute, or relative to the working folder) to that file under
    ``input_dir``; a bare file name that only one track has; a title, ignoring
    case, that only one track has.

    Raises
    ------
    ValueError
        One line: no such track, or the candidates when several match.
    """
    tracks = doc["tracks"]
    text = os.fspath(name)
    files = [t["file"] for t in tracks]
    if text in files:
        return files.index(text)
    root = Path(doc["input_dir"])
    wanted = os.path.normpath(os.path.abspath(text))
    for i, file in enumerate(files):
        if os.path.normpath(os.path.abspath(root / file)) == wanted:
            return i
    for candidates in (
        [i for i, file in enumerate(files) if Path(file).name == text],
        [i for i, t in enumerate(tracks) if str(t.get("title") or "").casefold() == text.casefold()],
    ):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            listed = ", ".join(files[i] for i in candidates[:8]) + (", ..." if len(candidates) > 8 else "")
            raise ValueError(f"{text!r} matches {len(candidates)} tracks ({listed}): give the file instead")
    raise ValueError(f"no track {text!r} on the map: give a file as listed in {EMBEDDINGS_FILENAME} or a title")


def _neighbours(doc: dict, source: str) -> tuple[list, list, np.ndarray, list[str]]:
    """The stored neighbour lists (checked), or the map coordinates' with a note; and the points."""
    tracks = doc["tracks"]
    n = len(tracks)
    points = np.array([[t["x"], t["y"]] for t in tracks], dtype=np.float64).reshape(-1, 2)
    if not all("neighbours" in t and "neighbour_distances" in t for t in tracks):
        indices, distances = feature_neighbours(points, k=neighbour_k(n))
        note = (f"{source} has no feature-space neighbours (written by an older songmap): "
                "using neighbours on the map; run `songmap map` again for paths through the features")
        return indices.tolist(), distances.tolist(), points, [note]
    for i, t in enumerate(tracks):
        ids, dist = t["neighbours"], t["neighbour_distances"]
        if not (isinstance(ids, list) and isinstance(dist, list) and len(ids) == len(dist)
                and all(isinstance(j, int) and not isinstance(j, bool) and 0 <= j < n for j in ids)
                and all(is_finite_number(d) and d >= 0 for d in dist)):
            raise ValueError(f"{source}: tracks[{i}].neighbours/neighbour_distances must be lists of track "
                             "indices and of distances of the same length")
    return [t["neighbours"] for t in tracks], [t["neighbour_distances"] for t in tracks], points, []


def _check_output(out_dir: Path, output: str | os.PathLike | None, force: bool,
                  relative_to: str | os.PathLike | None = None) -> Path | None:
    """The output file, refused (ValueError) where writing it could lose something of the user's."""
    if relative_to is not None and output is None:
        raise ValueError("--relative-to is for a playlist file: give --output too")
    if relative_to is not None and not Path(relative_to).is_dir():
        raise ValueError(f"--relative-to is not a folder: {relative_to}")
    if output is None:
        return None
    target = Path(output)
    if target.suffix.lower() not in PLAYLIST_EXTENSIONS:
        raise ValueError(f"--output must end in {', '.join(PLAYLIST_EXTENSIONS)} (the format), got {target.name!r}")
    if target.is_dir():
        raise ValueError(f"--output is a folder, not a file: {target}")
    if target.name in (EMBEDDINGS_FILENAME, "embeddings.csv") and target.resolve().parent == out_dir.resolve():
        raise ValueError(f"--output would replace the map itself: {target}")
    if target.exists() and not force and not is_songmap_playlist(target):
        raise ValueError(f"{target} exists and is not a playlist songmap wrote: use --force to replace it")
    return target


def _finish(doc: dict, indices: list[int], name: str, target: Path | None, notes: list[str],
            recovered: list[str], relative_to: str | os.PathLike | None = None) -> PlaylistResult:
    tracks = [doc["tracks"][i] for i in indices]
    kind = None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        kind = write_playlist(target, tracks, input_dir=doc["input_dir"], name=name, relative_to=relative_to)
    return PlaylistResult(tracks, indices, name, target, kind, notes, recovered)


def path_playlist(
    out_dir: str | os.PathLike,
    start: str | os.PathLike,
    end: str | os.PathLike,
    *,
    length: int | None = None,
    output: str | os.PathLike | None = None,
    force: bool = False,
    relative_to: str | os.PathLike | None = None,
) -> PlaylistResult:
    """Tracks from ``start`` to ``end`` that move smoothly through the map's feature space.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder of ``songmap map``.
    start, end : str or os.PathLike
        Tracks, as :func:`find_track` reads them; different.
    length : int, optional
        Exactly this many tracks (2 to the number of tracks); by default the
        shortest route. See :func:`songmap.evaluation.listening.find_path`.
    output : str or os.PathLike, optional
        Playlist to write, ``.m3u8``/``.m3u``, ``.xspf`` or ``.csv``
        (:mod:`songmap.report.playlists`).
    force : bool
        Replace an existing ``output`` that is not a playlist songmap wrote.
    relative_to : str or os.PathLike, optional
        Write M3U8/XSPF locations relative to this folder (a media server's library root), not
        to the playlist's; every track must lie inside it.

    Raises
    ------
    ValueError, FileNotFoundError
        One-line messages: unknown or ambiguous track, bad length, refused output.
    """
    out_dir = Path(out_dir)
    recovered = finish_interrupted_map(out_dir)
    doc = read_embeddings(out_dir)
    a, b = find_track(doc, start), find_track(doc, end)
    if a == b:
        raise ValueError(f"--from and --to name the same track ({doc['tracks'][a]['file']}): choose two")
    target = _check_output(out_dir, output, force, relative_to)
    neighbours, distances, points, notes = _neighbours(doc, str(out_dir / EMBEDDINGS_FILENAME))
    found = find_path(neighbours=neighbours, distances=distances, points=points, start=a, end=b, length=length)
    if found.bridge is not None:
        u, v = (doc["tracks"][i]["file"] for i in found.bridge)
        notes.append(f"no chain of neighbours joins the two tracks: the path jumps from {u} to {v}, the closest on the map")
    title = [doc["tracks"][i].get("title") or doc["tracks"][i]["file"] for i in (a, b)]
    return _finish(doc, found.tracks, f"Path from {title[0]} to {title[1]}", target, notes, recovered, relative_to)


def similar_playlist(
    out_dir: str | os.PathLike,
    seed: str | os.PathLike,
    *,
    length: int,
    output: str | os.PathLike | None = None,
    force: bool = False,
    relative_to: str | os.PathLike | None = None,
) -> PlaylistResult:
    """``length`` tracks like ``seed``, starting with it ("more like this").

    See :func:`songmap.evaluation.listening.similar_tracks`; the other
    parameters are those of :func:`path_playlist`.
    """
    out_dir = Path(out_dir)
    recovered = finish_interrupted_map(out_dir)
    doc = read_embeddings(out_dir)
    s = find_track(doc, seed)
    target = _check_output(out_dir, output, force, relative_to)
    neighbours, distances, points, notes = _neighbours(doc, str(out_dir / EMBEDDINGS_FILENAME))
    indices = similar_tracks(neighbours=neighbours, distances=distances, points=points, seed=s, length=length)
    title = doc["tracks"][s].get("title") or doc["tracks"][s]["file"]
    return _finish(doc, indices, f"More like {title}", target, notes, recovered, relative_to)
