"""The ``update`` job: the map follows its folder as songs are added, changed and deleted.

Without retraining, the saved encoder places each new or changed file exactly where ``songmap
embed`` puts it, deleted files are dropped, and every other track keeps its ``x``, ``y`` bit for
bit; neighbours, clusters, per-track trust and quality are computed again for the new set. With
``refit``, the autoencoder is trained again on the whole folder and the new map is aligned onto the
old one (orthogonal Procrustes with scale on the tracks both maps hold), the alignment folded into
the encoder's last layer, so the saved model places songs on the aligned map too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from songmap.app.jobs.common import finish_interrupted_map, mapper_for_job, prepare_folder
from songmap.app.jobs.mapping import _with_checkpoints, file_stamp, map_document, write_map_outputs
from songmap.mapper import Progress
from songmap.mapper.inputs import probe_durations
from songmap.mapper.persistence import MODEL_FILE
from songmap.report.documents import read_embeddings
from songmap.report.outdir import OutputStaging

__all__ = ["UpdateResult", "update_map", "align_onto"]

#: Track key of tracks placed by the encoder since the map was trained (the page marks them).
ADDED_KEY = "added_after_training"


@dataclass
class UpdateResult:
    """What :func:`update_map` did; file lists are relative to the map's input folder."""

    document: dict
    out_dir: Path
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: int = 0
    written: list[Path] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    #: With ``refit``: median and 95th percentile of the kept tracks' displacement, as a share of the old map's extent.
    displacement: tuple[float, float] | None = None
    #: Kept tracks of a map made before songmap recorded file sizes and times: their changes cannot be seen.
    unstamped: int = 0


def align_onto(moving: np.ndarray, fixed: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale ``s``, orthogonal ``R`` (2, 2) and shift ``t`` minimising ``||s * moving @ R + t - fixed||``.

    Orthogonal Procrustes (:func:`scipy.linalg.orthogonal_procrustes`, reflections allowed: a
    retrained map may come out mirrored) on the centred points, with the least-squares scale.

    Examples
    --------
    >>> a = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> s, r, t = align_onto(2 * a[:, ::-1], a)
    >>> np.allclose(s * (2 * a[:, ::-1]) @ r + t, a)
    True
    """
    from scipy.linalg import orthogonal_procrustes

    moving_centre, fixed_centre = moving.mean(axis=0), fixed.mean(axis=0)
    centred = moving - moving_centre
    rotation, singular_sum = orthogonal_procrustes(centred, fixed - fixed_centre)
    spread = float(np.sum(centred**2))
    scale = singular_sum / spread if spread > 0 else 1.0
    return scale, rotation, fixed_centre - scale * moving_centre @ rotation


def update_map(out_dir: str | os.PathLike, *, refit: bool = False, progress: Progress | None = None) -> UpdateResult:
    """Bring the map in ``out_dir`` up to date with the folder it was made from.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder of ``songmap map``. Its folder is scanned again with the same metadata
        options (``embeddings.json``'s ``scan``; a map made before it: the defaults).
    refit : bool
        Train again on the whole folder and align the new map onto the old one.
    progress : Progress, optional
        Callbacks for progress bars.

    Returns
    -------
    UpdateResult

    Raises
    ------
    FileNotFoundError, ValueError
        No map in ``out_dir``, its folder is gone or empty, or fewer than two files can be mapped.
    """
    from songmap.mapper.estimator import SongMapper
    from songmap.web.page import resolve_input_dir

    out_dir = Path(out_dir)
    recovered = finish_interrupted_map(out_dir)
    old = read_embeddings(out_dir)
    if not (out_dir / MODEL_FILE).is_file():
        raise FileNotFoundError(f"no {MODEL_FILE} in {out_dir}: run `songmap map` again to make one")
    scan = old.get("scan") if isinstance(old.get("scan"), dict) else {}
    job = prepare_folder(
        resolve_input_dir(old, out_dir), out_dir, metadata_path=scan.get("metadata"), categories=scan.get("categories"),
        ignore_case=bool(scan.get("ignore_case")), file_column=scan.get("file_column"),
        category_column=scan.get("category_column"), genre_separators=scan.get("genre_separators") or "",
    )
    files = job.collection.files
    relative = [job.collection.relative(path) for path in files]
    before = {t["file"]: t for t in old["tracks"]}
    result = UpdateResult(old, out_dir, recovered=recovered, deleted=sorted(set(before) - set(relative)))
    kept = np.zeros(len(files), dtype=bool)
    for i, (path, rel) in enumerate(zip(files, relative)):
        track = before.get(rel)
        if track is None:
            result.added.append(rel)
        elif "file_size" not in track:
            kept[i] = True
            result.unstamped += 1
        elif (track.get("file_size"), track.get("file_mtime_ns")) != file_stamp(path):
            result.changed.append(rel)
        else:
            kept[i] = True
    result.kept = int(kept.sum())

    hooks = _with_checkpoints(progress)
    loaded = SongMapper.load(out_dir / MODEL_FILE, cache_dir=out_dir / "cache", on_error="skip", progress=hooks)
    if refit:
        mapper = mapper_for_job(loaded, out_dir, hooks)
        mapper.fit(files)
        _align(mapper, old, relative, kept, result)
    else:
        mapper = loaded
        _place(mapper, files, before, relative, kept)
    with OutputStaging(out_dir) as staging:
        doc, tracks = map_document(job, mapper)
        for key in ("scan", "colour_by"):
            if key in old:
                doc[key] = old[key]
        if not refit:
            doc["training"] = old.get("training", doc["training"])
            placed = {*result.added, *result.changed}
            for track in tracks:
                if track["file"] in placed or before.get(track["file"], {}).get(ADDED_KEY):
                    track[ADDED_KEY] = True
        result.written = write_map_outputs(staging, job, mapper, doc, tracks, with_model=refit)
    result.document = doc
    unmapped = {item["file"] for item in doc["skipped"]}
    result.added = [rel for rel in result.added if rel not in unmapped]
    result.changed = [rel for rel in result.changed if rel not in unmapped]
    result.recovered += staging.recovered
    return result


def _place(mapper, files: list[Path], before: dict, relative: list[str], kept: np.ndarray) -> None:
    """Give the loaded ``mapper`` the fitted attributes of the updated folder: kept tracks where they
    were, the others where the encoder places them."""
    new = [path for path, keep in zip(files, kept) if not keep]
    coords, skipped = mapper.transform(new, return_skipped=True)
    durations = probe_durations(new, on_error="skip", skipped=[])
    mapper.embedding_ = np.full((len(files), 2), np.nan)
    mapper.durations_ = np.full(len(files), np.nan)
    mapper.damaged_ = {i: before[rel]["damaged"] for i, (rel, keep) in enumerate(zip(relative, kept))
                       if keep and before[rel].get("damaged")}
    placed = iter(range(len(new)))
    for i, (rel, keep) in enumerate(zip(relative, kept)):
        if keep:
            track = before[rel]
            mapper.embedding_[i] = (track["x"], track["y"])
            duration = track.get("duration_s")
            mapper.durations_[i] = np.nan if duration is None else duration
        else:
            k = next(placed)
            mapper.embedding_[i] = coords[k]
            mapper.durations_[i] = durations.get(k, np.nan)
    mapper.skipped_ = skipped


def _align(mapper, old: dict, relative: list[str], kept: np.ndarray, result: UpdateResult) -> None:
    """Align a refitted ``mapper`` onto the old map by the tracks both hold, in its coordinates and its encoder."""
    position = {t["file"]: (t["x"], t["y"]) for t in old["tracks"]}
    rows = [i for i, (rel, keep) in enumerate(zip(relative, kept)) if keep and np.all(np.isfinite(mapper.embedding_[i]))]
    if len(rows) < 3:
        return  # too few tracks in common to say how the maps correspond
    fixed = np.array([position[relative[i]] for i in rows])
    scale, rotation, shift = align_onto(mapper.embedding_[rows], fixed)
    mapper.embedding_ = scale * mapper.embedding_ @ rotation + shift
    # The same map in the encoder's last layer: code = W x + b becomes s * code @ R + t.
    weight, bias = mapper.weights_["to_latent.weight"], mapper.weights_["to_latent.bias"]
    mapper.weights_["to_latent.weight"] = (scale * rotation.T @ weight).astype(weight.dtype)
    mapper.weights_["to_latent.bias"] = (scale * bias @ rotation + shift).astype(bias.dtype)
    old_xy = np.array(list(position.values()))
    extent = float(np.linalg.norm(old_xy.max(axis=0) - old_xy.min(axis=0))) or 1.0
    moved = np.linalg.norm(mapper.embedding_[rows] - fixed, axis=1) / extent
    result.displacement = (float(np.median(moved)), float(np.percentile(moved, 95)))
