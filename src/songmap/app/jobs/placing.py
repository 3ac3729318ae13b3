"""Jobs on an existing output folder: place new songs (``embed``), rebuild the page, serve it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from songmap._version import __version__
from songmap.app.jobs.common import finish_interrupted_map
from songmap.io.text import display_text
from songmap.mapper.fitted import FittedMap
from songmap.mapper.persistence import LEGACY_MODEL_FILE, MODEL_FILE
from songmap.report.documents import read_embeddings, write_embeddings_csv, write_json_document

__all__ = ["PlacedSong", "EmbedResult", "embed_files", "write_page", "serve"]


@dataclass
class PlacedSong:
    """One song placed by :func:`embed_files`."""

    file: str
    title: str
    x: float
    y: float
    #: Title of the nearest track of the map ("" when the folder has no embeddings.json).
    nearest: str = ""

    def track(self) -> dict:
        """As a track of ``embeddings.json``/``.csv`` (no category or duration)."""
        return {"file": self.file, "title": self.title, "category": None, "duration_s": None, "x": self.x, "y": self.y}


@dataclass
class EmbedResult:
    """What :func:`embed_files` did."""

    model_path: Path
    placed: list[PlacedSong] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    #: Notes about an interrupted ``map`` whose outputs were completed first.
    recovered: list[str] = field(default_factory=list)
    written: Path | None = None
    #: What the saved model reads ("songwise", "modulation" or "pooled"), whatever the presets now say.
    representation: str = ""


def _model_path(out_dir: Path) -> Path:
    model_path = out_dir / MODEL_FILE
    if not model_path.is_file() and (out_dir / LEGACY_MODEL_FILE).is_file():
        model_path = out_dir / LEGACY_MODEL_FILE  # a map made by songmap before model format 3
    if not model_path.is_file():
        raise FileNotFoundError(f"no {MODEL_FILE} in {out_dir} (run 'songmap map' first)")
    return model_path


def embed_files(
    out_dir: str | os.PathLike, files: list[str | os.PathLike], *, output: str | os.PathLike | None = None
) -> EmbedResult:
    """Place new songs on the map in ``out_dir`` with its saved model (no retraining, no PyTorch).

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder of ``songmap map`` (holds ``model.safetensors``).
    files : list of str or os.PathLike
        Audio files to place.
    output : str or os.PathLike, optional
        Also write the coordinates to this ``.json`` (an embeddings document
        with ``model`` and ``skipped``) or ``.csv`` file.

    Raises
    ------
    FileNotFoundError
        No model in ``out_dir``.
    ValueError
        ``output`` is neither .json nor .csv, the model is unreadable, or none of the files could be placed.
    """
    out_dir = Path(out_dir)
    if output is not None and Path(output).suffix.lower() not in (".json", ".csv"):
        raise ValueError("--output must end in .json or .csv")
    recovered = finish_interrupted_map(out_dir)
    model_path = _model_path(out_dir)
    mapper = FittedMap.load(model_path, cache_dir=out_dir / "cache", on_error="skip")
    coords, skipped = mapper.transform(files, return_skipped=True)
    try:
        reference = read_embeddings(out_dir)["tracks"]
    except (FileNotFoundError, ValueError):
        reference = []
    ref_xy = np.array([[t["x"], t["y"]] for t in reference]) if reference else None
    reasons = dict(skipped)
    result = EmbedResult(model_path, skipped=skipped, recovered=recovered, representation=mapper.representation_)
    for path, (x, y) in zip(files, coords):
        if Path(path) in reasons:
            continue
        nearest = ""
        if ref_xy is not None:
            nearest = reference[int(np.argmin(np.linalg.norm(ref_xy - [x, y], axis=1)))]["title"]
        result.placed.append(PlacedSong(str(path), Path(path).stem, float(x), float(y), nearest))
    if not result.placed:
        # One line still, with each file's reason (the first few): the user learns what to fix.
        shown = "; ".join(f"{display_text(Path(path).name)}: {reason}" for path, reason in skipped[:3])
        more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        raise ValueError(f"none of the files could be placed on the map ({shown}{more})" if shown
                         else "none of the files could be placed on the map")
    if output is not None:
        output = Path(output)
        tracks = [song.track() for song in result.placed]
        if output.suffix.lower() == ".csv":
            write_embeddings_csv(output, tracks)
        else:
            write_json_document(output, {"songmap_version": __version__, "model": str(model_path.resolve()),
                                         "representation": mapper.representation_, "tracks": tracks, "skipped": [{"file": str(p), "reason": r} for p, r in skipped]})
        result.written = output
    return result


def write_page(out_dir: str | os.PathLike, *, colour_by: str | None = None) -> tuple[Path, list[str]]:
    """Rebuild ``out_dir/map.html`` from ``embeddings.json``, first coloured by ``colour_by`` (default: the
    map's choice); returns the page and recovery notes."""
    from songmap.web.page import write_map_page

    recovered = finish_interrupted_map(out_dir)
    return write_map_page(out_dir, colour_by=colour_by), recovered


def serve(out_dir: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 8000, on_note=None) -> None:
    """Serve the map page and the mapped audio of ``out_dir`` until interrupted (see :mod:`songmap.web.serve`)."""
    from songmap.web.serve import run_server

    for line in finish_interrupted_map(out_dir):
        if on_note is not None:
            on_note(line)
    run_server(out_dir, host=host, port=port)
