"""How faithful a map is: neighbour ranks of known pairs (e.g. a track and its "(Storm)" variant)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from songmap.collection import read_table

__all__ = ["neighbour_rank", "read_pairs", "pair_report"]


def neighbour_rank(points: np.ndarray, i: int, j: int) -> int:
    """Rank of point ``j`` among point ``i``'s neighbours (1 = nearest).

    Ties count in ``j``'s favour: the rank is one more than the number of other
    points strictly closer to ``i`` than ``j`` is.
    """
    points = np.asarray(points, dtype=np.float64)
    distances = np.linalg.norm(points - points[i], axis=1)
    distances[i] = np.inf
    return int(np.sum(distances < distances[j])) + 1


def read_pairs(csv_path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a pairs CSV (columns ``a``, ``b``, optional ``kind``), read like metadata.csv.

    Raises
    ------
    MetadataError
        Unreadable file or missing columns.
    """
    return read_table(csv_path, required=("a", "b"), what="pairs")


def pair_report(files: list[str], points: np.ndarray, pairs: list[dict[str, str]]) -> list[dict]:
    """Distance and mutual neighbour ranks of each pair whose two files are on the map.

    Parameters
    ----------
    files : list of str
        File name of each map point (relative paths; pairs may name bare file names).
    points : np.ndarray
        ``(n, 2)`` coordinates, row-aligned with ``files``.
    pairs : list of dict
        Rows with keys ``a``, ``b`` and optionally ``kind``.

    Returns
    -------
    list of dict
        ``{"a", "b", "kind", "distance", "rank_a_to_b", "rank_b_to_a"}`` per pair
        found; the map's median nearest-neighbour distance is given as
        ``"median_nn_distance"`` so a distance can be read on its scale.
    """
    index: dict[str, int] = {}
    for i, f in enumerate(files):
        index.setdefault(f, i)
        index.setdefault(Path(f).name, i)
    points = np.asarray(points, dtype=np.float64)
    if len(points) >= 2:
        d = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2)
        np.fill_diagonal(d, np.inf)
        median_nn = float(np.median(d.min(axis=1)))
    else:
        median_nn = float("nan")
    report = []
    for pair in pairs:
        a, b = index.get(pair["a"]), index.get(pair["b"])
        if a is None or b is None:
            continue
        report.append(
            {
                "a": pair["a"],
                "b": pair["b"],
                "kind": pair.get("kind") or None,
                "distance": float(np.linalg.norm(points[a] - points[b])),
                "rank_a_to_b": neighbour_rank(points, a, b),
                "rank_b_to_a": neighbour_rank(points, b, a),
                "median_nn_distance": median_nn,
            }
        )
    return report
