"""Outputs stage: the embeddings document (JSON/CSV) and the static plots.

``embeddings.json`` format (version 1, stable; new keys may be added)::

    {
      "songmap_version": "0.1.0",
      "format_version": 1,
      "created": "2026-11-25T10:00:00+00:00",     # UTC, ISO 8601
      "input_dir": "/absolute/path/of/INPUT_DIR",
      "params": {...},                              # everything SongMapper was fitted with,
                                                    # plus "crop_seconds" it chose
      "training": {"epochs_run", "best_epoch", "best_loss", "stopped_early"},
      "tracks": [{"file", "title", "category", "duration_s", "x", "y"}, ...],
      "skipped": [{"file", "reason"}, ...],
      "pairs": [{"a", "b", "kind", "distance", "rank_a_to_b", "rank_b_to_a", "median_nn_distance"}]
    }

``file`` is relative to ``input_dir`` with forward slashes; ``category`` is null
when metadata has none; ``pairs`` is present when ``INPUT_DIR/pairs.csv`` is.
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from songmap import __version__
from songmap._fileio import atomic_write_bytes, atomic_write_text, display_text

__all__ = [
    "EMBEDDINGS_FORMAT_VERSION",
    "TRACK_COLUMNS",
    "atomic_write_bytes",
    "atomic_write_text",
    "embeddings_document",
    "write_embeddings_json",
    "write_embeddings_csv",
    "read_embeddings",
    "category_colours",
    "plot_map",
    "plot_duration_histogram",
]

EMBEDDINGS_FORMAT_VERSION = 1
TRACK_COLUMNS = ("file", "title", "category", "duration_s", "x", "y")


def embeddings_document(
    input_dir: str | os.PathLike,
    tracks: list[dict],
    skipped: list[dict],
    params: dict,
    training: dict | None = None,
    pairs: list[dict] | None = None,
) -> dict:
    """Assemble the ``embeddings.json`` document (see the module docstring for the format)."""
    doc = {
        "songmap_version": __version__,
        "format_version": EMBEDDINGS_FORMAT_VERSION,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "input_dir": str(Path(input_dir).resolve()),
        "params": params,
        "training": training or {},
        "tracks": tracks,
        "skipped": skipped,
    }
    if pairs is not None:
        doc["pairs"] = pairs
    return doc


def write_embeddings_json(path: str | os.PathLike, doc: dict) -> None:
    """Write the document as UTF-8 JSON (non-ASCII kept readable), atomically.

    A file name that is not valid UTF-8 keeps its exact bytes as ``\\udcXX`` escapes
    (``json.loads`` gives back the name that opens the file).
    """
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8", "backslashreplace"))


def read_embeddings(path: str | os.PathLike) -> dict:
    """Read ``embeddings.json``.

    Raises
    ------
    FileNotFoundError, ValueError
        With a one-line message when the file is missing or not a songmap document.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "embeddings.json"
    if not path.is_file():
        raise FileNotFoundError(f"no embeddings.json at {path} (run 'songmap map' first)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tracks"), list):
        raise ValueError(f"{path} is not a songmap embeddings.json (no 'tracks' list)")
    return doc


def _csv_safe(value):
    # A cell starting with = + - @ (or tab/CR) is run as a formula by spreadsheets; a leading
    # apostrophe makes it text. Numbers are written as numbers, so negative coordinates stay numeric.
    if isinstance(value, str):
        value = display_text(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def write_embeddings_csv(path: str | os.PathLike, tracks: list[dict]) -> None:
    """Write one row per track with columns :data:`TRACK_COLUMNS` (UTF-8, header, ``,``), atomically."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRACK_COLUMNS)
    for track in tracks:
        writer.writerow([_csv_safe(track.get(column)) for column in TRACK_COLUMNS])
    atomic_write_text(path, buffer.getvalue())


def category_colours(categories: list[str | None]) -> dict[str | None, str]:
    """A stable colour per category (sorted names, tab10 palette; uncategorised grey)."""
    palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#393b79",
    ]
    names = sorted({c for c in categories if c is not None})
    colours: dict[str | None, str] = {c: palette[i % len(palette)] for i, c in enumerate(names)}
    colours[None] = "#7f7f7f"
    return colours


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    # An emoji or a script the font lacks is drawn as a box; a warning per glyph would only clutter the console.
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)

    return plt


def plot_map(tracks: list[dict], path: str | os.PathLike, title: str = "songmap", max_labels: int = 150) -> None:
    """Scatter plot of the map coloured by category, each point labelled with its title.

    Parameters
    ----------
    tracks : list of dict
        Track entries with ``x``, ``y``, ``title``, ``category``.
    path : str or os.PathLike
        PNG file to write (atomically).
    title : str
        Figure title.
    max_labels : int
        Above this many points, labels would hide the map, so none are drawn.
    """
    plt = _pyplot()
    n = len(tracks)
    size = 8 if n <= 40 else min(16, 8 + (n - 40) / 15)
    fig, ax = plt.subplots(figsize=(size, size * 0.8), dpi=120)
    colours = category_colours([t.get("category") for t in tracks])
    xy = np.array([[t["x"], t["y"]] for t in tracks], dtype=float).reshape(-1, 2)
    for category, colour in colours.items():
        idx = [i for i, t in enumerate(tracks) if t.get("category") == category]
        if idx:
            ax.scatter(xy[idx, 0], xy[idx, 1], s=36, c=colour, label=category or "uncategorised",
                       edgecolors="white", linewidths=0.6, zorder=3)
    hidden = _place_labels(fig, ax, xy, [str(t.get("title", "")) for t in tracks], max_labels)
    note = f"; {hidden} labels hidden where they would overlap (see map.html)" if hidden else ""
    ax.set_title(f"{title} ({n} tracks{note})", fontsize=10)
    ax.set_xlabel("latent 1")
    ax.set_ylabel("latent 2")
    ax.grid(True, alpha=0.25)
    if len(colours) > 1 or None not in colours:
        ax.legend(loc="best", fontsize=8, framealpha=0.85)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)


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
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
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
    _save_figure(fig, path)
    plt.close(fig)


def _save_figure(fig, path: str | os.PathLike) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
