"""How faithful could a 2-D map of these features be under the training's objective? (BENCHMARKS.md "What holds the map back")

The autoencoder's map is trained on the t-SNE neighbour term of its inputs. This script takes the same
inputs (the fitted map's reference space) and the same term (on the raw inputs: without the recording
discount), and optimises free coordinates instead of
an encoder, with Adam, for as many steps as the map's own training takes: from the inputs' first two
principal components (t-SNE's start) and from a random start. Beside the default map and t-SNE's, it
tells whether it is the encoder that holds the map back (free coordinates far above it) or the
objective and what it is given (free coordinates no better). With ``--encoder``, the default's
encoder (or a wider one) is trained on that same term and nothing else, for the same steps, beside
them: with ``--bank``, on random batches of that many tracks whose codes stand in a memory bank for
the rest (more, cheaper steps).

    python benchmarks/map_ceiling.py FOLDER [--cache DIR] [--seeds 0,1,2] [--steps 150]
                                     [--encoder 8,16,32 [--encoder 16,32,64]] [--bank 256]

Prints trustworthiness@10 per seed, and on "the music alone" (the tracks that are no pair's ``b`` in
the folder's ``pairs.csv``, when there is one).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
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
from songmap.model.autoencoder import ConvAutoencoder  # noqa: E402
from songmap.model.neighbours import neighbour_affinities, neighbour_loss  # noqa: E402
from songmap.model.training import NEIGHBOUR_LR_FACTOR, TrainingConfig  # noqa: E402

#: Adam's step for free coordinates, in map units (t-SNE's maps of a few hundred points span tens of units).
FREE_LEARNING_RATE = 1.0
#: The encoder's: the training's peak step size.
ENCODER_LEARNING_RATE = TrainingConfig.learning_rate * NEIGHBOUR_LR_FACTOR


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
    for step in range(steps):
        optimizer.lr = _step_size(learning_rate, step, steps)
        optimizer.zero_grad()
        neighbour_loss(codes, affinities).backward()
        optimizer.step()
    return codes.detach().double().numpy()


def _step_size(learning_rate: float, step: int, steps: int) -> float:
    """The step size holds for two thirds of the steps, then falls linearly to zero."""
    hold = (2 * steps) // 3
    return learning_rate if step < hold else learning_rate * (steps - step) / (steps - hold)


def _bank_loss(codes: torch.Tensor, rows: torch.Tensor, affinities: torch.Tensor) -> torch.Tensor:
    """The neighbour term's part that depends on the codes of ``rows`` (the others' codes held fixed).

    Its gradient with respect to those codes is the whole term's. Ordered pairs with either end in
    ``rows`` make up the attraction; the normaliser is the bank's with ``rows``' pairs replaced.
    """
    batch = codes[rows]
    kernel = 1.0 / (1.0 + (batch[:, None, :] - codes[None, :, :]).square().sum(dim=-1))  # (B, n)
    kernel = kernel.index_put((torch.arange(len(rows)), rows), torch.zeros(len(rows)))
    attraction = affinities[rows] * -torch.log(kernel.clamp_min(1e-30))  # P is zero on the diagonal
    rows_part = 2 * kernel.sum() - kernel[:, rows].sum()
    with torch.no_grad():
        fixed = codes.detach()
        total = (1.0 / (1.0 + (fixed[:, None, :] - fixed[None, :, :]).square().sum(dim=-1))).sum() - len(codes)
    return 2 * attraction.sum() - attraction[:, rows].sum() + torch.log(total - rows_part.detach() + rows_part)


def encoder_codes(reference: np.ndarray, *, shape: tuple[int, int], filters=(8, 16, 32), steps: int = 150,
                  neighbour_weight: float = 4.0, bank: int | None = None, seed: int = 0) -> np.ndarray:
    """A new encoder's map after ``steps`` of the neighbour term of ``reference`` (plus reconstructions).

    The map's own training less its recording discount, invariance term and plateau rule: Adam at the
    training's peak step size (held for two thirds of the steps, then falling to zero) and its
    reconstructions a step (``TrainingConfig.reconstruct``).

    Parameters
    ----------
    reference : np.ndarray
        ``(n, rows * width)`` normalised model inputs (a fitted mapper's reference space), n >= 3.
    shape : (int, int)
        The input image's ``(rows, width)``.
    filters : sequence of int
        The encoder's channels.
    steps : int
        Adam steps.
    neighbour_weight : float
        The neighbour term's weight against the reconstruction error (the default preset's).
    bank : int, optional
        Tracks encoded a step; the other tracks' codes come from a memory bank (all of them encoded
        once at the start, then each batch's codes written back). Default: every track every step.
    seed : int
        Seed of the network's weights and of the batches.

    Returns
    -------
    np.ndarray
        ``(n, 2)`` float64 codes of the trained encoder (batch normalisation in evaluation mode).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(c, 0.1, (20, 32)) for c in (0.0, 3.0)])
    >>> encoder_codes(x, shape=(8, 4), steps=5, bank=16).shape
    (40, 2)
    """
    x = np.asarray(reference, dtype=np.float32).reshape(len(reference), -1)
    n = len(x)
    inputs = torch.from_numpy(x).reshape(n, 1, *shape)
    affinities = neighbour_affinities(torch.from_numpy(x))
    torch.manual_seed(seed)
    model = ConvAutoencoder(n_mels=shape[0], input_width=shape[1], filters=filters, latent_dim=2).train()
    optimizer = Adam(model.parameters(), lr=ENCODER_LEARNING_RATE)
    generator = torch.Generator().manual_seed(seed)
    batch = n if bank is None else max(2, min(int(bank), n))
    with torch.no_grad():
        codes = model.encode(inputs).clone() if batch < n else None
    reconstructions = min(TrainingConfig.reconstruct, batch)
    for step in range(steps):
        optimizer.lr = _step_size(ENCODER_LEARNING_RATE, step, steps)
        optimizer.zero_grad()
        order = torch.randperm(n, generator=generator)
        if batch < n:
            rows, rebuilt = order[:batch], torch.arange(reconstructions)  # rebuilt: positions in rows
            batch_codes = model.encode(inputs[rows])
            term = _bank_loss(codes.index_put((rows,), batch_codes), rows, affinities)
        else:
            rows, rebuilt = torch.arange(n), order[:reconstructions]
            batch_codes = model.encode(inputs)
            term = neighbour_loss(batch_codes, affinities)
        loss = neighbour_weight * term + torch.nn.functional.mse_loss(
            model.decode(batch_codes[rebuilt]), inputs[rows[rebuilt]])
        loss.backward()
        optimizer.step()
        if batch < n:
            codes[rows] = batch_codes.detach()
    with torch.no_grad():
        return model.eval().encode(inputs).double().numpy()


def _timed(make, *args, **kwargs) -> tuple[np.ndarray, float]:
    """``make(*args, **kwargs)`` and its seconds."""
    started = time.perf_counter()
    points = make(*args, **kwargs)
    return points, time.perf_counter() - started


def _channels(text: str) -> tuple[int, ...]:
    """``--encoder``'s channel counts, e.g. ``8,16,32``."""
    try:
        channels = tuple(int(f) for f in text.split(","))
    except ValueError:
        channels = ()
    if not channels or min(channels) < 1:
        raise argparse.ArgumentTypeError(f"expected positive channel counts such as 8,16,32, got {text!r}")
    return channels


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
    parser.add_argument("--steps", type=int, default=150, help="Adam steps of the free coordinates (and of --encoder)")
    parser.add_argument("--encoder", action="append", default=[], metavar="FILTERS", type=_channels,
                        help="also train an encoder of these channels (e.g. 8,16,32) on the neighbour term alone; repeatable")
    parser.add_argument("--bank", type=int, help="with --encoder: tracks encoded a step, the rest from a memory bank")
    args = parser.parse_args()
    if not args.folder.is_dir():
        parser.error(f"no such folder: {args.folder}")
    encoders = args.encoder
    batches = f", batches of {args.bank} and a bank" if args.bank else ""

    paths = [Path(p) for p in find_audio_files(args.folder)]
    rows: dict[str, list[tuple[float, float | None, float]]] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        mapper = SongMapper(seed=seed, cache_dir=args.cache, n_jobs=2).fit([str(p) for p in paths])
        placed = np.flatnonzero(np.all(np.isfinite(mapper.embedding_), axis=1))
        reference, kept = reference_features(mapper, [paths[i] for i in placed])
        placed = placed[kept]
        keep = _music_alone(args.folder, [str(paths[i].relative_to(args.folder)) for i in placed])
        shape = (mapper.model_config_["n_mels"], mapper.model_config_["input_width"])
        maps = {
            "autoencoder (default)": (mapper.embedding_[placed], mapper.training_seconds_),
            "t-SNE": _timed(BASELINES["tsne"], reference, seed=seed),
            "free coordinates from PCA": _timed(free_codes, reference, start="pca", steps=args.steps),
            "free coordinates from noise": _timed(free_codes, reference, start="random", steps=args.steps, seed=seed),
        }
        for filters in encoders:
            maps[f"encoder {filters}, neighbour term alone{batches}"] = _timed(
                encoder_codes, reference, shape=shape, filters=filters, steps=args.steps,
                neighbour_weight=mapper.params_["neighbour_weight"], bank=args.bank, seed=seed)
        for name, (points, seconds) in maps.items():
            alone = trustworthiness_at(reference[keep], points[keep], 10) if keep is not None else None
            rows.setdefault(name, []).append((trustworthiness_at(reference, points, 10), alone, seconds))
        print(f"seed {seed}: " + ", ".join(f"{name} {rows[name][-1][0]:.4f}" for name in maps), file=sys.stderr, flush=True)

    print(f"\n{args.folder.name}: {len(placed)} tracks, free coordinates {args.steps} steps\n")
    print("| map | T@10 per seed | median | music alone, median | seconds, median |")
    print("|---|---|---:|---:|---:|")
    for name, figures in rows.items():
        alone = [a for _, a, _ in figures if a is not None]
        per_seed = " / ".join(f"{t:.4f}" for t, _, _ in figures)
        alone_median = f"{statistics.median(alone):.4f}" if alone else ""
        seconds = statistics.median(s for _, _, s in figures)
        print(f"| {name} | {per_seed} | {statistics.median(t for t, _, _ in figures):.4f} | {alone_median} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
