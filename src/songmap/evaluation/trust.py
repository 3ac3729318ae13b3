"""Each track's own trustworthiness and continuity: where the map is sure of a track, and where not.

The collection-level figures of :mod:`songmap.evaluation.quality` (scikit-learn's
``trustworthiness``) are means over tracks of a per-track term. For track ``i``,
with ``U_i`` its ``k`` nearest map neighbours that are not among its ``k``
nearest reference neighbours, and ``r(i, j)`` the rank of ``j`` among ``i``'s
reference neighbours (1 = nearest)::

    t_i = 1 - 2 / (k (2n - 3k - 1)) * sum_{j in U_i} (r(i, j) - k)

so ``mean(t_i)`` is exactly ``trustworthiness_at(reference, points, k)``. The
per-track continuity ``c_i`` is the same with the roles of the spaces swapped
(are ``i``'s reference neighbours kept near it on the map?). Both are in
``[0, 1]``, 1 where the map neighbourhood and the feature neighbourhood agree.

Ranks are computed a block of rows at a time (the collection measure holds an
``n × n`` matrix, these hold about 16 million numbers at once), so every track
of a large map gets its own figures, and counted rather than sorted (see ``_ranks_of``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["TRUST_K", "trust_k", "track_trustworthiness", "track_continuity", "trust_with_reference_neighbours"]

#: Neighbourhood size of the per-track figures stored in ``embeddings.json`` (fewer for small maps).
TRUST_K = 10

# Numbers held at once while ranking a block of rows (~128 MB of float64).
_BLOCK_VALUES = 1 << 24


def trust_k(n: int) -> int:
    """The ``k`` of the per-track figures of an ``n``-track map: ``min(10, (n - 1) // 2)``.

    Trustworthiness is only defined for ``k < n / 2``; 0 means the map is too small.

    Examples
    --------
    >>> trust_k(52), trust_k(8), trust_k(2)
    (10, 3, 0)
    """
    return max(0, min(TRUST_K, (int(n) - 1) // 2))


def _distance_blocks(space: np.ndarray, rows: np.ndarray, width: int):
    """Yield ``(start, chunk, distances)``: Euclidean distances from blocks of ``rows`` to every point of ``space``.

    ``distances[m, j]`` is from point ``chunk[m]`` (``rows[start + m]``) to ``j``, infinite
    for the point itself; a block holds about ``_BLOCK_VALUES / width`` rows.
    """
    from sklearn.metrics import pairwise_distances

    n = len(space)
    block = max(1, _BLOCK_VALUES // max(n * max(width, 1), 1))
    for start in range(0, len(rows), block):
        chunk = rows[start : start + block]
        distances = pairwise_distances(space[chunk], space)
        distances[np.arange(len(chunk)), chunk] = np.inf
        yield start, chunk, distances


def _ranks_in(distances: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Rank (1 = nearest) of point ``wanted[m, j]`` in row ``m`` of ``distances`` (see :func:`_ranks_of`)."""
    index = np.arange(distances.shape[1])
    target = np.take_along_axis(distances, wanted, axis=1)[:, :, None]  # (block, k, 1)
    nearer = distances[:, None, :] < target
    tied_before = (distances[:, None, :] == target) & (index[None, None, :] < wanted[:, :, None])
    return 1 + nearer.sum(axis=2) + tied_before.sum(axis=2)


def _ranks_of(space: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Rank (1 = nearest) of point ``cols[i, m]`` among ``rows[i]``'s neighbours in ``space``.

    The rank in the order of a stable ``argsort`` of the Euclidean distances
    (the point itself last): one plus the points strictly nearer, plus the
    equally near ones of lower index. Counted, not sorted: ``O(n k)`` per row
    instead of ``O(n log n)``; equal to scikit-learn's ``trustworthiness``
    order wherever distances are not tied (its ``argsort`` orders ties arbitrarily).
    """
    out = np.empty(cols.shape, dtype=np.int64)
    for start, chunk, distances in _distance_blocks(space, rows, cols.shape[1]):
        out[start : start + len(chunk)] = _ranks_in(distances, cols[start : start + len(chunk)])
    return out


def _near_in(low: np.ndarray, k: int, near_low: np.ndarray | None) -> np.ndarray:
    """Each point's ``k`` nearest others in ``low``: ``near_low`` when already known (saves the query)."""
    from sklearn.neighbors import NearestNeighbors

    if near_low is None:
        return NearestNeighbors(n_neighbors=k).fit(low).kneighbors(return_distance=False)
    return np.asarray(near_low, dtype=np.int64)[:, :k]


def _as_spaces(high: np.ndarray, low: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both spaces as float64 rows, checked to have as many rows."""
    high = np.asarray(high, dtype=np.float64).reshape(len(high), -1)
    low = np.asarray(low, dtype=np.float64).reshape(len(low), -1)
    if len(low) != len(high):
        raise ValueError(f"reference has {len(high)} rows but the map has {len(low)}")
    return high, low


def _from_ranks(ranks: np.ndarray, k: int) -> np.ndarray:
    """``t_i`` from the ``(n, k)`` ranks in the reference of each track's ``k`` map neighbours."""
    n = len(ranks)
    excess = ranks - k
    penalty = np.where(excess > 0, excess, 0).sum(axis=1)
    return 1.0 - penalty * (2.0 / (k * (2.0 * n - 3.0 * k - 1.0)))


def _per_track(high: np.ndarray, low: np.ndarray, k: int, near_low: np.ndarray | None = None) -> np.ndarray | None:
    """``t_i`` of the map ``low`` against the space ``high`` (see the module docstring).

    ``near_low``: each point's ``k`` nearest in ``low`` when already known (saves the query).
    """
    high, low = _as_spaces(high, low)
    n = len(high)
    if not 1 <= k < n / 2:
        return None
    return _from_ranks(_ranks_of(high, np.arange(n), _near_in(low, k, near_low)), k)


def track_trustworthiness(reference: np.ndarray, points: np.ndarray, *, k: int) -> np.ndarray | None:
    """Each track's trustworthiness at ``k``: are its map neighbours near it in ``reference``?

    Parameters
    ----------
    reference : np.ndarray
        ``(n, d)`` features the map was made from (Euclidean distances).
    points : np.ndarray
        ``(n, 2)`` map coordinates, row-aligned with ``reference``.
    k : int
        Neighbourhood size.

    Returns
    -------
    np.ndarray or None
        ``(n,)`` values in ``[0, 1]`` whose mean is
        :func:`songmap.evaluation.quality.trustworthiness_at`; None when
        ``k >= n / 2`` (too few tracks for the measure).
    """
    return _per_track(reference, points, k)


def trust_with_reference_neighbours(
    reference: np.ndarray, points: np.ndarray, *, k: int, n_neighbours: int
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """:func:`track_trustworthiness` and each track's nearest others in ``reference``, from one pass.

    Both need every distance in ``reference`` (the costly part: at 10 000 tracks of
    2 240 values, about 5 s), so each block of them serves both.

    Parameters
    ----------
    reference : np.ndarray
        ``(n, d)`` features the map was made from.
    points : np.ndarray
        ``(n, 2)`` map coordinates, row-aligned with ``reference``.
    k : int
        Neighbourhood size of the trustworthiness.
    n_neighbours : int
        Nearest others wanted per track, at most ``n - 1``.

    Returns
    -------
    trust : np.ndarray or None
        As :func:`track_trustworthiness`.
    indices, distances : np.ndarray
        ``(n, n_neighbours)`` each track's nearest others in ``reference`` (of those tied
        with the last, the lower indices) and their Euclidean distances, in no particular order.
    """
    high, low = _as_spaces(reference, points)
    n = len(high)
    if not 0 <= n_neighbours < max(n, 1):
        raise ValueError(f"n_neighbours must be between 0 and {n - 1}, got {n_neighbours}")
    trusted = 1 <= k < n / 2
    near_low = _near_in(low, k, None) if trusted else np.zeros((n, 0), dtype=np.int64)
    ranks = np.empty(near_low.shape, dtype=np.int64)
    indices = np.empty((n, n_neighbours), dtype=np.int64)
    distances = np.empty((n, n_neighbours))
    for start, chunk, block in _distance_blocks(high, np.arange(n), max(near_low.shape[1], 1)):
        rows = slice(start, start + len(chunk))
        if trusted:
            ranks[rows] = _ranks_in(block, near_low[rows])
        if n_neighbours:
            indices[rows] = _nearest_in(block, n_neighbours)
            distances[rows] = np.take_along_axis(block, indices[rows], axis=1)
    return (_from_ranks(ranks, k) if trusted else None), indices, distances


def _nearest_in(distances: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` smallest entries of each row, of those tied with the ``m``-th the ones of lowest index
    (as a stable sort would pick: equal tracks are listed the same way every time)."""
    kth = np.partition(distances, m - 1, axis=1)[:, m - 1 : m]
    out = np.empty((len(distances), m), dtype=np.int64)
    for row, (d, edge) in enumerate(zip(distances, kth)):
        below = np.flatnonzero(d < edge)
        out[row, : len(below)] = below
        out[row, len(below) :] = np.flatnonzero(d == edge)[: m - len(below)]
    return out


def track_continuity(
    reference: np.ndarray, points: np.ndarray, *, k: int, reference_neighbours: np.ndarray | None = None
) -> np.ndarray | None:
    """Each track's continuity at ``k``: are its ``k`` nearest in ``reference`` near it on the map?

    :func:`track_trustworthiness` with the roles of the two spaces swapped; the
    mean is :func:`songmap.evaluation.quality.continuity_at`.
    ``reference_neighbours``, optional: ``(n, >= k)`` indices of each track's
    nearest others in ``reference``, nearest first (for instance from
    :func:`songmap.evaluation.listening.feature_neighbours`), which saves
    the nearest-neighbour query in ``reference``, the costly part of this measure.
    """
    return _per_track(points, reference, k, near_low=reference_neighbours)
