"""Command-line interface: a thin Typer layer over the jobs API (:mod:`songmap.app.jobs`).

It only parses options, shows progress and prints results; every job is a function there.

Exit codes: 0 success; 1 bad input (missing folder, unusable metadata, fewer
than two decodable files, ...); 2 bad usage (unknown option, invalid value);
3 an unexpected internal error (a bug: please report it); 130 interrupted.

Over 400 lines because it holds one Typer command per job, each with its options and help
texts; it has no logic of its own beyond parsing and printing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from songmap._version import __version__
from songmap.io.text import display_text

if TYPE_CHECKING:
    from rich.progress import Progress

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
DEFAULT_JOBS = os.cpu_count() or 1


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err.print(Text("error: ", style="bold red") + Text(message))
    return typer.Exit(code)


@contextlib.contextmanager
def _user_errors():
    """Turn every failure into one clear line and an exit code; never a traceback."""
    from songmap.app.jobs import MetadataError

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
    # Imported here: `embed` and the other quick commands show no bars.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
    # A file name that is not UTF-8 must not crash a print at the end of a long run.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")


# -- map ----------------------------------------------------------------------------------------


def _map_progress(progress: Progress, epochs: int):
    """Progress hooks of ``map`` and ``demo``: a features bar with the realtime factor, a training bar."""
    from songmap.app.jobs import Progress as Hooks

    files_task = progress.add_task("features", total=None, info="")
    train_task = progress.add_task("training", total=epochs, info="", visible=False)
    started = time.perf_counter()

    def on_file(done: int, total: int, path: Path) -> None:
        elapsed = max(time.perf_counter() - started, 1e-9)
        info = f"{done / elapsed:5.1f} files/s, {hooks.audio_seconds / elapsed:5.0f}x realtime"
        progress.update(files_task, total=total, completed=done, info=info)
        if progress.disable and done == total:  # piped output gets plain lines instead of bars
            err.print(f"features: {total} files, {info}, {elapsed:.1f} s")

    def on_epoch(epoch: int, max_epochs: int, loss: float) -> None:
        progress.update(train_task, visible=True, total=max_epochs, completed=epoch + 1, info=f"loss {loss:.4f}")
        if progress.disable and (epoch + 1) % 50 == 0:
            err.print(f"training: epoch {epoch + 1}/{max_epochs}, loss {loss:.4f}")

    hooks = Hooks(on_file, on_epoch)
    return hooks


def _print_map_summary(result, seconds: float) -> None:
    doc = result.document
    collection = result.collection
    training = doc["training"]
    for line in result.recovered:
        err.print(f"note: {line}")
    _print_metadata_warnings(collection)
    if collection.metadata:
        unlisted = set(collection.not_in_metadata)
        empty = [t["file"] for t in doc["tracks"] if t["category"] is None and t["file"] not in unlisted]
        if empty:
            err.print(f"note: {len(empty)} mapped file(s) have an empty category in the metadata (e.g. {empty[0]})")
    if collection.excluded_by_category:
        err.print(f"note: {collection.excluded_by_category} file(s) left out by --categories")
    for item in doc["skipped"]:
        err.print(f"skipped: {display_text(item['file'])}: {item['reason']}")
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
    _print_quality(doc.get("quality"))
    out.print(f"Wrote {', '.join(p.name for p in result.written)} to {result.out_dir}")
    out.print(f"Open the map: {(result.out_dir / 'map.html').resolve().as_uri()}")


def _print_metadata_warnings(collection) -> None:
    """The metadata columns used, rows matched by another extension or naming missing files,
    files without a row, and folders that could not be read."""
    sheet = collection.metadata_path.name if collection.metadata_path is not None else "metadata.csv"
    if collection.metadata_path is not None:
        used = f"file names from column '{collection.file_column}'"
        used += (f", categories from column '{collection.category_column}'" if collection.category_column
                 else ", no category column")
        if collection.title_column:
            used += f", titles from column '{collection.title_column}'"
        err.print(f"note: {sheet}: {used}")
    if collection.matched_by_stem:
        err.print(f"warning: {_other_extensions(collection.matched_by_stem)}")
    for name in collection.missing_in_folder[:10]:
        hint = collection.case_hints.get(name)
        extra = f" (the folder has {hint}: use --ignore-case to match names whatever their case)" if hint else ""
        candidates = collection.stem_candidates.get(name)
        if candidates and len(candidates) > 1:
            extra += f" (several files have that name with another extension: {', '.join(candidates)}; none was guessed)"
        elif candidates:
            extra += f" (the folder has {candidates[0]}, but other rows name it with another extension too; none was guessed)"
        err.print(f"warning: {sheet} names a file that is not in the folder: {name}{extra}")
    if len(collection.missing_in_folder) > 10:
        err.print(f"warning: ... and {len(collection.missing_in_folder) - 10} more metadata rows without a file")
    if collection.not_in_metadata:
        examples = ", ".join(collection.not_in_metadata[:3])
        err.print(
            f"warning: {len(collection.not_in_metadata)} audio file(s) are not listed in {sheet} and get no category"
            f" (e.g. {examples})"
        )
    for folder, reason in collection.unreadable:
        err.print(f"warning: {folder}: {reason}; its files are not mapped")


def _other_extensions(matched: dict[str, str]) -> str:
    """``3 rows matched by name with another extension (.wav listed, .mp3 found)``."""
    from collections import Counter

    def extension(name: str) -> str:
        return Path(name).suffix.lower()

    kinds = Counter((extension(listed), extension(found)) for listed, found in matched.items())
    if len(kinds) == 1:
        ((listed, found),) = kinds
        detail = f"{listed} listed, {found} found"
    else:
        detail = "; ".join(f"{listed} listed, {found} found: {n}" for (listed, found), n in kinds.most_common())
    rows = "1 row" if len(matched) == 1 else f"{len(matched)} rows"
    return f"{rows} matched by name with another extension ({detail})"


def _print_quality(quality: dict | None) -> None:
    """One line of map-quality figures (see ``songmap compare`` for what they mean)."""
    if not quality:
        return

    def number(value, digits: int = 3) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    t, c = quality["trustworthiness"], quality["continuity"]
    line = (f"Quality: trustworthiness@5/@10 {number(t.get('5'))}/{number(t.get('10'))}, "
            f"continuity@5/@10 {number(c.get('5'))}/{number(c.get('10'))}")
    if quality.get("knn_category_agreement") is not None:
        line += f", kNN category agreement {number(quality['knn_category_agreement'], 2)}"
    out.print(line + ".")


_FILE_COLUMN_HELP = ("Metadata column naming the files. Default: guessed (filename; else file or path; "
                     "else name or title when it holds file names).")
_CATEGORY_COLUMN_HELP = ("Metadata column of categories. Default: guessed (category; else sound-type, type, label, "
                         "class or genre).")
_PRESET_HELP = ("Model configuration: 'default' (= 'songwise': the whole song through windows, modulation spectra with a "
                "key-invariant tonal view, neighbour-preserving training), 'modulation' (the previous default: modulation "
                "spectra of each track's start) or 'seed' (the notebooks' model).")


def _check_preset(value: str) -> str:
    from songmap.app.jobs import PRESETS

    if value not in PRESETS:
        raise typer.BadParameter(f"expected one of {', '.join(PRESETS)}")
    return value


_DEVICE_HELP = "Where to train the autoencoder: 'auto' (a CUDA GPU when PyTorch sees one, else the CPU), 'cpu' or 'cuda'."


def _check_device(value: str) -> str:
    from songmap.model.device import DEVICES

    if value not in DEVICES:
        raise typer.BadParameter(f"expected one of {', '.join(DEVICES)}")
    return value


@app.command("map")
def map_command(
    input_dir: Annotated[Path, typer.Argument(help="Folder of songs (searched recursively).", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("songmap-out"),
    metadata: Annotated[
        Path | None, typer.Option(help="CSV with columns filename, category [, title, ...]. Default: INPUT_DIR/metadata.csv.")
    ] = None,
    categories: Annotated[str | None, typer.Option(help="Only map these categories, comma-separated.")] = None,
    ignore_case: Annotated[
        bool, typer.Option("--ignore-case", help="Match metadata file names to files whatever their upper/lower case.")
    ] = False,
    file_column: Annotated[str | None, typer.Option(help=_FILE_COLUMN_HELP)] = None,
    category_column: Annotated[str | None, typer.Option(help=_CATEGORY_COLUMN_HELP)] = None,
    epochs: Annotated[int, typer.Option(min=1, max=100000, help="Maximum training epochs (stops early when the loss stops improving).")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same map.")] = 0,
    crop_percentile: Annotated[
        float | None, typer.Option(min=0, max=100, help="Crop/loop-pad every track to this percentile of durations. Default: the preset's (default 100, seed 75).")
    ] = None,
    max_crop_seconds: Annotated[float, typer.Option(min=1, max=600, help="Upper bound of the crop length in seconds.")] = 30.0,
    sample_rate: Annotated[int, typer.Option(min=1000, max=384000, help="Resample audio to this rate (Hz).")] = 22050,
    n_mels: Annotated[int, typer.Option(min=8, max=512, help="Mel bands.")] = 128,
    filters: Annotated[
        str | None,
        typer.Option(callback=lambda value: value and _parse_filters(value) and value,
                     help="Convolution filter counts of the encoder, comma-separated. Default: the preset's (default 8,16,32; seed 16,32,64)."),
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, max=1024, help="Processes for feature extraction (default: all cores).")] = DEFAULT_JOBS,
    scheduler: Annotated[
        str | None, typer.Option(help="Run feature extraction on Dask: 'local' or a scheduler address like tcp://host:8786.")
    ] = None,
    preset: Annotated[str, typer.Option(callback=_check_preset, help=_PRESET_HELP)] = "default",
    device: Annotated[str, typer.Option(callback=_check_device, help=_DEVICE_HELP)] = "auto",
) -> None:
    """Map every song of INPUT_DIR: writes embeddings.json/.csv, map.png, map.html and model.safetensors to --out."""
    from songmap.app.jobs import SongMapper, map_folder

    with _user_errors():
        started = time.perf_counter()
        mapper = SongMapper(
            sample_rate=sample_rate, n_mels=n_mels, crop_percentile=crop_percentile, max_crop_s=max_crop_seconds,
            filters=_parse_filters(filters) if filters else None, epochs=epochs, seed=seed, n_jobs=jobs, scheduler=scheduler, preset=preset,
            device=device,
        )
        with _progress() as progress:
            result = map_folder(input_dir, out_dir, mapper, metadata_path=metadata, ignore_case=ignore_case,
                                file_column=file_column, category_column=category_column,
                                categories=categories.split(",") if categories else None,
                                progress=_map_progress(progress, epochs))
        _print_map_summary(result, time.perf_counter() - started)


# -- compare ------------------------------------------------------------------------------------


def _parse_methods(text: str) -> list[str]:
    from songmap.app.jobs import COMPARE_METHODS

    methods = [m.strip().lower() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in COMPARE_METHODS]
    if not methods or unknown:
        raise typer.BadParameter(f"expected some of {','.join(COMPARE_METHODS)}, comma-separated" +
                                 (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return methods


@app.command("compare")
def compare_command(
    input_dir: Annotated[Path, typer.Argument(help="Folder of songs (searched recursively).", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder for quality.json and compare.png.")] = Path("songmap-compare"),
    pairs: Annotated[Path | None, typer.Option(help="CSV of known pairs (a,b[,kind]). Default: INPUT_DIR/pairs.csv if present.")] = None,
    methods: Annotated[
        str, typer.Option(callback=lambda value: _parse_methods(value) and value, help="Methods to run, comma-separated: ae,pca,tsne,umap.")
    ] = "ae,pca,tsne,umap",
    metadata: Annotated[
        Path | None, typer.Option(help="CSV with columns filename, category. Default: INPUT_DIR/metadata.csv.")
    ] = None,
    categories: Annotated[str | None, typer.Option(help="Only use these categories, comma-separated.")] = None,
    file_column: Annotated[str | None, typer.Option(help=_FILE_COLUMN_HELP)] = None,
    category_column: Annotated[str | None, typer.Option(help=_CATEGORY_COLUMN_HELP)] = None,
    epochs: Annotated[int, typer.Option(min=1, max=100000, help="Maximum training epochs of the autoencoder.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the autoencoder, t-SNE and UMAP.")] = 0,
    preset: Annotated[str, typer.Option(callback=_check_preset, help=_PRESET_HELP)] = "default",
    device: Annotated[str, typer.Option(callback=_check_device, help=_DEVICE_HELP)] = "auto",
) -> None:
    """Map INPUT_DIR with the autoencoder, PCA, t-SNE and UMAP on the same features and measure each map.

    Writes quality.json (trustworthiness and continuity at k=5 and 10, kNN category agreement,
    ranks of known pairs, wall time per method) and compare.png (one panel per method).
    """
    from songmap.app.jobs import METHOD_TITLES, SongMapper, compare_folder
    from songmap.app.jobs import Progress as Hooks

    with _user_errors():
        wanted = _parse_methods(methods)
        started = time.perf_counter()
        with _progress() as progress:
            files_task = progress.add_task("features", total=None, info="")
            train_task = progress.add_task("training", total=epochs, info="", visible=False)
            method_task = progress.add_task("methods", total=len(wanted), info="", visible=False)

            def on_file(done: int, total: int, path: Path) -> None:
                progress.update(files_task, total=total, completed=done)

            def on_epoch(epoch: int, max_epochs: int, loss: float) -> None:
                progress.update(train_task, visible="ae" in wanted, total=max_epochs, completed=epoch + 1,
                                info=f"loss {loss:.4f}")

            def on_method(name: str) -> None:
                if name in wanted:
                    progress.update(method_task, visible=True, completed=wanted.index(name),
                                    info=METHOD_TITLES.get(name, name))
                    if progress.disable:
                        err.print(f"running {METHOD_TITLES.get(name, name)}")

            result = compare_folder(input_dir, out_dir, SongMapper(epochs=epochs, seed=seed, preset=preset, device=device), wanted,
                                    metadata_path=metadata, categories=categories.split(",") if categories else None,
                                    file_column=file_column, category_column=category_column, pairs_path=pairs, progress=Hooks(on_file, on_epoch), on_method=on_method)
            progress.update(method_task, completed=len(wanted), info="")
        doc = result.document
        _print_metadata_warnings(result.collection)
        for item in doc["skipped"]:
            err.print(f"skipped: {item['file']}: {item['reason']}")
        table = Table(title=f"Map quality of {doc['n_tracks']} tracks (reference: {doc['reference_space']})")
        # Short headers: the table must fit 80 columns (T = trustworthiness, C = continuity).
        for column in ("method", "T@5", "T@10", "C@5", "C@10", "kNN cat", "pair ranks", "s"):
            table.add_column(column, justify="left" if column in ("method", "pair ranks") else "right")
        for row in _quality_rows(doc["methods"], METHOD_TITLES):
            table.add_row(*row)
        out.print(table)
        out.print("T@k/C@k: trustworthiness/continuity with k neighbours; kNN cat: share of the 5 nearest with the same "
                  "category; pair ranks: rank of b among a's neighbours / of a among b's (1 = nearest).")
        if doc.get("pair_kinds"):
            header, rows = _pair_kind_rows(doc["pair_kinds"], METHOD_TITLES)
            kinds_table = Table(title="Pair ranks by kind of pair")
            for column in header:
                kinds_table.add_column(column, justify="left" if column == "kind" else "right")
            for row in rows:
                kinds_table.add_row(*row)
            out.print(kinds_table)
            out.print("Each cell: median rank a→b/b→a, share of ranks (both ways) at 1, worst rank, among tracks of other "
                      "music (a song's other copies in pairs.csv are not counted); features: ranks in the reference "
                      "space itself. Rank-≤5 shares are in quality.json (pair_kinds).")
        out.print(f"Features {doc['features_seconds']:.1f} s (shared by all methods); {time.perf_counter() - started:.1f} s in all.")
        out.print(f"Wrote {', '.join(p.name for p in result.written)} to {result.out_dir}")


def _pair_kind_rows(pair_kinds: dict[str, dict], titles: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    """Header and rows (one per kind of pair) of the per-kind pair ranks of each space ("features", methods)."""
    spaces = list(pair_kinds)
    kinds = list(dict.fromkeys(kind for space in spaces for kind in pair_kinds[space]))

    def cell(s: dict | None) -> str:
        if s is None:
            return "-"
        return f"{s['median_rank_a_to_b']:g}/{s['median_rank_b_to_a']:g} {s['share_rank_1']:.0%} {s['worst_rank']}"

    header = ["kind", "n", *(titles.get(space, space) for space in spaces)]
    rows = []
    for kind in kinds:
        n = next(pair_kinds[space][kind]["n_pairs"] for space in spaces if kind in pair_kinds[space])
        rows.append([kind, str(n), *(cell(pair_kinds[space].get(kind)) for space in spaces)])
    return header, rows


def _quality_rows(methods: dict[str, dict], titles: dict[str, str]) -> list[list[str]]:
    """Table rows (method, T@5, T@10, C@5, C@10, kNN category, pair ranks, seconds)."""

    def number(value, digits=3):
        return "-" if value is None else f"{value:.{digits}f}"

    rows = []
    for name, q in methods.items():
        pairs = " ".join(f"{p['rank_a_to_b']}/{p['rank_b_to_a']}" for p in q.get("pairs", [])) or "-"
        rows.append([
            titles.get(name, name),
            number(q["trustworthiness"].get("5")),
            number(q["trustworthiness"].get("10")),
            number(q["continuity"].get("5")),
            number(q["continuity"].get("10")),
            number(q.get("knn_category_agreement"), 2),
            pairs,
            number(q.get("seconds"), 1),
        ])
    return rows


# -- inspect ------------------------------------------------------------------------------------


@app.command("inspect")
def inspect_command(
    input_dir: Annotated[Path, typer.Argument(help="Folder of songs.", show_default=False)],
    metadata: Annotated[Path | None, typer.Option(help="Metadata CSV. Default: INPUT_DIR/metadata.csv.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Write durations.png (histogram) here.")] = None,
    crop_percentile: Annotated[
        float | None, typer.Option(min=0, max=100, help="Percentile `map` would crop at. Default: that of `map`'s default preset (100).")
    ] = None,
    ignore_case: Annotated[
        bool, typer.Option("--ignore-case", help="Match metadata file names to files whatever their upper/lower case.")
    ] = False,
    file_column: Annotated[str | None, typer.Option(help=_FILE_COLUMN_HELP)] = None,
    category_column: Annotated[str | None, typer.Option(help=_CATEGORY_COLUMN_HELP)] = None,
) -> None:
    """Show formats, rates, channels, durations and categories, and the crop length `map` would use."""
    from songmap.app.jobs import inspect_folder

    with _user_errors():
        result = inspect_folder(input_dir, metadata_path=metadata, crop_percentile=crop_percentile,
                                histogram_path=out_dir / "durations.png" if out_dir is not None else None,
                                ignore_case=ignore_case, file_column=file_column, category_column=category_column)
        rows = result.rows
        table = Table(title=f"{len(rows)} audio file(s) in {input_dir}")
        for column in ("file", "format", "rate", "ch", "duration", "category"):
            table.add_column(column, justify="right" if column in ("rate", "ch", "duration") else "left")
        for r in rows:
            if r.problem:
                table.add_row(display_text(r.file), Text(r.problem, style="red"), "", "", "", r.category or "")
            else:
                table.add_row(display_text(r.file), r.format, str(r.sample_rate), str(r.channels), f"{r.duration_s:.2f} s",
                              r.category or "")
        out.print(table)

        summary = Table(title="Durations per category (seconds)")
        for column in ("category", "tracks", "min", "25%", "median", "75%", "max", "total"):
            summary.add_column(column, justify="left" if column == "category" else "right")
        for name, values in result.durations_by_category.items():
            if values:
                quartiles = _quartiles(values)
                summary.add_row(name, str(len(values)), *(f"{v:.2f}" for v in quartiles), f"{sum(values):.1f}")
        out.print(summary)
        bad = sum(1 for r in rows if r.problem)
        if bad:
            out.print(f"{bad} file(s) would be skipped by `map` (see the format column).")
        _print_metadata_warnings(result.collection)
        if result.crop_s is not None:
            out.print(f"`songmap map` would loop-pad/crop every track to {result.crop_s:.2f} s "
                      f"(the {result.crop_percentile:g}th percentile of durations, clamped to 1-30 s).")
        if result.histogram is not None:
            out.print(f"Wrote {result.histogram}")


def _quartiles(values: list[float]) -> list[float]:
    import numpy as np

    return list(np.percentile(values, [0, 25, 50, 75, 100]))


# -- convert ------------------------------------------------------------------------------------


@app.command("convert")
def convert_command(
    input_dir: Annotated[Path, typer.Argument(help="Folder of songs.", show_default=False)],
    output_dir: Annotated[Path, typer.Argument(help="Where converted files go (tree mirrored).", show_default=False)],
    audio_format: Annotated[str, typer.Option("--format", help="wav or flac (16-bit PCM).")] = "wav",
    sample_rate: Annotated[int | None, typer.Option(min=1000, max=384000, help="Resample to this rate; default: keep.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files in OUTPUT_DIR.")] = False,
) -> None:
    """Convert every audio file (mp3, ogg, ...) to WAV or FLAC, never overwriting without --force."""
    from songmap.app.jobs import convert_folder

    with _user_errors():
        if audio_format.lower() not in ("wav", "flac"):
            raise _fail(f"--format must be wav or flac, got {audio_format!r}", EXIT_USAGE)
        with _progress() as progress:
            task = progress.add_task("convert", total=None, info="")
            result = convert_folder(
                input_dir, output_dir, audio_format=audio_format, sample_rate=sample_rate, force=force,
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
    out_dir: Annotated[Path, typer.Argument(help="Output folder of a previous `songmap map` (holds model.safetensors).", show_default=False)],
    files: Annotated[list[Path], typer.Argument(help="Audio files to place on the map.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", help="Also write the coordinates to this .json or .csv file.")] = None,
) -> None:
    """Place new songs on an existing map with its saved model (no retraining)."""
    from songmap.app.jobs import embed_files

    with _user_errors():
        if output is not None and output.suffix.lower() not in (".json", ".csv"):
            raise _fail("--output must end in .json or .csv", EXIT_USAGE)
        result = embed_files(out_dir, files, output=output)
        for line in result.recovered:
            err.print(f"note: {line}")
        for path, reason in result.skipped:
            err.print(f"skipped: {path}: {reason}")
        table = Table(title=f"Placed on the map in {out_dir} (its model reads: {result.representation})")
        for column in ("song", "x", "y", "nearest on the map"):
            table.add_column(column, justify="right" if column in ("x", "y") else "left")
        for song in result.placed:
            table.add_row(Path(song.file).name, f"{song.x:.4f}", f"{song.y:.4f}", song.nearest)
        out.print(table)
        if result.written is not None:
            out.print(f"Wrote {result.written}")


# -- export -------------------------------------------------------------------------------------


@app.command("export")
def export_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of `songmap map`.", show_default=False)],
    export_format: Annotated[
        str, typer.Option("--format", help='notebooks: the notebooks\' embeddings file {"<stem>.npy": [x, y]}; tsv: file, x, y with a header.')
    ] = "notebooks",
    output: Annotated[
        Path | None, typer.Option("--output", help="File to write. Default: OUT_DIR/embeddings-notebooks.json (notebooks) or OUT_DIR/embeddings.tsv (tsv), replaced on every export.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --output file.")] = False,
) -> None:
    """Write a map in another tool's format: the original notebooks' embeddings file, or a TSV."""
    from songmap.app.jobs import EXPORT_FORMATS, export_map

    with _user_errors():
        chosen = export_format.lower()
        if chosen not in EXPORT_FORMATS:
            raise _fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {export_format!r}", EXIT_USAGE)
        result = export_map(out_dir, chosen, output=output, force=force)
        for line in result.recovered:
            err.print(f"note: {line}")
        for key, files in result.shared_keys.items():
            err.print(f"warning: {', '.join(files)} share the key {key}: only {files[0]} is in the file")
        out.print(f"Wrote {result.tracks} track(s) to {result.path}")


# -- path / playlist ----------------------------------------------------------------------------


def _print_playlist(result) -> None:
    """Notes, then the list as a table or the file written."""
    for line in [*result.recovered, *result.notes]:
        err.print(f"note: {line}")
    if result.output is not None:
        out.print(f"Wrote {len(result.tracks)} track(s) to {result.output} ({result.format})")
        return
    table = Table(title=display_text(result.name), title_justify="left")
    for column, justify in (("#", "right"), ("title", "left"), ("category", "left"), ("seconds", "right"),
                            ("cluster", "left"), ("file", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # fold, never cut: every name in full
    for order, track in enumerate(result.tracks, start=1):
        duration = track.get("duration_s")
        table.add_row(str(order), display_text(str(track.get("title") or "")), display_text(str(track.get("category") or "")),
                      f"{duration:.1f}" if isinstance(duration, (int, float)) else "", display_text(str(track.get("cluster_name") or "")),
                      display_text(track["file"]))
    out.print(table)


_PLAYLIST_OUTPUT = "Write the list to this file instead of printing it: .m3u8/.m3u (players) or .csv (spreadsheets)."
_PLAYLIST_FORCE = "Replace an existing --output file that is not a playlist songmap wrote."


@app.command("path")
def path_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of `songmap map`.", show_default=False)],
    start: Annotated[str, typer.Option("--from", help="First track: its file (as in embeddings.json, or a path) or its title.", show_default=False)],
    end: Annotated[str, typer.Option("--to", help="Last track: its file or its title.", show_default=False)],
    length: Annotated[int | None, typer.Option("--length", min=2, help="Exactly this many tracks, evenly spaced (default: the shortest path).")] = None,
    output: Annotated[Path | None, typer.Option("--output", help=_PLAYLIST_OUTPUT)] = None,
    force: Annotated[bool, typer.Option("--force", help=_PLAYLIST_FORCE)] = False,
) -> None:
    """Tracks that lead smoothly from one track to another (a shortest path through the features' neighbours)."""
    from songmap.app.jobs import path_playlist

    with _user_errors():
        _print_playlist(path_playlist(out_dir, start, end, length=length, output=output, force=force))


@app.command("playlist")
def playlist_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of `songmap map`.", show_default=False)],
    seed: Annotated[str, typer.Option("--seed-track", help="First track: its file (as in embeddings.json, or a path) or its title.", show_default=False)],
    length: Annotated[int, typer.Option("--length", min=1, help="Number of tracks, the seed included.")] = 10,
    output: Annotated[Path | None, typer.Option("--output", help=_PLAYLIST_OUTPUT)] = None,
    force: Annotated[bool, typer.Option("--force", help=_PLAYLIST_FORCE)] = False,
) -> None:
    """More like this: the tracks nearest a seed track in the features, in a smooth order."""
    from songmap.app.jobs import similar_playlist

    with _user_errors():
        _print_playlist(similar_playlist(out_dir, seed, length=length, output=output, force=force))


# -- demo ---------------------------------------------------------------------------------------


@app.command("demo")
def demo_command(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the generated soundtrack and the map.")] = Path("songmap-demo"),
    epochs: Annotated[int, typer.Option(min=1, max=100000, help="Maximum training epochs.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed for the soundtrack and the training.")] = 0,
) -> None:
    """Synthesize a small chiptune soundtrack (no download) and map it; tells you where map.html is."""
    from songmap.app.jobs import SongMapper, demo

    with _user_errors():
        started = time.perf_counter()
        with _progress() as progress:
            err.print(f"synthesizing the demo soundtrack into {out_dir / 'soundtrack'}")
            paths, result = demo(out_dir, SongMapper(epochs=epochs, seed=seed), progress=_map_progress(progress, epochs))
        out.print(f"Synthesized {len(paths)} tracks into {out_dir / 'soundtrack'}.")
        _print_map_summary(result, time.perf_counter() - started)


# -- page / serve -------------------------------------------------------------------------------


@app.command("page")
def page_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of `songmap map`.", show_default=False)],
) -> None:
    """Rebuild map.html from embeddings.json."""
    from songmap.app.jobs import write_page

    with _user_errors():
        path, recovered = write_page(out_dir)
        for line in recovered:
            err.print(f"note: {line}")
        out.print(f"Wrote {path}")


@app.command("serve")
def serve_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of `songmap map`.", show_default=False)],
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0 = any free port).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind; the default is reachable from this computer only.")] = "127.0.0.1",
) -> None:
    """Serve the map page and the mapped audio (only files in embeddings.json) over HTTP."""
    from songmap.app.jobs import serve

    with _user_errors():
        serve(out_dir, host=host, port=port, on_note=lambda line: err.print(f"note: {line}"))
