"""How faithful could a 2-D map of these features be under the training's objective? (BENCHMARKS.md "What holds the map back")

The autoencoder's map is trained on the t-SNE neighbour term of its inputs. This script takes the same
inputs (the fitted map's reference space) and the same term (on the raw inputs: without the recording
discount), and optimises free coordinates instead of
an encoder, with Adam, for as many steps as the map's own training takes: from the inputs' first two
principal components (t-SNE's start) and from a random start. Beside the default map and t-SNE's, it
tells whether it is the encoder that holds the map back (free coordinates far above it) or the
objective and what it is given (free coordinates no better).

    python benchmarks/map_ceiling.py FOLDER [--cache DIR] [--seeds 0,1,2] [--steps 150]

Prints trustworthiness@10 per seed, and on "the music alone" (the tracks that are no pair's ``b`` in
the folder's ``pairs.csv``, when there is one).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import torch  # noqa: E402

from songmap.evaluation.baselines import BASELINES, pca_map  # noqa: E402
from songmap.evaluation.quality import reference_features, trustworthiness_at  # noqa: E402
from songmap.io.discovery import find_audio_files  # noqa: E402
from songmap.mapper import SongMapper  # noqa: E402
from songmap.model.adam import Adam  # noqa: E402
from songmap.model.neighbours import neighbour_affinities, neighbour_loss  # noqa: E402

#: Adam's step for free coordinates, in map units (t-SNE's maps of a few hundred points span tens of units).
FREE_LEARNING_RATE = 1.0


def free_codes(reference: np.ndarray, *, start: str = "pca", steps: int = 150, learning_rate: float = FREE_LEARNING_RATE,
               seed: int = 0) -> np.ndarray:
    """Coordinates optimised directly on the neighbour term of ``reference``, with no encoder.

    Parameters
    ----------
    reference : np.ndarray
        ``(n, d)`` features, n >= 3.
    start : {"pca", "random"}
        The first two principal components (the first at standard deviation 1), or normal noise of
        standard deviation 0.01.
    steps : int
        Adam steps; the step size holds for two thirds of them, then falls linearly to zero.
    learning_rate : float
        Adam's step size.
    seed : int
        Seed of the random start.

    Returns
    -------
    np.ndarray
        ``(n, 2)`` float64 coordinates.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(c, 0.1, (20, 5)) for c in (0.0, 3.0)])
    >>> free_codes(x, steps=20).shape
    (40, 2)
    """
    x = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    if start == "pca":
        first = pca_map(x)
        initial = first / max(float(first[:, 0].std()), 1e-12)
    elif start == "random":
        initial = np.random.default_rng(seed).standard_normal((len(x), 2)) * 0.01
    else:
        raise ValueError(f"start must be 'pca' or 'random', got {start!r}")
    affinities = neighbour_affinities(torch.from_numpy(x).float())
    codes = torch.tensor(initial, dtype=torch.float32, requires_grad=True)
    optimizer = Adam([codes], lr=learning_rate)
    hold = (2 * steps) // 3
    for step in range(steps):
        optimizer.lr = learning_rate if step < hold else learning_rate * (steps - step) / (steps - hold)
        optimizer.zero_grad()
        neighbour_loss(codes, affinities).backward()
        optimizer.step()
    return codes.detach().double().numpy()


def _music_alone(folder: Path, names: list[str]) -> np.ndarray | None:
    pairs = folder / "pairs.csv"
    if not pairs.is_file():
        return None
    with pairs.open(newline="") as f:
        copies = {row["b"] for row in csv.DictReader(f)}
    keep = np.array([name not in copies for name in names])
    return keep if 10 < keep.sum() < len(keep) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--cache", type=Path, help="feature cache (default: none)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=150, help="Adam steps of the free coordinates")
    args = parser.parse_args()

    paths = [Path(p) for p in find_audio_files(args.folder)]
    rows: dict[str, list[tuple[float, float | None]]] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        mapper = SongMapper(seed=seed, cache_dir=args.cache, n_jobs=2).fit([str(p) for p in paths])
        placed = np.flatnonzero(np.all(np.isfinite(mapper.embedding_), axis=1))
        reference, kept = reference_features(mapper, [paths[i] for i in placed])
        placed = placed[kept]
        keep = _music_alone(args.folder, [str(paths[i].relative_to(args.folder)) for i in placed])
        maps = {
            "autoencoder (default)": mapper.embedding_[placed],
            "t-SNE": BASELINES["tsne"](reference, seed=seed),
            "free coordinates from PCA": free_codes(reference, start="pca", steps=args.steps),
            "free coordinates from noise": free_codes(reference, start="random", steps=args.steps, seed=seed),
        }
        for name, points in maps.items():
            alone = trustworthiness_at(reference[keep], points[keep], 10) if keep is not None else None
            rows.setdefault(name, []).append((trustworthiness_at(reference, points, 10), alone))
        print(f"seed {seed}: " + ", ".join(f"{name} {rows[name][-1][0]:.4f}" for name in maps), file=sys.stderr, flush=True)

    print(f"\n{args.folder.name}: {len(placed)} tracks, free coordinates {args.steps} steps\n")
    print("| map | T@10 per seed | median | music alone, median |")
    print("|---|---|---:|---:|")
    for name, figures in rows.items():
        alone = [a for _, a in figures if a is not None]
        per_seed = " / ".join(f"{t:.4f}" for t, _ in figures)
        alone_median = f"{statistics.median(alone):.4f}" if alone else ""
        print(f"| {name} | {per_seed} | {statistics.median(t for t, _ in figures):.4f} | {alone_median} |")

if __name__ == "__main__":
    main()
