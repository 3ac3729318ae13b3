"""Listening along a map: feature-space neighbours, paths from one track to another, "more like this".

Everything here works from what ``embeddings.json`` stores per track (the map
page implements the same algorithms in JavaScript and must give the same
lists): ``neighbours[i]`` (indices of track ``i``'s ``k`` nearest tracks in the
model's feature space, nearest first), ``neighbour_distances[i]`` (their
Euclidean distances, rounded to :data:`DISTANCE_DECIMALS` decimals) and the map
coordinates ``x``, ``y``. A map written before these keys existed is handled by
:func:`feature_neighbours` of the map coordinates instead.

**The graph.** Undirected: tracks ``i`` and ``j`` are joined when either lists
the other; the edge's distance ``w(i, j)`` is the listed distance (the smaller
one when both list it). ``W`` is the largest edge distance in the graph (1 when
there is no edge). ``w'(i, j)`` is ``w(i, j)`` for joined tracks, else ``W``.

**Path from A to B** (:func:`find_path`), A ≠ B:

1. *Shortest distances.* ``d[v]``: the length of the shortest path from A to
   ``v`` where each edge costs ``w(i, j) + HOP_COST`` (:data:`HOP_COST` = 1e-4,
   so that duplicates at distance 0 still make a strict order); any correct
   Dijkstra gives the same values (songmap uses ``scipy.sparse.csgraph.dijkstra``).
2. *Route.* Walk back from B: the predecessor of ``v`` is the **lowest-index**
   neighbour ``u`` of ``v`` with ``|d[u] + w(u, v) + HOP_COST - d[v]| <= 1e-6``.
   The route is A … B, no track twice.
3. *Unreachable B* (A and B in different parts of the graph): let ``C_A`` be
   the tracks reachable from A and ``C_B`` those reachable from B; take the pair
   ``u`` in ``C_A``, ``v`` in ``C_B`` closest on the map (Euclidean in ``x, y``;
   ties: lowest ``u``, then lowest ``v``); the route is the route A → u (step 2),
   one jump u → v (a *bridge*, distance ``W``) and the route v → B. (If B is
   still not reached from ``v`` that cannot happen: ``v`` and B are connected.)
4. *Length N* (optional, ``2 <= N <= n``). Let the route be ``P_0 … P_m``
   (``m + 1`` tracks) with step distances ``s_t = w'(P_{t-1}, P_t)`` (a bridge
   step is ``W``) and cumulative ``c_0 = 0``, ``c_t = c_{t-1} + s_t``, ``L = c_m``.

   * ``N == m + 1``: the route as it is.
   * ``N < m + 1`` (subsample evenly along the route): keep ``P_0`` and ``P_m``;
     for ``j = 1 … N-2`` in order, with target ``T_j = L * j / (N - 1)``, keep the
     ``P_i`` with ``i`` in ``[i_{j-1} + 1, m - (N - 1 - j)]`` that minimises
     ``|c_i - T_j|`` (ties: the lower ``i``).
   * ``N > m + 1`` (lengthen by cheapest detours): repeat until the list has N
     tracks: over every step ``t`` (between ``P_t`` and ``P_{t+1}`` of the
     current list) and every track ``x`` not yet in it, find the least
     ``w'(P_t, x) + w'(x, P_{t+1}) - w'(P_t, P_{t+1})`` (ties: the lowest ``t``,
     then the lowest ``x``) and insert ``x`` between ``P_t`` and ``P_{t+1}``.
     In these sums ``w'`` of two consecutive tracks joined by a bridge is ``W``.

**More like this** from a seed S (:func:`similar_tracks`, ``1 <= N <= n``):
``d`` as in step 1 from S; tracks the graph cannot reach get ``d = inf``. Take S
and the ``N - 1`` other tracks of least ``d`` (ties, and the unreachable ones
among themselves: by map distance to S, then lowest index). Order them by a
walk: start at S; the next track is the remaining chosen one nearest the
current one by ``d_current`` (the step-1 distances from the current track; ties
and unreachable ones as above, by map distance to the current track, then
lowest index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "DISTANCE_DECIMALS",
    "HOP_COST",
    "NEIGHBOUR_K",
    "PathResult",
    "feature_neighbours",
    "neighbour_k",
    "neighbour_graph",
    "find_path",
    "similar_tracks",
    "listening_keys",
]

#: Neighbours stored per track (fewer when the map has fewer other tracks).
NEIGHBOUR_K = 10
#: Decimals of the stored neighbour distances.
DISTANCE_DECIMALS = 4
#: Cost of each step of a path on top of its distance (orders paths through duplicates).
HOP_COST = 1e-4
#: Tolerance when matching shortest distances while walking a path back.
_TOLERANCE = 1e-6


def neighbour_k(n: int) -> int:
    """Neighbours stored per track of an ``n``-track map: ``min(10, n - 1)``."""
    return max(0, min(NEIGHBOUR_K, int(n) - 1))


def feature_neighbours(features: np.ndarray, *, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each track's ``k`` nearest other tracks (Euclidean), nearest first.

    Parameters
    ----------
    features : np.ndarray
        ``(n, d)`` reference features (or ``(n, 2)`` map coordinates).
    k : int
        Neighbours per track, at most ``n - 1``.

    Returns
    -------
    indices : np.ndarray
        ``(n, k)`` int, ordered by distance, then by index.
    distances : np.ndarray
        ``(n, k)`` float, rounded to :data:`DISTANCE_DECIMALS` decimals.
    """
    from sklearn.neighbors import NearestNeighbors

    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    n = len(features)
    if not 0 <= k < max(n, 1):
        raise ValueError(f"k must be between 0 and {n - 1}, got {k}")
    if k == 0:
        return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0))
    distances, indices = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features)
    return _stored_order(indices, distances, k)


def _stored_order(indices: np.ndarray, distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` neighbours per row as stored: the row's own index left out, distances rounded to
    :data:`DISTANCE_DECIMALS`, ordered by distance, then by index."""
    n = len(indices)
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k))
    for row in range(n):
        # A track is normally its own first neighbour, but a duplicate may come back first.
        keep = indices[row] != row
        others, dist = indices[row][keep][:k], distances[row][keep][:k]
        dist = np.round(dist, DISTANCE_DECIMALS)
        order = np.lexsort((others, dist))
        out_i[row], out_d[row] = others[order], dist[order]
    return out_i, out_d


def neighbour_graph(neighbours, distances, n: int | None = None):
    """The undirected neighbour graph as a SciPy CSR matrix of edge distances ``w(i, j)``.

    ``neighbours``/``distances`` are per-track lists (ragged allowed: a track may
    list none). Returns ``(graph, W)`` with ``W`` the largest edge distance (1
    without edges); stored zeros are edges.
    """
    from scipy.sparse import csr_matrix

    n = len(neighbours) if n is None else n
    weights: dict[tuple[int, int], float] = {}
    for i, (row, dist) in enumerate(zip(neighbours, distances)):
        for j, w in zip(row, dist):
            j, w = int(j), float(w)
            if j == i or not 0 <= j < n:
                continue
            key = (min(i, j), max(i, j))
            weights[key] = min(w, weights.get(key, np.inf))
    rows = [a for a, b in weights] + [b for a, b in weights]
    cols = [b for a, b in weights] + [a for a, b in weights]
    data = list(weights.values()) * 2
    graph = csr_matrix((np.array(data, dtype=np.float64), (rows, cols)), shape=(n, n))
    graph.sort_indices()
    return graph, (max(weights.values()) if weights else 1.0)


def _distances_from(graph, source: int) -> np.ndarray:
    """Step 1: shortest distances from ``source`` with :data:`HOP_COST` per step (inf: unreachable)."""
    from scipy.sparse.csgraph import dijkstra

    costs = graph.copy()
    costs.data = costs.data + HOP_COST
    return dijkstra(costs, directed=True, indices=source)


def _route(graph, source: int, target: int, d: np.ndarray) -> list[int]:
    """Step 2: the route from ``source`` to ``target`` by walking back lowest-index predecessors."""
    route = [target]
    v = target
    while v != source:
        start, stop = graph.indptr[v], graph.indptr[v + 1]
        candidates = graph.indices[start:stop]  # sorted, so the first match is the lowest index
        weights = graph.data[start:stop]
        match = np.flatnonzero(np.abs(d[candidates] + weights + HOP_COST - d[v]) <= _TOLERANCE)
        v = int(candidates[match[0]])
        route.append(v)
    return route[::-1]


@dataclass
class PathResult:
    """What :func:`find_path` found."""

    #: Track indices from start to end.
    tracks: list[int]
    #: The shortest route before spacing it to ``length`` tracks.
    route: list[int]
    #: ``(u, v)``: the route jumps from ``u`` to ``v`` across parts of the graph (step 3); else None.
    bridge: tuple[int, int] | None = None


def _weight(graph, W: float, a: int, b: int) -> float:
    """``w'(a, b)``: the edge distance of joined tracks, else (a bridge included) ``W``."""
    start, stop = graph.indptr[a], graph.indptr[a + 1]
    at = np.flatnonzero(graph.indices[start:stop] == b)
    return float(graph.data[start + at[0]]) if len(at) else W


def _spaced(route: list[int], steps: list[float], length: int) -> list[int]:
    """Step 4, ``N < m + 1``: keep ``length`` tracks evenly spaced along the route."""
    m = len(route) - 1
    cumulative = [0.0]
    for s in steps:
        cumulative.append(cumulative[-1] + s)
    total = cumulative[-1]
    kept = [0]
    for j in range(1, length - 1):
        target = total * j / (length - 1)
        lo, hi = kept[-1] + 1, m - (length - 1 - j)
        kept.append(min(range(lo, hi + 1), key=lambda i: (abs(cumulative[i] - target), i)))
    kept.append(m)
    return [route[i] for i in kept]


def _lengthened(route: list[int], graph, W: float, length: int, n: int) -> list[int]:
    """Step 4, ``N > m + 1``: insert the cheapest detours until the list has ``length`` tracks."""
    dense_rows: dict[int, np.ndarray] = {}

    def row(a: int) -> np.ndarray:  # w'(a, x) for every x
        if a not in dense_rows:
            values = np.full(n, W)
            start, stop = graph.indptr[a], graph.indptr[a + 1]
            values[graph.indices[start:stop]] = graph.data[start:stop]
            dense_rows[a] = values
        return dense_rows[a]

    tracks = list(route)
    # Step weights of the current list (a bridge step weighs W).
    steps = [_weight(graph, W, a, b) for a, b in zip(tracks, tracks[1:])]
    while len(tracks) < length:
        visited = np.zeros(n, dtype=bool)
        visited[tracks] = True
        costs = np.stack([row(a) + row(b) - s for a, b, s in zip(tracks, tracks[1:], steps)])
        costs[:, visited] = np.inf
        t, x = np.unravel_index(int(np.argmin(costs)), costs.shape)  # row-major: lowest t, then lowest x
        a, b = tracks[t], tracks[t + 1]
        tracks.insert(t + 1, int(x))
        steps[t : t + 1] = [float(row(a)[x]), float(row(b)[x])]
    return tracks


def _map_distances(points: np.ndarray, i: int) -> np.ndarray:
    return np.linalg.norm(points - points[i], axis=1)


def find_path(*, neighbours, distances, points: np.ndarray, start: int, end: int, length: int | None = None) -> PathResult:
    """A smooth ordered list of tracks from ``start`` to ``end`` (the algorithm is in the module docstring).

    Parameters
    ----------
    neighbours, distances : sequence of sequences
        Each track's neighbour indices and their distances (``embeddings.json``'s
        ``neighbours``/``neighbour_distances``, or :func:`feature_neighbours`).
    points : np.ndarray
        ``(n, 2)`` map coordinates (only used to bridge parts of the graph).
    start, end : int
        Track indices, different.
    length : int, optional
        Number of tracks wanted, ``2 <= length <= n``; the shortest route when None.

    Returns
    -------
    PathResult
        No track twice; starts at ``start``, ends at ``end``; exactly ``length``
        tracks when given.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    for name, index in (("start", start), ("end", end)):
        if not 0 <= index < n:
            raise ValueError(f"{name} must be a track index below {n}, got {index}")
    if start == end:
        raise ValueError("the start and the end are the same track: choose two different tracks")
    if length is not None and not 2 <= length <= n:
        raise ValueError(f"the length must be between 2 and the map's {n} tracks, got {length}")
    graph, W = neighbour_graph(neighbours, distances, n)
    d = _distances_from(graph, start)
    bridge = None
    if np.isfinite(d[end]):
        route = _route(graph, start, end, d)
    else:
        d_end = _distances_from(graph, end)
        from_a, to_b = np.flatnonzero(np.isfinite(d)), np.flatnonzero(np.isfinite(d_end))
        gaps = np.linalg.norm(points[from_a][:, None, :] - points[to_b][None, :, :], axis=2)
        u_at, v_at = np.unravel_index(int(np.argmin(gaps)), gaps.shape)  # row-major: lowest u, then v
        u, v = int(from_a[u_at]), int(to_b[v_at])
        bridge = (u, v)
        route = _route(graph, start, u, d) + _route(graph, v, end, _distances_from(graph, v))
    if length is None or length == len(route):
        tracks = list(route)
    elif length < len(route):
        steps = [_weight(graph, W, a, b) for a, b in zip(route, route[1:])]
        tracks = _spaced(route, steps, length)
    else:
        tracks = _lengthened(route, graph, W, length, n)
    return PathResult(tracks, list(route), bridge)


def _nearest_order(candidates: np.ndarray, d: np.ndarray, map_distance: np.ndarray) -> np.ndarray:
    """``candidates`` by graph distance, then map distance, then index (inf graph distances last)."""
    return candidates[np.lexsort((candidates, map_distance[candidates], d[candidates]))]


def similar_tracks(*, neighbours, distances, points: np.ndarray, seed: int, length: int) -> list[int]:
    """A "more like this" list of ``length`` tracks starting at ``seed`` (see the module docstring).

    Parameters
    ----------
    neighbours, distances : sequence of sequences
        As for :func:`find_path`.
    points : np.ndarray
        ``(n, 2)`` map coordinates (break ties and order tracks the graph cannot reach).
    seed : int
        Index of the first track.
    length : int
        Tracks wanted, ``1 <= length <= n``.

    Returns
    -------
    list of int
        ``seed`` first, no track twice.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if not 0 <= seed < n:
        raise ValueError(f"seed must be a track index below {n}, got {seed}")
    if not 1 <= length <= n:
        raise ValueError(f"the length must be between 1 and the map's {n} tracks, got {length}")
    graph, _ = neighbour_graph(neighbours, distances, n)
    others = np.array([i for i in range(n) if i != seed], dtype=np.int64)
    chosen = _nearest_order(others, _distances_from(graph, seed), _map_distances(points, seed))[: length - 1]
    playlist = [seed]
    remaining = np.array(sorted(int(i) for i in chosen), dtype=np.int64)
    while len(remaining):
        current = playlist[-1]
        nxt = int(_nearest_order(remaining, _distances_from(graph, current), _map_distances(points, current))[0])
        playlist.append(nxt)
        remaining = remaining[remaining != nxt]
    return playlist


def listening_keys(
    *, features: np.ndarray, points: np.ndarray, titles: list[str], categories: list[str | None]
) -> tuple[list[dict], list[dict]]:
    """What ``embeddings.json`` stores per track for listening, and its clusters.

    Parameters
    ----------
    features : np.ndarray
        ``(n, d)`` reference features of the mapped tracks; a NaN row (a file that
        changed since fitting) has no neighbours, no figures and no cluster, and
        is nobody's neighbour.
    points : np.ndarray
        ``(n, 2)`` map coordinates.
    titles, categories : list
        Title and category (or None) of each track.

    Returns
    -------
    keys : list of dict
        Per track: ``neighbours``, ``neighbour_distances`` (``min(10, n - 1)``,
        see :func:`feature_neighbours`), ``cluster``, ``cluster_name``,
        ``trustworthiness``, ``continuity`` (at :func:`songmap.evaluation.trust.trust_k`,
        rounded to 4 decimals, None for maps too small).
    clusters : list of dict
        :func:`songmap.evaluation.clusters.name_clusters` (indices into all ``n`` tracks).
    """
    from songmap.evaluation.clusters import find_clusters, name_clusters
    from songmap.evaluation.trust import track_continuity, trust_k, trust_with_reference_neighbours

    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    points = np.asarray(points, dtype=np.float64)
    n = len(features)
    kept = np.flatnonzero(np.all(np.isfinite(features), axis=1))
    sub = features[kept]
    keys = [
        {"neighbours": [], "neighbour_distances": [], "cluster": -1, "cluster_name": None,
         "trustworthiness": None, "continuity": None}
        for _ in range(n)
    ]
    k, n_neighbours = trust_k(len(kept)), neighbour_k(len(kept))
    # One pass over the feature distances gives the trust and the feature neighbours (as
    # feature_neighbours orders them), which are the continuity's reference neighbours too.
    trust, nearest, distances = trust_with_reference_neighbours(sub, points[kept], k=k, n_neighbours=n_neighbours)
    indices, dists = _stored_order(nearest, distances, n_neighbours)
    cont = track_continuity(sub, points[kept], k=k, reference_neighbours=indices) if k else None
    labels = find_clusters(sub) if len(kept) else np.zeros(0, dtype=np.int64)
    clusters = name_clusters(sub, labels, titles=[titles[i] for i in kept], categories=[categories[i] for i in kept])
    for cluster in clusters:
        cluster["centre"] = int(kept[cluster["centre"]])
    names = {c["id"]: c["name"] for c in clusters}
    for row, i in enumerate(kept):
        keys[i].update(
            neighbours=[int(kept[j]) for j in indices[row]],
            neighbour_distances=[float(d) for d in dists[row]],
            cluster=int(labels[row]),
            cluster_name=names.get(int(labels[row])),
            trustworthiness=None if trust is None else round(float(trust[row]), 4),
            continuity=None if cont is None else round(float(cont[row]), 4),
        )
    return keys, clusters
