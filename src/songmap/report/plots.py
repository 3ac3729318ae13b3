"""Static pictures: the map (map.png), the methods side by side (compare.png), track durations (durations.png).

Every picture colours categories with :func:`songmap.report.palette.category_colours`,
the same colours as the map page.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from songmap.io.atomic import atomic_write_bytes
from songmap.report.colouring import colourings, default_colour_key
from songmap.report.palette import category_colours

__all__ = ["METHOD_TITLES", "figure", "plot_map", "plot_comparison", "plot_duration_histogram", "save_figure"]

#: Panel and table titles of the methods of ``songmap compare``.
METHOD_TITLES = {"ae": "autoencoder", "pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def figure(**kwargs):
    """A matplotlib figure drawn by Agg, made without pyplot (``kwargs``: those of ``Figure``).

    Files only, and no display needed on servers and CI; pyplot's backend is left
    alone, so mapping from a notebook does not turn off its inline plots.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # An emoji or a script the font lacks is drawn as a box; a warning per glyph would only clutter the console.
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def plot_map(tracks: list[dict], path: str | os.PathLike, title: str = "songmap", max_labels: int = 150,
             colour_by: str | None = None) -> None:
    """Scatter plot of the map coloured by ``colour_by``, each point labelled with its title.

    Parameters
    ----------
    tracks : list of dict
        Track entries with ``x``, ``y``, ``title`` and what they are coloured by.
    path : str or os.PathLike
        PNG file to write (atomically).
    title : str
        Figure title.
    max_labels : int
        Above this many points, labels would hide the map, so none are drawn.
    colour_by : str, optional
        A key of :data:`songmap.report.colouring.COLOUR_KEYS`; by default, and for a key no
        track has a value for, :func:`songmap.report.colouring.default_colour_key` (as the page).
    """
    n = len(tracks)
    size = 8 if n <= 40 else min(16, 8 + (n - 40) / 15)
    fig = figure(figsize=(size, size * 0.8), dpi=120)
    ax = fig.subplots()
    available = colourings(tracks)
    groups = available.get(colour_by) or available[default_colour_key(available)]
    xy = np.array([[t["x"], t["y"]] for t in tracks], dtype=float).reshape(-1, 2)
    codes = np.array(groups.codes, dtype=int)
    entries = [*zip(groups.names, groups.colours), (groups.none_label, groups.none_colour)]
    for code, (name, colour) in zip([*range(len(groups.names)), -1], entries):
        idx = np.flatnonzero(codes == code)
        if len(idx):
            ax.scatter(xy[idx, 0], xy[idx, 1], s=36, c=colour, label=name, edgecolors="white", linewidths=0.6, zorder=3)
    hidden = _place_labels(fig, ax, xy, [str(t.get("title", "")) for t in tracks], max_labels)
    note = f"; {hidden} labels hidden where they would overlap (see map.html)" if hidden else ""
    ax.set_title(f"{title} ({n} tracks{note})", fontsize=10)
    ax.set_xlabel("latent 1")
    ax.set_ylabel("latent 2")
    ax.grid(True, alpha=0.25)
    if groups.names:
        ax.legend(loc="best", fontsize=8, framealpha=0.85, title=groups.label if groups.key != "category" else None)
    fig.tight_layout()
    save_figure(fig, path)


def _place_labels(fig, ax, xy: np.ndarray, labels: list[str], max_labels: int) -> int:
    """Label points greedily, trying eight spots around each; skip a label that would overlap.

    Overlapping labels are what makes a 60-point scatter unreadable. Points in
    sparse regions are labelled first. Returns the number of labels left out.
    """
    if len(labels) == 0:
        return 0
    if len(labels) > max_labels:
        return len(labels)
    fontsize = 7 if len(labels) <= 60 else 6
    fig.canvas.draw()  # fixes the axes' transform so label boxes can be measured
    renderer = fig.canvas.get_renderer()
    points_px = ax.transData.transform(xy)
    gaps = np.sort(np.linalg.norm(points_px[:, None] - points_px[None], axis=2), axis=1)
    nearest = gaps[:, 1] if len(labels) > 1 else np.full(len(labels), np.inf)
    taken = []  # label boxes and point markers already on the figure, in pixels
    marker = 4.0
    for px, py in points_px:
        taken.append((px - marker, py - marker, px + marker, py + marker))
    offsets = [(5, 3, "left", "bottom"), (5, -3, "left", "top"), (-5, 3, "right", "bottom"), (-5, -3, "right", "top"),
               (0, 6, "center", "bottom"), (0, -6, "center", "top"), (8, 0, "left", "center"), (-8, 0, "right", "center")]
    hidden = 0
    for i in np.argsort(-nearest):
        placed = False
        for dx, dy, ha, va in offsets:
            text = ax.annotate(labels[i], xy[i], xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                               fontsize=fontsize, color="#333333", zorder=4)
            box = text.get_window_extent(renderer)
            rect = (box.x0, box.y0, box.x1, box.y1)
            own = taken[i]
            clash = any(
                r is not own and rect[0] < r[2] and rect[2] > r[0] and rect[1] < r[3] and rect[3] > r[1] for r in taken
            )
            if not clash:
                taken.append(rect)
                placed = True
                break
            text.remove()
        hidden += not placed
    return hidden


def plot_duration_histogram(
    durations: list[float], categories: list[str | None], crop_s: float, path: str | os.PathLike
) -> None:
    """Histogram of track durations per category (log-spaced bins) with the crop length marked."""
    fig = figure(figsize=(8, 4.5), dpi=120)
    ax = fig.subplots()
    durations_arr = np.asarray(durations, dtype=float)
    positive = durations_arr[durations_arr > 0]
    low = max(positive.min() if positive.size else 0.01, 0.01)
    high = max(positive.max() if positive.size else 1.0, low * 1.5)
    bins = np.geomspace(low, high, 25)
    colours = category_colours(categories)
    groups = [(c, durations_arr[[i for i, k in enumerate(categories) if k == c]]) for c in colours]
    groups = [(c, d[d > 0]) for c, d in groups if len(d)]
    ax.hist([d for _, d in groups], bins=bins, stacked=True, color=[colours[c] for c, _ in groups],
            label=[c or "uncategorised" for c, _ in groups])
    ax.axvline(crop_s, color="black", linestyle="--", linewidth=1)
    ax.text(crop_s, ax.get_ylim()[1] * 0.95, f" crop {crop_s:.1f} s", va="top", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("duration (s, log scale)")
    ax.set_ylabel("tracks")
    ax.set_title("Track durations")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def save_figure(fig, path: str | os.PathLike) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())


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
    names = list(maps)
    cols = min(len(names), 4)
    rows = -(-len(names) // cols)
    fig = figure(figsize=(4.2 * cols, 4.4 * rows), dpi=110)
    axes = fig.subplots(rows, cols, squeeze=False)
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
    save_figure(fig, path)
