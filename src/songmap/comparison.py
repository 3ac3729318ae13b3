"""``songmap compare``'s outputs: the side-by-side figure of the maps and the table printed for them.

The maps themselves are made in :func:`songmap.pipeline.compare_folder`; this
module only draws and formats them.
"""

from __future__ import annotations

import os

import numpy as np

from songmap.outputs import _pyplot, _save_figure, category_colours

__all__ = ["METHOD_TITLES", "plot_comparison", "quality_rows"]

#: Panel and table titles of the methods.
METHOD_TITLES = {"ae": "autoencoder", "pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def plot_comparison(
    maps: dict[str, np.ndarray],
    categories: list[str | None],
    path: str | os.PathLike,
    qualities: dict[str, dict] | None = None,
    pair_rows: list[tuple[int, int]] | None = None,
    title: str = "songmap compare",
) -> None:
    """One scatter panel per method, coloured by category with the same colours in every panel.

    Parameters
    ----------
    maps : dict
        Method name -> ``(n, 2)`` coordinates, all row-aligned.
    categories : list of str or None
        Category of each row.
    path : str or os.PathLike
        PNG to write (atomically).
    qualities : dict, optional
        Method name -> its quality dict; trustworthiness@10 and the kNN
        category agreement are written under each panel.
    pair_rows : list of (int, int), optional
        Rows of known pairs, joined by a thin line in every panel so a pair
        that a method tears apart is visible.
    title : str
        Figure title.
    """
    plt = _pyplot()
    names = list(maps)
    cols = min(len(names), 4)
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.4 * rows), dpi=110, squeeze=False)
    colours = category_colours(list(categories))
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        xy = np.asarray(maps[name], dtype=float).reshape(-1, 2)
        for a, b in pair_rows or []:
            ax.plot(xy[[a, b], 0], xy[[a, b], 1], color="black", linewidth=0.8, alpha=0.7, zorder=2)
        for category, colour in colours.items():
            idx = [i for i, c in enumerate(categories) if c == category]
            if idx:
                ax.scatter(xy[idx, 0], xy[idx, 1], s=22, c=colour, label=category or "uncategorised",
                           edgecolors="white", linewidths=0.5, zorder=3)
        subtitle = ""
        quality = (qualities or {}).get(name)
        if quality:
            t10 = quality["trustworthiness"].get("10")
            agreement = quality.get("knn_category_agreement")
            parts = [f"T@10 {t10:.3f}" if t10 is not None else None,
                     f"kNN cat. {agreement:.2f}" if agreement is not None else None,
                     f"{quality['seconds']:.1f} s" if quality.get("seconds") is not None else None]
            subtitle = "\n" + ", ".join(p for p in parts if p)
        ax.set_title(METHOD_TITLES.get(name, name) + subtitle, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if len(colours) > 1 or None not in colours:
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    _save_figure(fig, path)
    plt.close(fig)


def quality_rows(methods: dict[str, dict]) -> list[list[str]]:
    """Table rows (method, T@5, T@10, C@5, C@10, kNN category, pair ranks, seconds) for printing."""

    def number(value, digits=3):
        return "-" if value is None else f"{value:.{digits}f}"

    rows = []
    for name, q in methods.items():
        pairs = " ".join(f"{p['rank_a_to_b']}/{p['rank_b_to_a']}" for p in q.get("pairs", [])) or "-"
        rows.append([
            METHOD_TITLES.get(name, name),
            number(q["trustworthiness"].get("5")),
            number(q["trustworthiness"].get("10")),
            number(q["continuity"].get("5")),
            number(q["continuity"].get("10")),
            number(q.get("knn_category_agreement"), 2),
            pairs,
            number(q.get("seconds"), 1),
        ])
    return rows
