"""The usual recipe for a 2-D map of features: PCA, t-SNE and UMAP.

``songmap compare`` runs these on exactly the features the autoencoder is
trained on (:meth:`songmap.mapper.SongMapper.features_for`), so that every
method's map is measured against the same reference space. Each function takes
an ``(n, d)`` array and returns ``(n, 2)`` float64 coordinates; the result only
depends on the features and ``seed``.

Small collections are handled by adapting the neighbourhood sizes: t-SNE's
perplexity is ``min(30, (n - 1) / 2)`` (at least 1; the same rule as the
autoencoder's neighbour term, so both work at the same neighbourhood size)
and UMAP's ``n_neighbors`` is ``min(15, n - 1)`` (at least 2); 30 and 15 are
their libraries' defaults.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from songmap.model.neighbours import default_perplexity

__all__ = ["BASELINES", "import_baseline", "pca_map", "tsne_map", "umap_map", "tsne_perplexity", "umap_neighbours"]


def _as_features(features) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"expected an (n, d) feature array with n >= 2, got shape {features.shape}")
    if not np.all(np.isfinite(features)):
        raise ValueError("features must be finite (drop the rows of skipped files first)")
    return features


def pca_map(features, seed: int = 0) -> np.ndarray:
    """First two principal components (scikit-learn ``PCA``, full SVD: deterministic).

    Parameters
    ----------
    features : array_like
        ``(n, d)`` features, one row per track.
    seed : int
        Unused by the exact solver; accepted so every method has the same signature.

    Returns
    -------
    np.ndarray
        ``(n, 2)`` coordinates (a single track's worth of variance gives a zero column).
    """
    from sklearn.decomposition import PCA

    features = _as_features(features)
    n_components = min(2, *features.shape)
    coords = PCA(n_components=n_components, svd_solver="full").fit_transform(features)
    if n_components < 2:
        coords = np.hstack([coords, np.zeros((len(coords), 2 - n_components))])
    return coords.astype(np.float64)


def tsne_perplexity(n: int) -> float:
    """t-SNE perplexity for ``n`` points: the autoencoder's neighbour-term rule
    (:func:`songmap.model.neighbours.default_perplexity`): 30, or half of the other points on small sets."""
    return default_perplexity(n)


def tsne_map(features, seed: int = 0) -> np.ndarray:
    """t-SNE (scikit-learn, PCA initialisation, automatic learning rate) with a fixed ``random_state``.

    Parameters
    ----------
    features : array_like
        ``(n, d)`` features.
    seed : int
        ``random_state``.

    Returns
    -------
    np.ndarray
        ``(n, 2)`` coordinates.
    """
    from sklearn.manifold import TSNE

    features = _as_features(features)
    n = len(features)
    if n < 4:
        # t-SNE's PCA initialisation and gradient need a few points; for 2-3 tracks PCA is the answer.
        return pca_map(features, seed)
    tsne = TSNE(
        n_components=2, perplexity=tsne_perplexity(n), init="pca", learning_rate="auto", random_state=seed,
        method="barnes_hut" if n > 200 else "exact",  # exact is both faster and exact for small sets
    )
    return tsne.fit_transform(features).astype(np.float64)


def umap_neighbours(n: int) -> int:
    """UMAP ``n_neighbors`` for ``n`` points: its default 15, or ``n - 1`` when there are fewer points."""
    return int(max(2, min(15, n - 1)))


def umap_map(features, seed: int = 0) -> np.ndarray:
    """UMAP (``umap-learn``) with a fixed ``random_state`` (which also makes it single-threaded).

    Parameters
    ----------
    features : array_like
        ``(n, d)`` features.
    seed : int
        ``random_state``.

    Returns
    -------
    np.ndarray
        ``(n, 2)`` coordinates.

    Raises
    ------
    ValueError
        When ``umap-learn`` is not installed.
    """
    try:
        import umap
    except ImportError:  # pragma: no cover - it is a dependency, but a broken install should say so
        raise ValueError("UMAP needs the umap-learn package: pip install umap-learn") from None

    features = _as_features(features)
    n = len(features)
    if n < 4:
        return pca_map(features, seed)
    with warnings.catch_warnings():
        # "n_jobs overridden by setting random_state", "spectral initialisation failed" on tiny sets: expected.
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(
            n_components=2, n_neighbors=umap_neighbours(n), random_state=seed,
            init="spectral" if n > 16 else "random",  # the spectral start needs more points than neighbours
        )
        return np.asarray(reducer.fit_transform(features), dtype=np.float64)


def import_baseline(name: str) -> None:
    """Import the library behind a baseline, so that timing the method does not time the import."""
    if name == "pca":
        import sklearn.decomposition  # noqa: F401
    elif name == "tsne":
        import sklearn.manifold  # noqa: F401
    elif name == "umap":
        try:
            import umap  # noqa: F401
        except ImportError:  # reported by umap_map itself
            pass


#: The baseline methods of ``songmap compare`` by name.
BASELINES: dict[str, Callable[..., np.ndarray]] = {"pca": pca_map, "tsne": tsne_map, "umap": umap_map}
