"""The Typer app: one thin command per job of :mod:`songmap.app.jobs`.

A command parses its options, runs the job inside :func:`~songmap.app.cli.console.user_errors`
with the bars of :mod:`~songmap.app.cli.console`, and prints the result with
:mod:`~songmap.app.cli.rendering`.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from songmap._version import __version__
from songmap.app.cli.console import (
    EXIT_BAD_INPUT,
    EXIT_USAGE,
    MethodsBar,
    err,
    fail,
    fit_hooks,
    note,
    out,
    progress_bars,
    user_errors,
)
from songmap.app.cli.options import (
    DEFAULT_JOBS,
    CategoryColumn,
    ColourBy,
    Device,
    FileColumn,
    GenreSeparators,
    IgnoreCase,
    MapFolder,
    PlaylistForce,
    PlaylistOutput,
    PlaylistRelativeTo,
    Preset,
    SongsFolder,
    parse_filters,
    parse_methods,
    parse_seeds,
)
from songmap.app.cli.rendering import (
    print_comparison,
    print_inspection,
    print_map_summary,
    print_placed,
    print_playlist,
    print_update_summary,
)

app = typer.Typer(
    name="songmap",
    help="Put a collection of songs on a 2-D map (mel-spectrograms + a two-neuron convolutional autoencoder).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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


@app.command("map")
def map_command(
    input_dir: SongsFolder,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("songmap-out"),
    metadata: Annotated[
        Path | None, typer.Option(help="CSV with columns filename, category [, title, ...]. Default: INPUT_DIR/metadata.csv.")
    ] = None,
    categories: Annotated[str | None, typer.Option(help="Only map these categories, comma-separated.")] = None,
    ignore_case: IgnoreCase = False,
    file_column: FileColumn = None,
    category_column: CategoryColumn = None,
    genre_separators: GenreSeparators = "",
    colour_by: ColourBy = None,
    epochs: Annotated[int, typer.Option(min=1, max=100000, help="Maximum training epochs (the default and modulation presets take at most 300 steps; every preset stops early when the loss stops improving).")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same map.")] = 0,
    crop_percentile: Annotated[
        float | None, typer.Option(min=0, max=100, help="Crop/loop-pad every track to this percentile of durations. Default: the preset's (default 100, seed 75).")
    ] = None,
    max_crop_seconds: Annotated[float, typer.Option(min=1, max=600, help="Upper bound of the crop length in seconds.")] = 30.0,
    sample_rate: Annotated[int, typer.Option(min=1000, max=384000, help="Resample audio to this rate (Hz).")] = 22050,
    n_mels: Annotated[int, typer.Option(min=8, max=512, help="Mel bands.")] = 128,
    filters: Annotated[
        str | None,
        typer.Option(callback=lambda value: value and parse_filters(value) and value,
                     help="Convolution filter counts of the encoder, comma-separated. Default: the preset's (default 8,16,32; seed 16,32,64)."),
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, max=1024, help="Processes for feature extraction (default: all cores).")] = DEFAULT_JOBS,
    scheduler: Annotated[
        str | None, typer.Option(help="Run feature extraction on Dask: 'local' or a scheduler address like tcp://host:8786.")
    ] = None,
    preset: Preset = "default",
    device: Device = "auto",
) -> None:
    """Map every song of INPUT_DIR: writes embeddings.json/.csv, map.png, map.html and model.safetensors to --out."""
    from songmap.app.jobs import SongMapper, map_folder

    with user_errors():
        started = time.perf_counter()
        mapper = SongMapper(
            sample_rate=sample_rate, n_mels=n_mels, crop_percentile=crop_percentile, max_crop_s=max_crop_seconds,
            filters=parse_filters(filters) if filters else None, epochs=epochs, seed=seed, n_jobs=jobs, scheduler=scheduler, preset=preset,
            device=device,
        )
        with progress_bars() as progress:
            result = map_folder(input_dir, out_dir, mapper, metadata_path=metadata, ignore_case=ignore_case,
                                file_column=file_column, category_column=category_column,
                                genre_separators=genre_separators, colour_by=colour_by,
                                categories=categories.split(",") if categories else None,
                                progress=fit_hooks(progress, epochs=epochs))
        print_map_summary(result, time.perf_counter() - started)


@app.command("compare")
def compare_command(
    input_dir: SongsFolder,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder for quality.json and compare.png.")] = Path("songmap-compare"),
    pairs: Annotated[Path | None, typer.Option(help="CSV of known pairs (a,b[,kind]). Default: INPUT_DIR/pairs.csv if present.")] = None,
    methods: Annotated[
        str, typer.Option(callback=lambda value: parse_methods(value) and value, help="Methods to run, comma-separated: ae,pca,tsne,umap.")
    ] = "ae,pca,tsne,umap",
    metadata: Annotated[
        Path | None, typer.Option(help="CSV with columns filename, category. Default: INPUT_DIR/metadata.csv.")
    ] = None,
    categories: Annotated[str | None, typer.Option(help="Only use these categories, comma-separated.")] = None,
    file_column: FileColumn = None,
    category_column: CategoryColumn = None,
    epochs: Annotated[int, typer.Option(min=1, max=100000, help="Maximum training epochs of the autoencoder.")] = 300,
    seed: Annotated[int | None, typer.Option(help="Seed of the autoencoder, t-SNE and UMAP.  [default: 0]", show_default=False)] = None,
    seeds: Annotated[
        str | None,
        typer.Option(callback=lambda value: value and parse_seeds(value) and value,
                     help="Run every method at each of these seeds, comma-separated (e.g. 0,1,2): the figures' median and range."),
    ] = None,
    preset: Preset = "default",
    device: Device = "auto",
) -> None:
    """Map INPUT_DIR with the autoencoder, PCA, t-SNE and UMAP on the same features and measure each map.

    Writes quality.json (trustworthiness and continuity at k=5 and 10, kNN category agreement,
    ranks of known pairs, wall time per method) and compare.png (one panel per method).
    """
    from songmap.app.jobs import METHOD_TITLES, SongMapper, compare_folder

    if seed is not None and seeds is not None:
        raise fail("use --seed or --seeds, not both (--seeds 0,1,2 runs each of those seeds)", EXIT_USAGE)
    seed_list = parse_seeds(seeds) if seeds is not None else None
    with user_errors():
        wanted = parse_methods(methods)
        started = time.perf_counter()
        with progress_bars() as progress:
            hooks = fit_hooks(progress, epochs=epochs, show_training="ae" in wanted, report_rates=False)
            methods_bar = MethodsBar(progress, methods=wanted, titles=METHOD_TITLES)
            mapper = SongMapper(epochs=epochs, seed=seed_list[0] if seed_list else (seed if seed is not None else 0), preset=preset, device=device)
            result = compare_folder(input_dir, out_dir, mapper, wanted, seeds=seed_list, metadata_path=metadata, categories=categories.split(",") if categories else None,
                                    file_column=file_column, category_column=category_column, pairs_path=pairs,
                                    progress=hooks, on_method=methods_bar)
            methods_bar.finish()
        print_comparison(result, METHOD_TITLES, time.perf_counter() - started)


@app.command("inspect")
def inspect_command(
    input_dir: Annotated[Path, typer.Argument(help="Folder of songs.", show_default=False)],
    metadata: Annotated[Path | None, typer.Option(help="Metadata CSV. Default: INPUT_DIR/metadata.csv.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Write durations.png (histogram) here.")] = None,
    crop_percentile: Annotated[
        float | None, typer.Option(min=0, max=100, help="Percentile `map` would crop at. Default: that of `map`'s default preset (100).")
    ] = None,
    ignore_case: IgnoreCase = False,
    file_column: FileColumn = None,
    category_column: CategoryColumn = None,
) -> None:
    """Show formats, rates, channels, durations and categories, and the crop length `map` would use."""
    from songmap.app.jobs import inspect_folder

    with user_errors():
        result = inspect_folder(input_dir, metadata_path=metadata, crop_percentile=crop_percentile,
                                histogram_path=out_dir / "durations.png" if out_dir is not None else None,
                                ignore_case=ignore_case, file_column=file_column, category_column=category_column)
        print_inspection(result, input_dir)


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

    with user_errors():
        if audio_format.lower() not in ("wav", "flac"):
            raise fail(f"--format must be wav or flac, got {audio_format!r}", EXIT_USAGE)
        with progress_bars() as progress:
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


@app.command("embed")
def embed_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of a previous `songmap map` (holds model.safetensors).", show_default=False)],
    files: Annotated[list[Path], typer.Argument(help="Audio files to place on the map.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", help="Also write the coordinates to this .json or .csv file.")] = None,
) -> None:
    """Place new songs on an existing map with its saved model (no retraining)."""
    from songmap.app.jobs import embed_files

    with user_errors():
        if output is not None and output.suffix.lower() not in (".json", ".csv"):
            raise fail("--output must end in .json or .csv", EXIT_USAGE)
        print_placed(embed_files(out_dir, files, output=output), out_dir)


@app.command("export")
def export_command(
    out_dir: MapFolder,
    export_format: Annotated[
        str, typer.Option("--format", help='notebooks: the notebooks\' embeddings file {"<stem>.npy": [x, y]}; tsv: file, x, y with a header; parquet: every track key, for pandas and embedding-atlas (needs songmap[data]).')
    ] = "notebooks",
    output: Annotated[
        Path | None, typer.Option("--output", help="File to write. Default: OUT_DIR/embeddings-notebooks.json (notebooks), OUT_DIR/embeddings.tsv (tsv) or OUT_DIR/map.parquet (parquet), replaced on every export.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --output file.")] = False,
) -> None:
    """Write a map in another tool's format: the original notebooks' embeddings file, a TSV, or parquet."""
    from songmap.app.jobs import EXPORT_FORMATS, export_map

    with user_errors():
        chosen = export_format.lower()
        if chosen not in EXPORT_FORMATS:
            raise fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {export_format!r}", EXIT_USAGE)
        result = export_map(out_dir, chosen, output=output, force=force)
        note(result.recovered)
        for key, files in result.shared_keys.items():
            err.print(f"warning: {', '.join(files)} share the key {key}: only {files[0]} is in the file")
        out.print(f"Wrote {result.tracks} track(s) to {result.path}")


@app.command("path")
def path_command(
    out_dir: MapFolder,
    start: Annotated[str, typer.Option("--from", help="First track: its file (as in embeddings.json, or a path) or its title.", show_default=False)],
    end: Annotated[str, typer.Option("--to", help="Last track: its file or its title.", show_default=False)],
    length: Annotated[int | None, typer.Option("--length", min=2, help="Exactly this many tracks, evenly spaced (default: the shortest path).")] = None,
    output: PlaylistOutput = None,
    force: PlaylistForce = False,
    relative_to: PlaylistRelativeTo = None,
) -> None:
    """Tracks that lead smoothly from one track to another (a shortest path through the features' neighbours)."""
    from songmap.app.jobs import path_playlist

    with user_errors():
        print_playlist(path_playlist(out_dir, start, end, length=length, output=output, force=force,
                                     relative_to=relative_to))


@app.command("playlist")
def playlist_command(
    out_dir: MapFolder,
    seed: Annotated[str, typer.Option("--seed-track", help="First track: its file (as in embeddings.json, or a path) or its title.", show_default=False)],
    length: Annotated[int, typer.Option("--length", min=1, help="Number of tracks, the seed included.")] = 10,
    output: PlaylistOutput = None,
    force: PlaylistForce = False,
    relative_to: PlaylistRelativeTo = None,
) -> None:
    """More like this: the tracks nearest a seed track in the features, in a smooth order."""
    from songmap.app.jobs import similar_playlist

    with user_errors():
        print_playlist(similar_playlist(out_dir, seed, length=length, output=output, force=force,
                                        relative_to=relative_to))


@app.command("demo")
def demo_command(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the generated soundtrack and the map.")] = Path("songmap-demo"),
    epochs: Annotated[int, typer.Option(min=1, max=100000, help="Maximum training epochs.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed for the soundtrack and the training.")] = 0,
) -> None:
    """Synthesize a small chiptune soundtrack (no download) and map it; tells you where map.html is."""
    from songmap.app.jobs import SongMapper, demo

    with user_errors():
        started = time.perf_counter()
        with progress_bars() as progress:
            err.print(f"synthesizing the demo soundtrack into {out_dir / 'soundtrack'}")
            paths, result = demo(out_dir, SongMapper(epochs=epochs, seed=seed), progress=fit_hooks(progress, epochs=epochs))
        out.print(f"Synthesized {len(paths)} tracks into {out_dir / 'soundtrack'}.")
        print_map_summary(result, time.perf_counter() - started)


@app.command("update")
def update_command(
    out_dir: MapFolder,
    refit: Annotated[bool, typer.Option("--refit", help="Train again on the whole folder and align the new map onto the old one.")] = False,
) -> None:
    """Follow the folder a map was made from: place new and changed files, drop deleted ones; the others stay put."""
    from songmap.app.jobs import update_map

    with user_errors():
        started = time.perf_counter()
        with progress_bars() as progress:
            result = update_map(out_dir, refit=refit, progress=fit_hooks(progress, epochs=300, show_training=refit))
        print_update_summary(result, time.perf_counter() - started)


@app.command("page")
def page_command(out_dir: MapFolder, colour_by: ColourBy = None) -> None:
    """Rebuild map.html from embeddings.json."""
    from songmap.app.jobs import write_page

    with user_errors():
        path, recovered = write_page(out_dir, colour_by=colour_by)
        note(recovered)
        out.print(f"Wrote {path}")


@app.command("serve")
def serve_command(
    out_dir: MapFolder,
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0 = any free port).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind; the default is reachable from this computer only.")] = "127.0.0.1",
) -> None:
    """Serve the map page and the mapped audio (only files in embeddings.json) over HTTP."""
    from songmap.app.jobs import serve

    with user_errors():
        serve(out_dir, host=host, port=port, on_note=lambda line: err.print(f"note: {line}"))
