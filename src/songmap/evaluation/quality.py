"""How faithful a map is to the songs' similarity.

Four measures, all computed from a map (``(n, 2)`` points) and, where needed,
the reference space the map was made from (``(n, d)`` features):

* **trustworthiness@k** (scikit-learn's ``trustworthiness``): are a point's k
  nearest map neighbours also near it in the reference space? 1 = no
  intruders; penalised by how far down the reference ranking each intruder is.
* **continuity@k**: the same with the roles of the two spaces swapped: are the
  k nearest reference neighbours kept together on the map? 1 = none torn apart.
* **kNN category agreement**: the share of each point's k=5 nearest map
  neighbours that have its category (only tracks that have a category count).
* **pair ranks**: for known pairs (e.g. a track and its "(Storm)" variant), the
  rank of b among a's map neighbours and back (1 = nearest); summarised per
  kind of pair (:func:`pair_kind_summary`), on a map or in the reference space
  itself (:func:`pair_ranks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the metrics need only NumPy; these two only type the fitted-map helpers
    from songmap.io.collection import Collection
    from songmap.mapper import SongMapper

__all__ = [
    "neighbour_rank",
    "fitted_map_quality",
    "reference_features",
    "pair_rows",
    "pair_report",
    "pair_ranks",
    "pair_kind_summary",
    "PAIR_KIND_UNNAMED",
    "trustworthiness_at",
    "continuity_at",
    "knn_category_agreement",
    "map_quality",
    "QUALITY_KS",
    "trustworthiness_sample",
]

#: Neighbourhood sizes at which trustworthiness and continuity are reported.
QUALITY_KS = (5, 10)

#: Neighbours whose categories are compared in :func:`knn_category_agreement`.
CATEGORY_K = 5

#: Trustworthiness and continuity need all pairwise distances in both spaces (memory ~ n²);
#: above this many tracks they are computed on a fixed random sample of this size.
MAX_TRUSTWORTHINESS_TRACKS = 2000

#: Above this many points, nearest neighbours come from a k-d tree instead of a dense distance matrix.
_DENSE_LIMIT = 2000


def _nearest(points: np.ndarray, k: int) -> np.ndarray:
    """Indices of each point's ``k`` nearest other points, ``(n, k)``, nearest first."""
    n = len(points)
    if n <= _DENSE_LIMIT:
        distances = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2)
        np.fill_diagonal(distances, np.inf)
        # Stable sort: ties go to the lower row, so the result does not depend on the platform.
        return np.argsort(distances, axis=1, kind="stable")[:, :k]
    from sklearn.neighbors import NearestNeighbors

    _, indices = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    # Each point is normally its own first neighbour; drop it wherever it came back.
    out = np.empty((n, k), dtype=np.int64)
    for i, row in enumerate(indices):
        others = row[row != i]
        out[i] = others[:k]
    return out


def neighbour_rank(points: np.ndarray, i: int, j: int) -> int:
    """Rank of point ``j`` among point ``i``'s neighbours (1 = nearest).

    Ties count in ``j``'s favour: the rank is one more than the number of other
    points strictly closer to ``i`` than ``j`` is.
    """
    points = np.asarray(points, dtype=np.float64)
    distances = np.linalg.norm(points - points[i], axis=1)
    distances[i] = np.inf
    return int(np.sum(distances < distances[j])) + 1


def pair_rows(files: list[str], pairs: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[tuple[int, int]]]:
    """The pairs whose two files are both in ``files``, and their two row numbers.

    A pair may name a file by its relative path or by its bare file name (the first
    file of that name wins).

    Examples
    --------
    >>> pair_rows(["a/x.ogg", "y.ogg"], [{"a": "x.ogg", "b": "y.ogg"}, {"a": "x.ogg", "b": "z.ogg"}])
    ([{'a': 'x.ogg', 'b': 'y.ogg'}], [(0, 1)])
    """
    index: dict[str, int] = {}
    for i, f in enumerate(files):
        index.setdefault(f, i)
        index.setdefault(Path(f).name, i)
    found = [(pair, (index.get(pair["a"]), index.get(pair["b"]))) for pair in pairs]
    found = [(pair, rows) for pair, rows in found if None not in rows]
    return [pair for pair, _ in found], [rows for _, rows in found]


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
    points = np.asarray(points, dtype=np.float64)
    if len(points) >= 2:
        nearest = _nearest(points, 1)[:, 0]
        median_nn = float(np.median(np.linalg.norm(points - points[nearest], axis=1)))
    else:
        median_nn = float("nan")
    report = []
    for pair, (a, b) in zip(*pair_rows(files, pairs)):
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


#: Kind under which :func:`pair_kind_summary` counts pairs whose ``kind`` is empty or missing.
PAIR_KIND_UNNAMED = "pair"


def pair_ranks(files: list[str], points: np.ndarray, pairs: list[dict[str, str]], *, ignore_copies: bool = False) -> list[dict]:
    """Mutual neighbour ranks of each pair whose two files are in ``files``, in any space.

    Like :func:`pair_report` without the distances, so ``points`` may be the
    ``(n, d)`` reference space as well as a ``(n, 2)`` map: each rank costs one
    pass over the ``n`` rows.

    Parameters
    ----------
    files : list of str
        File name of each row (relative paths; pairs may name bare file names).
    points : np.ndarray
        ``(n, d)`` coordinates or features, row-aligned with ``files``.
    pairs : list of dict
        Rows with keys ``a``, ``b`` and optionally ``kind``.
    ignore_copies : bool
        Count only tracks of other music: tracks joined to the pair through
        ``pairs`` (a song's other copies in a copy benchmark, where one original
        has copies of many kinds) do not push the partner down. A pair not
        linked to any other track gets the same ranks either way.

    Returns
    -------
    list of dict
        ``{"a", "b", "kind", "rank_a_to_b", "rank_b_to_a"}`` per pair found.
    """
    points = np.asarray(points, dtype=np.float64).reshape(len(points), -1)
    found, rows = pair_rows(files, pairs)
    group = None
    if ignore_copies and rows:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        a_rows, b_rows = np.array(rows).T
        graph = coo_matrix((np.ones(len(rows)), (a_rows, b_rows)), shape=(len(points), len(points)))
        group = connected_components(graph, directed=False)[1]

    def rank(i: int, j: int) -> int:
        if group is None:
            return neighbour_rank(points, i, j)
        distances = np.linalg.norm(points - points[i], axis=1)
        return int(np.sum((distances < distances[j]) & (group != group[i]))) + 1

    return [
        {"a": pair["a"], "b": pair["b"], "kind": pair.get("kind") or None, "rank_a_to_b": rank(a, b), "rank_b_to_a": rank(b, a)}
        for pair, (a, b) in zip(found, rows)
    ]


def pair_kind_summary(ranks: list[dict]) -> dict[str, dict]:
    """Pair ranks summarised per kind of pair (``storm``, ``pitch+2``, ``lofi``, ...).

    Parameters
    ----------
    ranks : list of dict
        Entries with ``kind`` (None or empty: :data:`PAIR_KIND_UNNAMED`),
        ``rank_a_to_b`` and ``rank_b_to_a``, as made by :func:`pair_ranks` and
        :func:`pair_report`.

    Returns
    -------
    dict
        ``{kind: {"n_pairs", "median_rank_a_to_b", "median_rank_b_to_a", "median_rank",
        "share_rank_1", "share_rank_le_5", "worst_rank"}}`` in the order the kinds first
        appear. ``median_rank`` and the two shares pool both directions (each
        pair counts twice, a→b and b→a); ``worst_rank`` is the largest rank either way.

    Examples
    --------
    >>> pair_kind_summary([{"kind": "lofi", "rank_a_to_b": 1, "rank_b_to_a": 3},
    ...                    {"kind": "lofi", "rank_a_to_b": 7, "rank_b_to_a": 1}])["lofi"]["median_rank"]
    2.0
    """
    by_kind: dict[str, list[tuple[int, int]]] = {}
    for entry in ranks:
        by_kind.setdefault(entry.get("kind") or PAIR_KIND_UNNAMED, []).append(
            (int(entry["rank_a_to_b"]), int(entry["rank_b_to_a"]))
        )
    summary = {}
    for kind, found in by_kind.items():
        forward, backward = np.array(found).T
        both = np.concatenate([forward, backward])
        summary[kind] = {
            "n_pairs": len(found),
            "median_rank_a_to_b": float(np.median(forward)),
            "median_rank_b_to_a": float(np.median(backward)),
            "median_rank": float(np.median(both)),
            "share_rank_1": _rounded(np.mean(both == 1)),
            "share_rank_le_5": _rounded(np.mean(both <= 5)),
            "worst_rank": int(both.max()),
        }
    return summary


def _distance_ranks_valid(n: int, k: int) -> bool:
    # scikit-learn's trustworthiness is only defined (stays within [0, 1]) for k < n / 2.
    return 1 <= k < n / 2


def trustworthiness_at(reference: np.ndarray, points: np.ndarray, k: int) -> float | None:
    """Trustworthiness of the map ``points`` with respect to ``reference`` at ``k`` neighbours.

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
    float or None
        In ``[0, 1]``, 1 when every map neighbourhood is a reference
        neighbourhood; None when ``k >= n / 2`` (too few points for the measure).
    """
    from sklearn.manifold import trustworthiness

    reference = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    points = np.asarray(points, dtype=np.float64)
    if len(reference) != len(points):
        raise ValueError(f"reference has {len(reference)} rows but the map has {len(points)}")
    if not _distance_ranks_valid(len(points), k):
        return None
    return float(trustworthiness(reference, points, n_neighbors=k))


def continuity_at(reference: np.ndarray, points: np.ndarray, k: int) -> float | None:
    """Continuity at ``k``: trustworthiness with the roles of reference and map swapped.

    1 when every point's ``k`` nearest reference neighbours are also among its
    ``k`` nearest map neighbours; None when ``k >= n / 2``.
    """
    reference = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    return trustworthiness_at(np.asarray(points, dtype=np.float64), reference, k)


def knn_category_agreement(points: np.ndarray, categories, k: int = CATEGORY_K) -> float | None:
    """Mean share of each point's ``k`` nearest map neighbours that have its category.

    Only points with a category (not None or empty) take part, as points and as
    neighbours. Ties in distance are broken by row order.

    Parameters
    ----------
    points : np.ndarray
        ``(n, 2)`` map coordinates.
    categories : sequence of str or None
        Category of each point.
    k : int
        Neighbours per point (fewer when fewer points have a category).

    Returns
    -------
    float or None
        In ``[0, 1]``; None when fewer than two distinct categories are present
        (agreement would be trivially 1).
    """
    points = np.asarray(points, dtype=np.float64)
    labelled = [i for i, c in enumerate(categories) if c]
    labels = np.array([categories[i] for i in labelled], dtype=object)
    if len(set(labels)) < 2:
        return None
    sub = points[labelled]
    nearest = _nearest(sub, min(k, len(sub) - 1))
    return float(np.mean(labels[nearest] == labels[:, None]))


def map_quality(
    reference: np.ndarray,
    points: np.ndarray,
    files: list[str] | None = None,
    categories=None,
    pairs: list[dict[str, str]] | None = None,
    ks=QUALITY_KS,
    reference_rows: np.ndarray | None = None,
) -> dict:
    """Every quality figure of one map, as a JSON-ready dict.

    Parameters
    ----------
    reference : np.ndarray
        ``(n, d)`` features the map was made from (flattened model inputs).
    points : np.ndarray
        ``(n, 2)`` map coordinates, row-aligned with ``reference``.
    files : list of str, optional
        File of each row (needed for ``pairs``).
    categories : sequence of str or None, optional
        Category of each row.
    pairs : list of dict, optional
        Known pairs (``a``, ``b``, ``kind``), as read by :func:`songmap.io.tables.read_pairs`.
    ks : sequence of int
        Neighbourhood sizes of trustworthiness and continuity.
    reference_rows : np.ndarray, optional
        When ``reference`` only holds some rows of the map (a sample chosen with
        :func:`trustworthiness_sample`, so huge collections need not be held
        whole), their indices into ``points``.

    Returns
    -------
    dict
        ``{"n_tracks", "trustworthiness": {"5": .., "10": ..}, "continuity": {..},
        "knn_category_agreement", "knn_category_k", "pairs": [...]}``; a figure that
        cannot be computed (too few tracks, no categories) is None, ``pairs`` is
        only there when pairs were given. Above
        :data:`MAX_TRUSTWORTHINESS_TRACKS` tracks, trustworthiness and continuity
        are those of a fixed random sample, whose size is given as ``"sampled"``.
    """
    reference = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    points = np.asarray(points, dtype=np.float64)
    if reference_rows is None:
        sample = trustworthiness_sample(len(points))
        reference = reference[sample]
    else:
        sample = np.asarray(reference_rows, dtype=np.int64)
    result: dict = {
        "n_tracks": int(len(points)),
        "trustworthiness": {str(k): _rounded(trustworthiness_at(reference, points[sample], k)) for k in ks},
        "continuity": {str(k): _rounded(continuity_at(reference, points[sample], k)) for k in ks},
        "knn_category_agreement": _rounded(knn_category_agreement(points, categories)) if categories is not None else None,
        "knn_category_k": CATEGORY_K,
    }
    if len(sample) < len(points):
        result["sampled"] = int(len(sample))
    if pairs is not None:
        if files is None:
            raise ValueError("pairs need the file name of each row")
        result["pairs"] = [
            {key: p[key] for key in ("a", "b", "kind", "rank_a_to_b", "rank_b_to_a")} for p in pair_report(files, points, pairs)
        ]
    return result


def trustworthiness_sample(n: int) -> np.ndarray:
    """Rows on which trustworthiness and continuity of an ``n``-track map are measured: all of them,
    or a fixed random :data:`MAX_TRUSTWORTHINESS_TRACKS` of them (seed 0, sorted)."""
    if n <= MAX_TRUSTWORTHINESS_TRACKS:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, MAX_TRUSTWORTHINESS_TRACKS, replace=False))


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def reference_features(mapper: SongMapper, paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """A fitted mapper's reference space for ``paths`` (:meth:`SongMapper.features_for`), rows it has.

    A file that changed or vanished since fitting has no reference row; it is left out.

    Returns
    -------
    features : np.ndarray
        ``(m, d)`` rows of the files that have one...
    kept : np.ndarray
        ...and their indices into ``paths``.
    """
    reference = mapper.features_for(paths)
    kept = np.flatnonzero(np.all(np.isfinite(reference), axis=1))
    return reference[kept], kept


def fitted_map_quality(
    collection: Collection, mapper: SongMapper, pairs: list[dict] | None = None, *, reference: np.ndarray | None = None
) -> dict:
    """Quality figures of the map a fitted mapper made of ``collection`` (``embeddings.json`` "quality").

    Measured against :meth:`SongMapper.features_for` (the normalised model
    inputs, flattened) of the mapped tracks; see :func:`map_quality`.
    ``reference``, when the caller has already read them, are those features
    of every mapped track (``(n_mapped, d)``, NaN rows for files without one);
    otherwise only the rows trustworthiness is measured on are read.
    """
    rows = np.flatnonzero(np.all(np.isfinite(mapper.embedding_), axis=1))
    # Only the rows trustworthiness is measured on are needed (all of them up to 2000 tracks).
    sample = trustworthiness_sample(len(rows))
    if reference is None:
        reference, usable = reference_features(mapper, [collection.files[rows[k]] for k in sample])
    else:
        reference = np.asarray(reference)[sample]
        usable = np.flatnonzero(np.all(np.isfinite(reference), axis=1))
        reference = reference[usable]
    quality = map_quality(
        reference,
        mapper.embedding_[rows],
        files=[collection.relative(collection.files[i]) for i in rows],
        categories=[collection.category(collection.files[i]) for i in rows],
        pairs=pairs,
        reference_rows=sample[usable],
    )
    return {"reference_space": mapper.reference_space_name, **quality}
