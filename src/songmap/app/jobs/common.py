"""What every folder job does first: check the folders, scan the collection, read the pairs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from songmap.io.collection import Collection, scan_collection
from songmap.io.tables import read_pairs
from songmap.mapper import Progress
from songmap.report.outdir import recover_output_folder

if TYPE_CHECKING:  # SongMapper imports scikit-learn (a second); placing songs runs these modules' imports too
    from songmap.mapper.estimator import SongMapper

__all__ = ["Prepared", "prepare_folder", "mapper_for_job", "finish_interrupted_map"]


def _is_inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def excluded_output(input_dir: Path, out_dir: Path) -> Path | None:
    """``out_dir`` when it lies inside ``input_dir`` (its files must not be read as input)."""
    inside = _is_inside(out_dir, input_dir) and input_dir.resolve() != out_dir.resolve()
    return out_dir if inside else None


@dataclass
class Prepared:
    """A job's input: the folders, the collection and the known pairs (None without a pairs CSV)."""

    input_dir: Path
    out_dir: Path
    collection: Collection
    pairs: list[dict[str, str]] | None


def prepare_folder(
    input_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    metadata_path: str | os.PathLike | None = None,
    categories: list[str] | None = None,
    pairs_path: str | os.PathLike | None = None,
    ignore_case: bool = False,
    file_column: str | None = None,
    category_column: str | None = None,
    genre_separators: str = "",
) -> Prepared:
    """Scan ``input_dir`` for a job writing to ``out_dir``; pairs default to ``input_dir/pairs.csv``.

    A pair naming a file only by another extension (``Storm.wav`` for ``Storm.mp3``)
    names that file, as a metadata row would.

    Raises
    ------
    NotADirectoryError, FileNotFoundError, MetadataError, ValueError
        One-line messages: an output path that is a file, no audio files, a bad CSV.
    """
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"output path exists and is not a folder: {out_dir}")
    collection = scan_collection(
        input_dir, metadata_path, categories, exclude=excluded_output(input_dir, out_dir), ignore_case=ignore_case,
        file_column=file_column, category_column=category_column, genre_separators=genre_separators,
    )
    if not collection.files:
        raise ValueError(f"no audio files found in {input_dir}")
    if pairs_path is None and (input_dir / "pairs.csv").is_file():
        pairs_path = input_dir / "pairs.csv"
    pairs = read_pairs(pairs_path) if pairs_path is not None else None
    if pairs is not None:
        names = collection.resolve_names([name for p in pairs for name in (p["a"], p["b"])])
        pairs = [{**p, "a": a, "b": b} for p, a, b in zip(pairs, names[0::2], names[1::2])]
    return Prepared(input_dir, out_dir, collection, pairs)


def mapper_for_job(mapper: SongMapper, out_dir: Path, progress: Progress | None, **overrides) -> SongMapper:
    """A copy of the caller's unfitted ``mapper`` set up to run a job (the caller's stays as it was).

    Files that cannot be decoded are skipped and reported, features are cached in
    ``out_dir/cache`` unless the mapper names a cache, and ``progress`` reports.
    """
    # A new, unfitted estimator from the same parameters; the caller's keeps its own.
    job_mapper = type(mapper)(**mapper.get_params())
    settings = {"on_error": "skip", "progress": progress, **overrides}
    if job_mapper.cache_dir is None:
        settings["cache_dir"] = out_dir / "cache"
    return job_mapper.set_params(**settings)


def finish_interrupted_map(out_dir: str | os.PathLike) -> list[str]:
    """Complete the outputs of a ``map`` that was killed while moving them into place.

    Returns what was done, one line each; a read-only folder is left as it is
    (nothing can be finished, and nothing needs to be to read it).
    """
    try:
        return recover_output_folder(out_dir)
    except OSError:
        return []
