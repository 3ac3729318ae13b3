"""Named clusters of a map: families of tracks found by scikit-learn's ``HDBSCAN``, no count to pick.

**Which space.** Clusters are found in the model's reference space (the
features the map was made from, :func:`songmap.evaluation.quality.reference_features`),
reduced by PCA to at most :data:`CLUSTER_COMPONENTS` components so large maps
stay fast; on the demo map and on ``../shared/audio/games`` the 32 components
give the same clusters as the full space. Measured with the rule below
(``min_cluster_size = 4`` at these sizes), against the metadata's categories
(adjusted Rand index, noise counted as its own label):

=============================  ====================  ====================
                               feature space         2-D map
=============================  ====================  ====================
demo (34 tracks)               2 clusters, ARI 0.62  3 clusters, ARI 0.47
games (52 tracks)              2 clusters, ARI 0.30  3 clusters, ARI 0.12
=============================  ====================  ====================

The feature space agrees better with the categories, is the space paths and
playlists move through (:mod:`songmap.evaluation.listening`), and does not
split a family the map happened to tear apart; its clusters' hulls on the map
held no track of another cluster on either collection (same as the map's own).

**Rule.** ``HDBSCAN(min_cluster_size=max(4, round(sqrt(n) / 2)))`` with its
other parameters at scikit-learn's defaults; tracks in no cluster get ``-1``.
Clusters are numbered by size, largest first (ties: lowest first member).

**Names.** A cluster is named after its most central track, the member with
the least summed distance to the other members (its medoid; ties: lowest
index), by title, followed by `` · `` and the members' majority category when
any member has one (ties: the alphabetically first), e.g. ``"Battle Theme · music"``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = ["CLUSTER_COMPONENTS", "min_cluster_size", "find_clusters", "name_clusters"]

#: PCA components of the space HDBSCAN runs in.
CLUSTER_COMPONENTS = 32


def min_cluster_size(n: int) -> int:
    """HDBSCAN's ``min_cluster_size`` for ``n`` tracks: ``max(4, round(sqrt(n) / 2))``.

    Examples
    --------
    >>> min_cluster_size(52), min_cluster_size(10_000)
    (4, 50)
    """
    return max(4, round(np.sqrt(int(n)) / 2))


def _cluster_space(features: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    components = min(CLUSTER_COMPONENTS, len(features) - 1, features.shape[1])
    if components < features.shape[1]:
        # More tracks than features: the eigenvectors of the d x d covariance, the same components
        # (to ~1e-11) as the SVD of the n x d matrix, 4x faster at 4 000 x 2 048.
        solver = "covariance_eigh" if len(features) > features.shape[1] else "full"
        return PCA(n_components=components, svd_solver=solver, random_state=0).fit_transform(features)
    return features


def find_clusters(features: np.ndarray) -> np.ndarray:
    """Cluster label of each track (0, 1, ... by size; -1: in no cluster).

    Parameters
    ----------
    features : np.ndarray
        ``(n, d)`` reference features (see the module docstring for the rule).

    Returns
    -------
    np.ndarray
        ``(n,)`` int labels; all -1 when there are fewer than
        ``2 * min_cluster_size(n)`` tracks (too few for two clusters).
    """
    from sklearn.cluster import HDBSCAN

    n = len(features)
    size = min_cluster_size(n)
    if n < 2 * size:
        return np.full(n, -1, dtype=np.int64)
    raw = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(_cluster_space(features))
    found = [c for c in np.unique(raw) if c >= 0]
    # Largest first; equal sizes in the order of their first member.
    found.sort(key=lambda c: (-int(np.sum(raw == c)), int(np.flatnonzero(raw == c)[0])))
    labels = np.full(n, -1, dtype=np.int64)
    for new, old in enumerate(found):
        labels[raw == old] = new
    return labels


def name_clusters(features: np.ndarray, labels: np.ndarray, *, titles: list[str], categories: list[str | None]) -> list[dict]:
    """One entry per cluster: ``{"id", "name", "size", "category", "centre"}``.

    Parameters
    ----------
    features : np.ndarray
        ``(n, d)`` reference features the clusters were found in.
    labels : np.ndarray
        ``(n,)`` labels from :func:`find_clusters`.
    titles, categories : list
        Title and category (or None) of each track.

    Returns
    -------
    list of dict
        ``centre`` is the index of the medoid, ``category`` the majority
        category (None without metadata); see the module docstring for names.
    """
    from sklearn.metrics import pairwise_distances

    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    clusters = []
    for cluster in range(int(labels.max(initial=-1)) + 1):
        members = np.flatnonzero(labels == cluster)
        summed = pairwise_distances(features[members]).sum(axis=1)
        centre = int(members[int(np.argmin(summed))])
        counts = Counter(categories[i] for i in members if categories[i])
        category = min(counts, key=lambda c: (-counts[c], c)) if counts else None
        name = titles[centre] if category is None else f"{titles[centre]} · {category}"
        clusters.append({"id": cluster, "name": name, "size": int(len(members)), "category": category, "centre": centre})
    return clusters
