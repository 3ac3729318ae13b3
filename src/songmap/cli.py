"""Command-line interface: a thin Typer layer over :mod:`songmap.pipeline`.

Exit codes: 0 success; 1 bad input (missing folder, unusable metadata, fewer
than two decodable files, ...); 2 bad usage (unknown option, invalid value);
3 an unexpected internal error (a bug: please report it); 130 interrupted.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from songmap import __version__

app = typer.Typer(
    name="songmap",
    help="Put a collection of songs on a 2-D map (mel-spectrograms + a two-neuron convolutional autoencoder).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# markup off: file names like "Theme [remix].ogg" must print as they are.
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err.print(Text("error: ", style="bold red") + Text(message))
    return typer.Exit(code)


@contextlib.contextmanager
def _user_errors():
    """Turn every failure into one clear line and an exit code; never a traceback."""
    from songmap.collection import MetadataError

    try:
        yield
    except (typer.Exit, typer.BadParameter):
        raise
    except KeyboardInterrupt:
        raise _fail("interrupted; finished features are cached and will be reused", EXIT_INTERRUPTED) from None
    except (FileNotFoundError, NotADirectoryError, MetadataError) as exc:
        raise _fail(str(exc)) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    except PermissionError as exc:
        raise _fail(f"permission denied: {exc.filename or exc}") from None
    except OSError as exc:
        raise _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
    except Exception as exc:  # a bug: still one line, with a way to see more
        if os.environ.get("SONGMAP_DEBUG"):
            raise
        raise _fail(
            f"unexpected {type(exc).__name__}: {exc} (set SONGMAP_DEBUG=1 for details and please report it)",
            EXIT_INTERNAL,
        ) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and not os.environ.get("SONGMAP_PROGRESS"),
    )


def _parse_filters(text: str) -> tuple[int, ...]:
    try:
        filters = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter("expected comma-separated channel counts, e.g. 16,32,64") from None
    if not filters or any(f < 1 or f > 1024 for f in filters):
        raise typer.BadParameter("expected 1..8 channel counts between 1 and 1024, e.g. 16,32,64")
    if len(filters) > 8:
        raise typer.BadParameter("at most 8 convolution layers")
    return filters


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"songmap {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """songmap: folder of songs in, 2-D map out."""


# -- map ----------------------------------------------------------------------------------------


def run_map(
    input_dir: Path,
    out_dir: Path,
    metadata: Optional[Path],
    categories: Optional[str],
    epochs: int,
    seed: int,
    crop_percentile: float,
    sample_rate: int,
    n_mels: int,
    filters: str,
    max_crop_seconds: float,
) -> dict:
    """Shared by ``map`` and ``demo``: map a folder with progress and a summary; returns the document."""
    from songmap.mapping import Progress as Hooks
    from songmap.mapping import SongMapper
    from songmap.pipeline import map_folder

    started = time.perf_counter()
    with _progress() as progress:
        files_task = progress.add_task("features", total=None, info="")
        train_task = progress.add_task("training", total=epochs, info="", visible=False)
        file_clock = {"start": time.perf_counter()}

        def on_file(done: int, total: int, path: Path) -> None:
            rate = done / max(time.perf_counter() - file_clock["start"], 1e-9)
            progress.update(files_task, total=total, completed=done, info=f"{rate:5.1f} files/s")

        def on_epoch(epoch: int, max_epochs: int, loss: float) -> None:
            progress.update(train_task, visible=True, completed=epoch + 1, info=f"loss {loss:.4f}")

        mapper = SongMapper(
            sample_rate=sample_rate, n_mels=n_mels, crop_percentile=crop_percentile, max_crop_s=max_crop_seconds,
            filters=_parse_filters(filters), epochs=epochs, seed=seed, progress=Hooks(on_file, on_epoch),
        )
        wanted = [c for c in categories.split(",")] if categories else None
        result = map_folder(input_dir, out_dir, mapper, metadata_path=metadata, categories=wanted)
        training = result.document["training"]
        progress.update(train_task, total=training["epochs_run"], completed=training["epochs_run"])
    doc = result.document
    _print_map_summary(result, time.perf_counter() - started)
    return doc


def _print_map_summary(result, seconds: float) -> None:
    doc = result.document
    collection = result.collection
    training = doc["training"]
    for name in collection.missing_in_folder[:10]:
        err.print(f"warning: metadata.csv names a file that is not in the folder: {name}")
    if len(collection.missing_in_folder) > 10:
        err.print(f"warning: ... and {len(collection.missing_in_folder) - 10} more metadata rows without a file")
    if collection.metadata:
        unlisted = [t["file"] for t in doc["tracks"] if t["category"] is None]
        if unlisted:
            err.print(f"note: {len(unlisted)} mapped file(s) have no category in the metadata (e.g. {unlisted[0]})")
    if collection.excluded_by_category:
        err.print(f"note: {collection.excluded_by_category} file(s) left out by --categories")
    for item in doc["skipped"]:
        err.print(f"skipped: {item['file']}: {item['reason']}")
    stop = "stopped early" if training["stopped_early"] else "ran all epochs"
    out.print(
        f"Mapped {len(doc['tracks'])} track(s), skipped {len(doc['skipped'])}; crop {doc['params']['crop_seconds']:.1f} s; "
        f"{training['epochs_run']} epochs ({stop}, best loss {training['best_loss']:.4f}); {seconds:.1f} s."
    )
    for pair in doc.get("pairs", []):
        out.print(
            f"pair [{pair['kind'] or 'pair'}] {pair['a']} <-> {pair['b']}: distance {pair['distance']:.3g} "
            f"(median nearest-neighbour {pair['median_nn_distance']:.3g}), rank {pair['rank_a_to_b']} / {pair['rank_b_to_a']}"
        )
    out.print(f"Wrote {', '.join(p.name for p in result.written)} to {result.out_dir}")
    out.print(f"Open the map: {(result.out_dir / 'map.html').resolve().as_uri()}")


@app.command("map")
def map_command(
    input_dir: Annotated[Path, typer.Argument(help="Folder of songs (searched recursively).", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("songmap-out"),
    metadata: Annotated[
        Optional[Path], typer.Option(help="CSV with columns filename, category [, title, ...]. Default: INPUT_DIR/metadata.csv.")
    ] = None,
    categories: Annotated[Optional[str], typer.Option(help="Only map these categories, comma-separated.")] = None,
    epochs: Annotated[int, typer.Option(min=1, max=100000, help="Maximum training epochs (stops early when the loss stops improving).")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same map.")] = 0,
    crop_percentile: Annotated[float, typer.Option(min=0, max=100, help="Crop/loop-pad every track to this percentile of durations.")] = 75.0,
    max_crop_seconds: Annotated[float, typer.Option(min=1, max=600, help="Upper bound of the crop length in seconds.")] = 30.0,
    sample_rate: Annotated[int, typer.Option(min=1000, max=384000, help="Resample audio to this rate (Hz).")] = 22050,
    n_mels: Annotated[int, typer.Option(min=8, max=512, help="Mel bands.")] = 128,
    filters: Annotated[
        str, typer.Option(callback=lambda value: _parse_filters(value) and value, help="Convolution filter counts of the encoder, comma-separated.")
    ] = "16,32,64",
) -> None:
    """Map every song of INPUT_DIR: writes embeddings.json/.csv, map.png, map.html and model.pt to --out."""
    with _user_errors():
        run_map(input_dir, out_dir, metadata, categories, epochs, seed, crop_percentile, sample_rate, n_mels, filters, max_crop_seconds)


# -- inspect ------------------------------------------------------------------------------------


@app.command("inspect")
def inspect_command(
    input_dir: Annotated[Path, typer.Argument(help="Folder of songs.", show_default=False)],
    metadata: Annotated[Optional[Path], typer.Option(help="Metadata CSV. Default: INPUT_DIR/metadata.csv.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write durations.png (histogram) here.")] = None,
    crop_percentile: Annotated[float, typer.Option(min=0, max=100, help="Percentile `map` would crop at.")] = 75.0,
) -> None:
    """Show formats, rates, channels, durations and categories, and the crop length `map` would use."""
    import numpy as np

    from songmap.pipeline import inspect_folder

    with _user_errors():
        histogram = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            histogram = out_dir / "durations.png"
        collection, rows, crop_s = inspect_folder(input_dir, metadata, crop_percentile, histogram_path=histogram)
        if not rows:
            raise _fail(f"no audio files found in {input_dir}")
        table = Table(title=f"{len(rows)} audio file(s) in {input_dir}")
        for column in ("file", "format", "rate", "ch", "duration", "category"):
            table.add_column(column, justify="right" if column in ("rate", "ch", "duration") else "left")
        for r in rows:
            if r.problem:
                table.add_row(r.file, Text(r.problem, style="red"), "", "", "", r.category or "")
            else:
                table.add_row(r.file, r.format, str(r.sample_rate), str(r.channels), f"{r.duration_s:.2f} s", r.category or "")
        out.print(table)

        summary = Table(title="Durations per category (seconds)")
        for column in ("category", "tracks", "min", "25%", "median", "75%", "max", "total"):
            summary.add_column(column, justify="left" if column == "category" else "right")
        good = [r for r in rows if not r.problem]
        groups: dict[str, list[float]] = {}
        for r in good:
            groups.setdefault(r.category or "(none)", []).append(r.duration_s or 0.0)
        groups["all"] = [r.duration_s or 0.0 for r in good]
        for name, values in groups.items():
            if not values:
                continue
            q = np.percentile(values, [0, 25, 50, 75, 100])
            summary.add_row(name, str(len(values)), *(f"{v:.2f}" for v in q), f"{sum(values):.1f}")
        out.print(summary)
        bad = len(rows) - len(good)
        if bad:
            out.print(f"{bad} file(s) would be skipped by `map` (see the format column).")
        if collection.missing_in_folder:
            out.print(f"{len(collection.missing_in_folder)} metadata row(s) name files that are not in the folder: "
                      + ", ".join(collection.missing_in_folder[:5]))
        if crop_s is not None:
            out.print(f"`songmap map` would loop-pad/crop every track to {crop_s:.2f} s "
                      f"(the {crop_percentile:g}th percentile of durations, clamped to 1-30 s).")
        if histogram is not None and histogram.exists():
            out.print(f"Wrote {histogram}")


# -- convert ------------------------------------------------------------------------------------


@app.command("convert")
def convert_command(
    input_dir: Annotated[Path, typer.Argument(help="Folder of songs.", show_default=False)],
    output_dir: Annotated[Path, typer.Argument(help="Where converted files go (tree mirrored).", show_default=False)],
    audio_format: Annotated[str, typer.Option("--format", help="wav or flac (16-bit PCM).")] = "wav",
    sample_rate: Annotated[Optional[int], typer.Option(min=1000, max=384000, help="Resample to this rate; default: keep.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files in OUTPUT_DIR.")] = False,
) -> None:
    """Convert every audio file (mp3, ogg, ...) to WAV or FLAC, never overwriting without --force."""
    from songmap.pipeline import convert_folder

    with _user_errors():
        if audio_format.lower() not in ("wav", "flac"):
            raise _fail(f"--format must be wav or flac, got {audio_format!r}", EXIT_USAGE)
        if not input_dir.is_dir():
            raise _fail(f"input folder not found: {input_dir}")
        with _progress() as progress:
            task = progress.add_task("convert", total=None, info="")
            result = convert_folder(
                input_dir, output_dir, audio_format, sample_rate, force,
                on_file=lambda done, total, path: progress.update(task, total=total, completed=done, info=""),
            )
        for path, reason in result.failed:
            err.print(f"failed: {path}: {reason}")
        if result.existing:
            err.print(f"kept {len(result.existing)} existing file(s) (use --force to overwrite), e.g. {result.existing[0]}")
        out.print(f"Converted {len(result.written)} file(s) into {output_dir}; {len(result.existing)} kept, {len(result.failed)} failed.")
        if not result.written and result.failed and not result.existing:
            raise typer.Exit(EXIT_BAD_INPUT)


# -- embed --------------------------------------------------------------------------------------


@app.command("embed")
def embed_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of a previous `songmap map` (holds model.pt).", show_default=False)],
    files: Annotated[list[Path], typer.Argument(help="Audio files to place on the map.", show_default=False)],
    output: Annotated[Optional[Path], typer.Option("--output", help="Also write the coordinates to this .json or .csv file.")] = None,
) -> None:
    """Place new songs on an existing map with its saved model (no retraining)."""
    import numpy as np

    from songmap.mapping import SongMapper
    from songmap.outputs import read_embeddings, write_embeddings_csv, write_embeddings_json

    with _user_errors():
        if output is not None and output.suffix.lower() not in (".json", ".csv"):
            raise _fail("--output must end in .json or .csv", EXIT_USAGE)
        model_path = out_dir / "model.pt"
        if not model_path.is_file():
            raise _fail(f"no model.pt in {out_dir} (run 'songmap map' first)")
        mapper = SongMapper.load(model_path, cache_dir=out_dir / "cache", on_error="skip")
        coords, skipped = mapper.transform(files, return_skipped=True)
        reasons = {p: r for p, r in skipped}
        mapped = []
        try:
            reference = read_embeddings(out_dir)["tracks"]
        except (FileNotFoundError, ValueError):
            reference = []
        ref_xy = np.array([[t["x"], t["y"]] for t in reference]) if reference else None
        table = Table(title=f"Placed on the map in {out_dir}")
        for column in ("song", "x", "y", "nearest on the map"):
            table.add_column(column, justify="right" if column in ("x", "y") else "left")
        for path, (x, y) in zip(files, coords):
            if Path(path) in reasons:
                err.print(f"skipped: {path}: {reasons[Path(path)]}")
                continue
            nearest = ""
            if ref_xy is not None:
                nearest = reference[int(np.argmin(np.linalg.norm(ref_xy - [x, y], axis=1)))]["title"]
            mapped.append({"file": str(path), "title": Path(path).stem, "category": None, "duration_s": None, "x": float(x), "y": float(y)})
            table.add_row(Path(path).name, f"{x:.4f}", f"{y:.4f}", nearest)
        if not mapped:
            raise _fail("none of the files could be placed on the map")
        out.print(table)
        if output is not None:
            if output.suffix.lower() == ".csv":
                write_embeddings_csv(output, mapped)
            else:
                write_embeddings_json(output, {"songmap_version": __version__, "model": str(model_path.resolve()),
                                               "tracks": mapped, "skipped": [{"file": str(p), "reason": r} for p, r in skipped]})
            out.print(f"Wrote {output}")


# -- demo ---------------------------------------------------------------------------------------


@app.command("demo")
def demo_command(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the generated soundtrack and the map.")] = Path("songmap-demo"),
    epochs: Annotated[int, typer.Option(min=1, max=100000, help="Maximum training epochs.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed for the soundtrack and the training.")] = 0,
) -> None:
    """Synthesize a small chiptune soundtrack (no download) and map it; tells you where map.html is."""
    from songmap.demo import synthesize_soundtrack

    with _user_errors():
        soundtrack = out_dir / "soundtrack"
        started = time.perf_counter()
        paths = synthesize_soundtrack(soundtrack, seed=seed)
        out.print(f"Synthesized {len(paths)} tracks into {soundtrack} in {time.perf_counter() - started:.1f} s.")
        run_map(soundtrack, out_dir, None, None, epochs, seed, 75.0, 22050, 128, "16,32,64", 30.0)


# -- page / serve -------------------------------------------------------------------------------


@app.command("page")
def page_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of `songmap map`.", show_default=False)],
) -> None:
    """Rebuild map.html from embeddings.json."""
    from songmap.page import write_map_page

    with _user_errors():
        path = write_map_page(out_dir)
        out.print(f"Wrote {path}")


@app.command("serve")
def serve_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of `songmap map`.", show_default=False)],
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0 = any free port).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind; the default is reachable from this computer only.")] = "127.0.0.1",
) -> None:
    """Serve the map page and the mapped audio (only files in embeddings.json) over HTTP."""
    from songmap.serve import run_server

    with _user_errors():
        run_server(out_dir, host=host, port=port)


def run() -> None:  # pragma: no cover - console entry point convenience
    app(prog_name="songmap")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
