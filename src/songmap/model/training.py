"""Training the autoencoder: reconstruction error, optionally with the t-SNE neighbour term
and the invariance to the recording.

Training minimises the reconstruction error of the normalised model inputs.
Optionally (``TrainingConfig.neighbour_weight > 0``) the loss also asks the
bottleneck to keep each track's neighbours (:mod:`songmap.model.neighbours`).
A pure autoencoder spends its two neurons on whatever reconstructs the most
pixels, which are the broad directions of the data (nonlinear PCA); the extra
term makes it also place near each other the tracks that are near in the
input, which is what a map is read for. The decoder is kept: the code must
still describe the track, and the trained encoder places new songs, which a
t-SNE map cannot do.

With augmented copies of the tracks (:mod:`songmap.features.augment`: the same
music through random band limits, EQ, noise and a codec's losses) and
``TrainingConfig.invariance_weight > 0``, each step also encodes copies of some
tracks and asks each copy's code to be its clean track's, so the two neurons
learn to ignore what a recording changes. The copies also say which
directions of the input a recording moves: the ``TrainingConfig.nuisance_dims``
main ones (the principal components of the copies' changes) are shrunk, each by
the share of the tracks' spread along it that the recording explains (a Wiener
gain), as nuisance attribute projection does in speaker recognition. The shrunk
distance is taken only for pairs that differ mostly along those directions
and only between tracks among each other's few nearest once it is taken
(:func:`recording_discounted_distances`), so a lo-fi copy's input neighbours,
which the map keeps, are its song's and not other music's, while every other
pair keeps the inputs' own neighbourhoods, which the map is judged by.

Training with the neighbour term stops when its loss stops improving
(:class:`_PlateauSchedule`), within a budget of steps.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch.nn import functional as F

from songmap.features.augment import NUISANCE_TRACKS, copied_tracks
from songmap.model.adam import Adam
from songmap.model.autoencoder import ConvAutoencoder
from songmap.model.device import deterministic_torch
from songmap.model.neighbours import neighbour_affinities, neighbour_affinities_of_distances, neighbour_loss

__all__ = [
    "TrainingConfig", "TrainingResult", "fit_autoencoder", "train_autoencoder", "encode", "seed_everything", "epoch_budget",
    "decoder_filters", "neighbour_step_tracks", "MAX_TRAINING_STEPS", "MAX_NEIGHBOUR_STEPS", "MIN_EPOCHS",
]


@dataclass
class TrainingConfig:
    """How the autoencoder is trained.

    Attributes
    ----------
    epochs : int
        Maximum number of passes over the data.
    batch_size : int
        Tracks per gradient step.
    learning_rate : float
        Adam step size.
    patience : int
        Stop after this many epochs without a relative loss improvement of ``min_delta``.
    min_delta : float
        Relative improvement that counts, e.g. 0.005 = 0.5 %.
    seed : int
        Seed for weights and batch order.
    neighbour_weight : float
        Weight of the t-SNE neighbour term next to the reconstruction error
        (0 = a plain autoencoder, as in the notebooks).
    perplexity : float or None
        Effective number of neighbours of the input affinities; None adapts it
        to the collection (:func:`songmap.model.neighbours.default_perplexity`).
    neighbour_whole : int
        Collections up to this size are kept whole in the neighbour term at
        every step (their affinities computed once).
    neighbour_batch : int
        Larger collections are trained in random blocks of this many tracks,
        each with its own affinities.
    reconstruct : int
        With the neighbour term: tracks of each step whose reconstruction is
        part of the loss (a random subset of the step's tracks, at most
        ``RECONSTRUCT_SHARE`` of them; the decoder is most of a step's cost and
        only regularises the map).
    invariance_weight : float
        With the neighbour term and augmented copies: weight of the invariance
        term, the mean squared distance from each copy's code to its clean
        track's code, divided by the clean codes' total variance (0 = off).
    augment_tracks : int
        Tracks of each step that also have one of their augmented copies encoded.
    nuisance_dims : int
        With augmented copies: main directions of their changes (principal
        components of copy minus track) shrunk in the inputs, each by its Wiener
        gain (:func:`nuisance_directions`), before the neighbour term's
        affinities are computed (0 = none).
    recording_pair_ratio : float
        With ``nuisance_dims``: only pairs whose squared distance the shrink brings
        below this share of the raw one take the shrunk distance (over this share);
        the others keep the raw one (:func:`recording_discounted_distances`; 1 =
        the shrunk distances for every pair).
    recording_pair_neighbours : int
        With ``nuisance_dims``: only pairs among each other's this many nearest
        under the discount take it (0 = any pair below ``recording_pair_ratio``).
    plateau_steps : int
        With the neighbour term: training is at a plateau when the mean loss of
        the last ``plateau_steps`` steps is less than ``plateau_delta`` below the
        mean of the ``plateau_steps`` before them.
    plateau_delta : float
        Relative improvement between those two windows that still counts as
        progress, e.g. 0.02 = 2 %.
    anneal_share : float
        With the neighbour term: once at a plateau (or when the step budget
        would run out otherwise), the step size anneals to zero over this share
        of the steps taken so far (at least ``plateau_steps``), and training stops.
    """

    epochs: int = 300
    batch_size: int = 16
    learning_rate: float = 2e-3
    patience: int = 25
    min_delta: float = 0.005
    seed: int = 0
    neighbour_weight: float = 0.0
    perplexity: float | None = None
    # Whole rather than blocks of 512 up to 2048: effects-large (1 164) 0.967 -> 0.973 (BENCHMARKS "Whole collections").
    neighbour_whole: int = 2048
    neighbour_batch: int = 512
    reconstruct: int = 16
    invariance_weight: float = 0.0
    augment_tracks: int = 64
    nuisance_dims: int = 0
    recording_pair_ratio: float = 0.85
    recording_pair_neighbours: int = 8
    plateau_steps: int = 10
    plateau_delta: float = 0.02
    anneal_share: float = 0.5


@dataclass
class TrainingResult:
    """What training did: per-epoch losses, the best epoch, whether it stopped early."""

    losses: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_loss: float = float("inf")
    stopped_early: bool = False


#: Most gradient steps a fit takes. A small collection runs all its epochs under it; a large one
#: has many steps per epoch and needs fewer epochs, so training time stops growing with its size.
MAX_TRAINING_STEPS = 1500
#: The same for training with the neighbour term, whose steps take the whole collection up to
#: ``TrainingConfig.neighbour_whole`` tracks (one step per epoch), else blocks of
#: ``TrainingConfig.neighbour_batch``. It is a cap:
#: training stops at the loss's plateau (``TrainingConfig.plateau_steps``), after 80-150 steps on the
#: suite's collections of 50-150 tracks (BENCHMARKS.md "The suite"); a fixed 60 steps, chosen on the
#: fixture, left the loss still falling on other music.
MAX_NEIGHBOUR_STEPS = 300
#: ...but never fewer epochs than this: every track is seen several times.
MIN_EPOCHS = 8
#: With the neighbour term the decoder only regularises the map (the encoder alone places songs):
#: for a collection trained whole (up to ``TrainingConfig.neighbour_whole`` tracks) its channels are
#: the encoder's mirrored divided by this, at least 4 each ((16, 32, 64) -> (16, 8, 4, 4)), which
#: halves a step's cost at the same map quality (BENCHMARKS.md "Training speed"). Larger
#: collections, trained in blocks whose cost is the encoder's, keep the mirror (with the lighter one
#: 10 000 short tracks lost trustworthiness@10, 0.920 -> 0.890), and so does the plain autoencoder
#: ("seed"): reconstruction is all it learns.
DECODER_CHANNEL_DIVISOR = 4


def epoch_budget(epochs: int, n_tracks: int, batch_size: int, max_steps: int = MAX_TRAINING_STEPS) -> int:
    """Epochs to run: ``epochs``, cut so that at most about ``max_steps`` steps are taken."""
    steps_per_epoch = max(1, -(-n_tracks // batch_size))
    return max(1, min(epochs, max(MIN_EPOCHS, max_steps // steps_per_epoch)))


def decoder_filters(filters: Sequence[int], neighbour_term: bool, n_tracks: int,
                    config: TrainingConfig | None = None) -> list[int] | None:
    """The decoder's channels for ``filters`` (None: the encoder's mirror, see ``DECODER_CHANNEL_DIVISOR``).

    The lighter decoder is for a collection that ``config`` (default ``TrainingConfig()``) trains whole
    (:func:`neighbour_step_tracks`).
    """
    config = TrainingConfig() if config is None else config
    if not neighbour_term or neighbour_step_tracks(n_tracks, config) < n_tracks:
        return None
    mirror = [int(f) for f in filters][::-1] + [int(filters[0])]
    return [max(4, f // DECODER_CHANNEL_DIVISOR) for f in mirror]


def neighbour_step_tracks(n_tracks: int, config: TrainingConfig) -> int:
    """Tracks each step of the neighbour training encodes: the whole collection up to
    ``config.neighbour_whole`` tracks, else a block of ``config.neighbour_batch``.

    Examples
    --------
    >>> neighbour_step_tracks(1164, TrainingConfig()), neighbour_step_tracks(10_000, TrainingConfig())
    (1164, 512)
    """
    return n_tracks if n_tracks <= config.neighbour_whole else min(n_tracks, config.neighbour_batch)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so that training is repeatable."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def fit_autoencoder(
    inputs: np.ndarray,
    *,
    filters: Sequence[int],
    epochs: int,
    config: TrainingConfig,
    device: str = "cpu",
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
    augmented: np.ndarray | None = None,
    augmented_rows: np.ndarray | None = None,
    on_epoch: Callable[[int, int, float], None] | None = None,
) -> tuple[ConvAutoencoder, TrainingResult, np.ndarray, float]:
    """A fresh two-neuron autoencoder for ``inputs``, trained within the step budget, and their codes.

    Everything is seeded with ``config.seed`` before the weights are drawn; the decoder's
    channels follow :func:`decoder_filters`, the epochs :func:`epoch_budget` (of
    :func:`neighbour_step_tracks` with the neighbour term, else of
    ``config.batch_size``); training and encoding run on deterministic kernels.
    ``inputs`` is ``(n_tracks, height, width)``; ``device``, ``prepare``, ``augmented`` and
    ``augmented_rows`` are those of :func:`train_autoencoder`, ``on_epoch(epoch, epochs_to_run, loss)`` is
    called after each epoch (and once more as ``(last, epochs_run, loss)`` when training
    stopped before the budget), and ``config.epochs`` is replaced by the budget's.

    Returns
    -------
    model : ConvAutoencoder
        The trained model, on the CPU.
    result : TrainingResult
    codes : np.ndarray
        ``(n_tracks, 2)`` float64 bottleneck values of ``inputs``.
    seconds : float
        Time spent training and encoding.
    """
    seed_everything(int(config.seed))
    filters = tuple(int(f) for f in filters)
    n, height, width = inputs.shape
    model = ConvAutoencoder(height, width, filters, latent_dim=2,
                            decoder_filters=decoder_filters(filters, config.neighbour_weight > 0, n, config))
    if config.neighbour_weight > 0:  # steps of the whole collection or of blocks (see train_autoencoder)
        config = replace(config, epochs=epoch_budget(int(epochs), n, neighbour_step_tracks(n, config), MAX_NEIGHBOUR_STEPS))
    else:
        config = replace(config, epochs=epoch_budget(int(epochs), n, config.batch_size))
    report = None if on_epoch is None else lambda epoch, loss: on_epoch(epoch, config.epochs, loss)
    started = time.perf_counter()
    with deterministic_torch():
        result = train_autoencoder(model, inputs, config, report, prepare=prepare, device=device, augmented=augmented,
                                   augmented_rows=augmented_rows)
        if on_epoch is not None and result.stopped_early and result.losses:
            # Training is done: the progress bar ends full at the epochs it took, not at the budget.
            on_epoch(len(result.losses) - 1, len(result.losses), result.losses[-1])
        codes = encode(model, inputs, prepare=prepare)
    return model, result, codes, time.perf_counter() - started


def train_autoencoder(
    model: ConvAutoencoder,
    inputs: np.ndarray,
    config: TrainingConfig,
    on_epoch: Callable[[int, float], None] | None = None,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
    device: str = "cpu",
    augmented: np.ndarray | None = None,
    augmented_rows: np.ndarray | None = None,
) -> TrainingResult:
    """Fit ``model`` to ``inputs``: a plain autoencoder, or one whose code also keeps the neighbours.

    Without the neighbour term (``config.neighbour_weight == 0``, the
    notebooks' model) training runs epochs of ``config.batch_size``-track
    steps with Adam at ``config.learning_rate``, stops when the loss has not
    improved for ``config.patience`` epochs and keeps the weights of the best epoch.

    With it, training takes ``config.epochs`` passes of large steps
    (:func:`_train_with_neighbours`): each step encodes a whole block of
    tracks (the whole collection up to ``config.neighbour_whole`` tracks,
    affinities computed once; larger collections in random blocks of
    ``config.neighbour_batch``, each with its own affinities) for the neighbour term, and adds the
    reconstruction error of ``config.reconstruct`` of them; Adam's step size
    stays at ``NEIGHBOUR_LR_FACTOR * config.learning_rate`` until the loss stops
    improving, then anneals to zero on a cosine (:class:`_PlateauSchedule`), and
    the last weights are kept.

    Parameters
    ----------
    model : ConvAutoencoder
        Freshly initialised model (initialise it after :func:`seed_everything`).
    inputs : np.ndarray
        ``(n_tracks, n_mels, time_bins)`` features, for instance a
        ``np.memmap``: only the rows of the current batch or block are read
        from it, so memory is bounded by the block, not by the number of tracks.
    config : TrainingConfig
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, loss)`` after each epoch (progress bars).
    prepare : callable, optional
        Applied to each batch of rows read from ``inputs`` (normalisation);
        default: used as they are.
    device : str
        Torch device to train on (``"cpu"``, ``"cuda"``); the model is left on the CPU afterwards.
    augmented : np.ndarray, optional
        ``(n_copied, copies, n_mels, time_bins)`` augmented copies of tracks
        (:attr:`songmap.features.windows.WindowedFeatures.augmented`): for the
        nuisance directions (``config.nuisance_dims``), and for the invariance term
        (with the neighbour term and ``config.invariance_weight > 0``, which needs
        every track's); read a step's rows at a time, as ``inputs``.
    augmented_rows : np.ndarray, optional
        ``(n_copied,)`` the rows of ``inputs`` whose copies ``augmented`` holds
        (:func:`songmap.features.augment.copied_tracks`); default: every row.

    Returns
    -------
    TrainingResult
    """
    n = len(inputs)
    device = torch.device(device)

    def rows(index: np.ndarray | slice, source: np.ndarray = inputs) -> torch.Tensor:
        picked = source[index]
        picked = prepare(picked) if prepare is not None else picked
        return torch.from_numpy(np.ascontiguousarray(picked, dtype=np.float32)).unsqueeze(1).to(device)

    copies, nuisance = None, None
    if augmented is not None and (config.invariance_weight > 0 or config.nuisance_dims > 0):
        every = np.arange(n) if augmented_rows is None else np.asarray(augmented_rows, dtype=np.int64)
        if augmented.ndim != 4 or len(augmented) != len(every) or augmented.shape[2:] != inputs.shape[1:]:
            raise ValueError(f"augmented copies must be (n_copied, copies, *image), got {augmented.shape} for "
                             f"{len(every)} of {inputs.shape}")
        if config.invariance_weight > 0 and not np.array_equal(every, np.arange(n)):
            raise ValueError("the invariance term needs augmented copies of every track")

        def copies(index: np.ndarray, which: np.ndarray) -> torch.Tensor:
            return rows((index, which), augmented)

        if config.nuisance_dims > 0:
            nuisance = torch.from_numpy(nuisance_directions(inputs, augmented, int(config.nuisance_dims), prepare,
                                                                   tracks=every)).to(device)

    model.to(device)
    threads = torch.get_num_threads()
    if device.type == "cpu" and neighbour_step_tracks(n, config) <= SINGLE_THREAD_TRACKS:
        # Steps this small barely parallelise (1.15x on 2 cores) and stall when the cores are busy.
        torch.set_num_threads(1)
    try:
        if config.neighbour_weight > 0 and n >= 3:
            return _train_with_neighbours(model, n, rows, config, on_epoch, copies if config.invariance_weight > 0 else None,
                                          0 if augmented is None else augmented.shape[1], nuisance)
        return _train_plain(model, n, rows, config, on_epoch)
    finally:
        torch.set_num_threads(threads)
        model.to("cpu")
        model.eval()


def _train_plain(model, n, rows, config: TrainingConfig, on_epoch) -> TrainingResult:
    """The plain autoencoder's epochs of small batches, with early stopping (see :func:`train_autoencoder`)."""
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = Adam(model.parameters(), lr=config.learning_rate)
    result = TrainingResult()
    best_state = copy.deepcopy(model.state_dict())
    since_best = 0
    batch_size = config.batch_size
    # BatchNorm needs more than one sample per batch in training mode.
    drop_last_single = n % batch_size == 1 and n > 1

    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total, seen = 0.0, 0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            if len(idx) == 1 and drop_last_single:
                continue
            batch = rows(idx.numpy())
            optimizer.zero_grad()
            loss = F.mse_loss(model(batch), batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        epoch_loss = total / max(seen, 1)
        result.losses.append(epoch_loss)
        if epoch_loss < result.best_loss:
            # Only a clear improvement resets the patience, but the lowest loss is what is kept.
            since_best = 0 if epoch_loss < result.best_loss * (1 - config.min_delta) else since_best + 1
            result.best_loss, result.best_epoch = epoch_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
        if on_epoch is not None:
            on_epoch(epoch, epoch_loss)
        if since_best >= config.patience:
            result.stopped_early = True
            break

    model.load_state_dict(best_state)
    return result


#: Collections up to this many tracks are trained on one CPU thread (on the fixture, 52 tracks on 2
#: cores: 5.4 s with two threads on an idle machine, 6-7 s with one, but 8-63 s with two when other
#: work keeps the cores busy, as OpenMP's threads wait on each other).
SINGLE_THREAD_TRACKS = 256

#: Peak step size of the neighbour training, as a multiple of ``TrainingConfig.learning_rate``.
NEIGHBOUR_LR_FACTOR = 5.0

#: At most this share of a step's tracks is reconstructed. On small collections 16 reconstructions
#: were half of each step's tracks and two thirds of its time: a quarter trains the 34-track demo
#: in 1.40 s instead of 2.09 s (quiet; T@10 0.970 against 0.971, mean of seeds 0-8) and leaves the
#: fixture's 13 of 52 as fast and as faithful (0.942 both, seeds 0-6); BENCHMARKS "Reconstructions per step".
RECONSTRUCT_SHARE = 0.25


def reconstructed_per_step(tracks: int, reconstruct: int) -> int:
    """Tracks of a step of ``tracks`` whose reconstruction is part of the loss: ``reconstruct``, at most a share of them.

    Examples
    --------
    >>> reconstructed_per_step(512, 16), reconstructed_per_step(34, 16), reconstructed_per_step(3, 16)
    (16, 9, 2)
    """
    return max(2, min(int(reconstruct), math.ceil(RECONSTRUCT_SHARE * tracks)))


def _train_with_neighbours(model, n, rows, config: TrainingConfig, on_epoch, copies=None, n_copies: int = 0,
                           nuisance: torch.Tensor | None = None) -> TrainingResult:
    """Large steps for the neighbour term, a few reconstructions each, until a plateau (see :func:`train_autoencoder`).

    With ``copies`` (``copies(track_indices, copy_indices)`` -> their augmented
    inputs), each step also encodes one random copy of each of up to
    ``config.augment_tracks`` of its tracks and adds the invariance term. With
    ``nuisance`` (``(k, features)`` orthonormal rows), the affinities are computed
    from the inputs without their components along those directions.
    """

    def affinities_of(batch: torch.Tensor) -> torch.Tensor:
        x = batch.detach().reshape(len(batch), -1).cpu()
        if nuisance is None:
            return neighbour_affinities(x, config.perplexity).to(batch.device)
        squared = recording_discounted_distances(x, nuisance.cpu(), ratio=config.recording_pair_ratio,
                                                 neighbours=config.recording_pair_neighbours)
        return neighbour_affinities_of_distances(squared, config.perplexity).to(batch.device)

    generator = torch.Generator().manual_seed(config.seed)
    block = neighbour_step_tracks(n, config)
    whole = block == n
    steps_per_epoch = 1 if whole else -(-n // block)
    budget = max(1, config.epochs * steps_per_epoch)
    peak_lr = config.learning_rate * NEIGHBOUR_LR_FACTOR
    optimizer = Adam(model.parameters(), lr=peak_lr)
    # Up to neighbour_whole tracks are held (that many rows at most) and their affinities computed once.
    data = rows(slice(None)) if whole else None
    affinities = affinities_of(data) if whole else None
    n_rebuilt = reconstructed_per_step(block, config.reconstruct)
    n_augmented = min(int(config.augment_tracks), block) if copies is not None and n_copies > 0 else 0
    schedule = _PlateauSchedule(peak_lr, budget, int(config.plateau_steps), float(config.plateau_delta), float(config.anneal_share))
    result = TrainingResult()
    model.train()
    step_losses: list[float] = []
    order = torch.arange(n)
    for step in range(budget):
        lr = schedule.step_size(step, step_losses)
        if lr is None:
            break
        optimizer.lr = lr
        epoch, in_epoch = divmod(step, steps_per_epoch)
        if in_epoch == 0:
            order = torch.randperm(n, generator=generator)
        if whole:
            batch, p = data, affinities
            idx = torch.arange(n)
        else:
            # Random blocks of neighbour_batch tracks; the last one of an epoch is topped up from the front.
            idx = order[in_epoch * block : (in_epoch + 1) * block]
            if len(idx) < block:
                idx = torch.cat([idx, order[: block - len(idx)]])
            idx = torch.sort(idx).values
            batch = rows(idx.numpy())
            p = affinities_of(batch)
        rebuilt = torch.randperm(len(batch), generator=generator)[:n_rebuilt].to(batch.device)
        optimizer.zero_grad()
        codes = model.encode(batch)
        loss = F.mse_loss(model.decode(codes[rebuilt]), batch[rebuilt])
        loss = loss + config.neighbour_weight * neighbour_loss(codes, p)
        if n_augmented:
            loss = loss + config.invariance_weight * _invariance(model, codes, idx, copies, n_copies, n_augmented, generator)
        loss.backward()
        optimizer.step()
        step_losses.append(loss.item())
        if in_epoch == steps_per_epoch - 1:
            epoch_loss = float(np.mean(step_losses[-steps_per_epoch:]))
            result.losses.append(epoch_loss)
            if epoch_loss < result.best_loss:
                result.best_loss, result.best_epoch = epoch_loss, epoch
            if on_epoch is not None:
                on_epoch(epoch, epoch_loss)
    result.stopped_early = len(step_losses) < budget
    return result


class _PlateauSchedule:
    """Adam's step size for the neighbour training: the peak until the loss stops improving, then a cosine to zero.

    A fixed number of steps chosen on one collection is too few for others (their loss still
    falls) and too many for small ones, so the peak step size holds while the mean loss of the
    last ``window`` steps is at least ``delta`` (relative) below that of the ``window`` before;
    then it anneals to zero over ``share`` of the steps taken so far (at least ``window``), as
    CosineAnnealingLR's closed form, and training ends. The anneal starts early enough to finish
    within ``budget`` steps. Deterministic: it reads only the losses.
    """

    def __init__(self, peak: float, budget: int, window: int, delta: float, share: float):
        self.peak, self.budget, self.window, self.delta, self.share = peak, budget, max(1, window), delta, share
        self.anneal_start: int | None = None
        self.anneal_steps = 0

    def _anneal_length(self, step: int) -> int:
        return max(self.window, int(round(self.share * step)))

    def _at_plateau(self, losses: Sequence[float]) -> bool:
        if len(losses) < 2 * self.window:
            return False
        last = float(np.mean(losses[-self.window:]))
        before = float(np.mean(losses[-2 * self.window : -self.window]))
        return before - last < self.delta * abs(before)

    def step_size(self, step: int, losses: Sequence[float]) -> float | None:
        """The step size of step ``step`` (0-based) after ``losses`` of the steps before; None: stop."""
        if self.anneal_start is None and (self._at_plateau(losses) or step + self._anneal_length(step) >= self.budget):
            self.anneal_start = step
            self.anneal_steps = max(1, min(self._anneal_length(step), self.budget - step))
        if self.anneal_start is None:
            return self.peak
        progress = step - self.anneal_start
        if progress >= self.anneal_steps:
            return None
        return 0.5 * self.peak * (1.0 + math.cos(math.pi * progress / self.anneal_steps))


def nuisance_directions(inputs: np.ndarray, augmented: np.ndarray, k: int,
                        prepare: Callable[[np.ndarray], np.ndarray] | None = None, max_tracks: int = NUISANCE_TRACKS,
                        tracks: np.ndarray | None = None) -> np.ndarray:
    """The ``k`` main directions in which augmented copies differ from their tracks, each scaled to its share to remove.

    Parameters
    ----------
    inputs : np.ndarray
        ``(n, *image)`` tracks.
    augmented : np.ndarray
        ``(n_copied, copies, *image)`` augmented copies of ``tracks``.
    k : int
        Directions wanted (at most the number of differences).
    prepare : callable, optional
        Normalisation applied to rows of ``inputs`` and of the copies.
    max_tracks : int
        At most this many of the copied tracks (evenly spaced) are read: a recording
        chain's main directions are the same over a few hundred tracks as over all.
    tracks : np.ndarray, optional
        ``(n_copied,)`` rows of ``inputs`` whose copies ``augmented`` holds; default: all.

    Returns
    -------
    np.ndarray
        ``(k, features)`` float32 rows ``u = sqrt(1 - g) v``: ``v`` the leading
        right singular vectors of the stacked differences copy minus track
        (uncentred, as the projection is applied to the inputs themselves), ``g``
        the Wiener gain ``var_tracks / (var_tracks + mean_copy_change²)`` along
        ``v``, so that ``x - (x @ u.T) @ u`` keeps ``g`` of ``x``'s component along
        each ``v`` (the ``v`` are orthonormal).
    """
    n, copies = augmented.shape[:2]
    d = int(np.prod(inputs.shape[1:]))
    picked = copied_tracks(n, limit=int(max_tracks))
    rows = picked if tracks is None else np.asarray(tracks, dtype=np.int64)[picked]
    clean = np.asarray(inputs[rows], dtype=np.float32)
    clean = (prepare(clean) if prepare is not None else clean).reshape(len(rows), 1, d)
    heard = np.asarray(augmented[picked], dtype=np.float32).reshape(-1, *inputs.shape[1:])
    heard = (prepare(heard) if prepare is not None else heard).reshape(len(rows), copies, d)
    delta = (heard - clean).reshape(-1, d).astype(np.float64)
    k = max(0, min(int(k), *delta.shape))
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    # (rows, d) with rows <= max_tracks * copies: a thin SVD, not an eigenproblem of d x d. On one
    # BLAS thread: two threads on a busy machine made it 50x slower (5 s instead of 0.1 s, 104 x 2240).
    with threadpool_limits(1):
        _, _, vt = np.linalg.svd(delta, full_matrices=False)
    # Wiener gain of each direction: the share of the tracks' spread along it that is music, not
    # recording. A direction the copies move far more than the music differs is all but removed; one
    # along which songs differ as much as recordings do keeps half (removing it whole cost the
    # neighbourhoods of music whose timbre is what tells songs apart: BENCHMARKS.md "The suite").
    directions = vt[:k]
    music = (clean.reshape(len(rows), d).astype(np.float64) @ directions.T).var(axis=0)
    recording = ((delta @ directions.T) ** 2).mean(axis=0)
    kept = music / np.maximum(music + recording, 1e-30)
    return np.ascontiguousarray(directions * np.sqrt(1.0 - kept)[:, None], dtype=np.float32)


def recording_discounted_distances(inputs: torch.Tensor, nuisance: torch.Tensor, *, ratio: float,
                                   neighbours: int = 0) -> torch.Tensor:
    """Squared distances between rows, with the recording discounted only where it is most of the difference.

    A pair's squared distance is its raw one unless shrinking the ``nuisance``
    directions brings it below ``ratio`` of that; then it is the shrunk one
    divided by ``ratio`` (continuous at the threshold). Two recordings of the same
    music differ mostly along the directions a recording moves (a lo-fi copy keeps
    0.19-0.42 of its squared distance to its song there, other neighbours 0.75 and
    more: BENCHMARKS.md "The suite"), so they are drawn together, while the other
    pairs keep the inputs' own neighbourhoods, which the map is judged by. With
    ``neighbours``, only a row's ``neighbours`` nearest under the discount (either
    way round) take it: a copy's song is among its few nearest once the recording
    is discounted, and a discount between rows that stay far apart only moves the
    neighbourhoods that the map is judged by.

    Parameters
    ----------
    inputs : torch.Tensor
        ``(n, features)`` rows.
    nuisance : torch.Tensor
        ``(k, features)`` rows of :func:`nuisance_directions`.
    ratio : float
        In (0, 1]: 1 takes the shrunk distances for every pair; towards 0, the raw ones.
    neighbours : int
        Pairs outside each other's ``neighbours`` nearest keep the raw distance
        (0 = every pair may take the discount).

    Returns
    -------
    torch.Tensor
        ``(n, n)`` float64 squared distances, zero diagonal.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[0.0, 0.0], [3.0, 0.1], [0.0, 1.0]])
    >>> u = torch.tensor([[1.0, 0.0]])          # the first axis is all recording
    >>> recording_discounted_distances(x, u, ratio=0.5)[1]
    tensor([0.0200, 0.0000, 1.6200], dtype=torch.float64)
    >>> recording_discounted_distances(x, u, ratio=0.5, neighbours=1)[1]  # 1 and 2 are each other's second
    tensor([0.0200, 0.0000, 9.8100], dtype=torch.float64)
    """
    x = inputs.reshape(len(inputs), -1).double()
    raw = torch.cdist(x, x).square()
    shrunk = x - (x @ nuisance.T.double()) @ nuisance.double()
    discounted = torch.minimum(raw, torch.cdist(shrunk, shrunk).square() / float(ratio)).fill_diagonal_(0.0)
    if neighbours <= 0:
        return discounted
    rank = discounted.argsort(dim=1, stable=True).argsort(dim=1)  # 0: the row itself
    near = rank <= int(neighbours)
    return torch.where(near | near.T, discounted, raw).fill_diagonal_(0.0)


def _invariance(model, codes: torch.Tensor, idx: torch.Tensor, copies, n_copies: int, n_augmented: int,
                generator: torch.Generator) -> torch.Tensor:
    """Mean squared distance of random tracks' augmented codes to their clean codes, over the codes' total variance.

    The clean codes (rows ``0..len(idx)`` of the step, tracks ``idx``) are the targets (no gradient
    through them: the neighbour term places the clean tracks, the copies follow); dividing by their
    variance makes the term independent of the map's scale, which the neighbour term leaves free.
    """
    picked = torch.sort(torch.randperm(len(idx), generator=generator)[:n_augmented]).values
    which = torch.randint(n_copies, (len(picked),), generator=generator)
    augmented_codes = model.encode(copies(idx[picked].numpy(), which.numpy()))
    targets = codes.detach()
    spread = targets.var(dim=0).sum().clamp_min(1e-12)
    return ((augmented_codes - targets[picked.to(targets.device)]) ** 2).sum(dim=1).mean() / spread


def encode(
    model: ConvAutoencoder,
    inputs: np.ndarray,
    batch_size: int = 256,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Bottleneck values of ``inputs`` ``(n, n_mels, time_bins)`` -> ``(n, latent_dim)`` float64.

    ``inputs`` is read ``batch_size`` rows at a time (it may be a ``np.memmap``);
    ``prepare`` is applied to each such block, as in :func:`train_autoencoder`.
    """
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            block = inputs[start : start + batch_size]
            block = prepare(block) if prepare is not None else block
            batch = torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32))
            out.append(model.encode(batch.unsqueeze(1)).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.latent_dim))
