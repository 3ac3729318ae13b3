"""Options and arguments that several commands share, declared once, and the checks of option values.

Each alias is a ``typing.Annotated`` type; a command gives the default itself
(``file_column: FileColumn = None``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from songmap.report.colouring import COLOUR_KEYS, check_colour_key

DEFAULT_JOBS = os.cpu_count() or 1


def parse_filters(text: str) -> tuple[int, ...]:
    """Channel counts of ``--filters`` (``"16,32,64"``)."""
    try:
        filters = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter("expected comma-separated channel counts, e.g. 16,32,64") from None
    if not filters or any(f < 1 or f > 1024 for f in filters):
        raise typer.BadParameter("expected 1..8 channel counts between 1 and 1024, e.g. 16,32,64")
    if len(filters) > 8:
        raise typer.BadParameter("at most 8 convolution layers")
    return filters


def parse_methods(text: str) -> list[str]:
    """Methods of ``compare --methods`` (``"ae,pca"``), lower-cased."""
    from songmap.app.jobs import COMPARE_METHODS

    methods = [m.strip().lower() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in COMPARE_METHODS]
    if not methods or unknown:
        raise typer.BadParameter(f"expected some of {','.join(COMPARE_METHODS)}, comma-separated" +
                                 (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return methods


def parse_seeds(text: str) -> list[int]:
    """Seeds of ``compare --seeds`` (``"0,1,2"``), in order, without repeats."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter("expected comma-separated whole numbers, e.g. 0,1,2") from None
    if not seeds or len(seeds) > 100 or any(s < 0 for s in seeds):
        raise typer.BadParameter("expected 1 to 100 seeds, each 0 or more, e.g. 0,1,2")
    return list(dict.fromkeys(seeds))


def _check_preset(value: str) -> str:
    from songmap.app.jobs import PRESETS

    if value not in PRESETS:
        raise typer.BadParameter(f"expected one of {', '.join(PRESETS)}")
    return value


def _check_device(value: str) -> str:
    from songmap.model.device import DEVICES

    if value not in DEVICES:
        raise typer.BadParameter(f"expected one of {', '.join(DEVICES)}")
    return value


SongsFolder = Annotated[Path, typer.Argument(help="Folder of songs (searched recursively).", show_default=False)]
MapFolder = Annotated[Path, typer.Argument(help="Output folder of `songmap map`.", show_default=False)]

IgnoreCase = Annotated[
    bool, typer.Option("--ignore-case", help="Match metadata file names to files whatever their upper/lower case.")
]
FileColumn = Annotated[
    str | None,
    typer.Option(help="Metadata column naming the files. Default: guessed (filename; else file or path; "
                      "else name or title when it holds file names)."),
]
def colour_key_option(value: str | None) -> str | None:
    """``--colour-by``: one of :data:`songmap.report.colouring.COLOUR_KEYS`."""
    try:
        return None if value is None else check_colour_key(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


ColourBy = Annotated[
    str | None,
    typer.Option(callback=colour_key_option, metavar="KEY",
                 help=f"What map.png and the page are first coloured by: {', '.join(COLOUR_KEYS)}. Default: the "
                      "categories, else the genres, artists or albums, else the clusters."),
]
GenreSeparators = Annotated[
    str,
    typer.Option(help="Characters that split one genre tag into several, e.g. ';/'. Default: none, so 'AC/DC' stays "
                      "one name (multi-value tags are always split)."),
]
CategoryColumn = Annotated[
    str | None,
    typer.Option(help="Metadata column of categories. Default: guessed (category; else sound-type, type, label, "
                      "class or genre)."),
]
Preset = Annotated[
    str,
    typer.Option(callback=_check_preset,
                 help="Model configuration: 'default' (= 'songwise': the whole song through windows, modulation "
                      "spectra with a key-invariant tonal view, neighbour-preserving training), 'modulation' "
                      "(modulation spectra of each track's start) or 'seed' (the notebooks' model)."),
]
Device = Annotated[
    str,
    typer.Option(callback=_check_device,
                 help="Where to train the autoencoder: 'auto' (a CUDA GPU when PyTorch sees one, else the CPU), "
                      "'cpu' or 'cuda'."),
]

PlaylistOutput = Annotated[
    Path | None,
    typer.Option("--output", help="Write the list to this file instead of printing it: .m3u8/.m3u or .xspf "
                                  "(players) or .csv (spreadsheets)."),
]
PlaylistRelativeTo = Annotated[
    Path | None,
    typer.Option("--relative-to", help="Write the playlist's paths relative to this folder (a media server's "
                                       "library, e.g. ~/Music for Navidrome or Jellyfin) instead of the playlist's."),
]
PlaylistForce = Annotated[
    bool, typer.Option("--force", help="Replace an existing --output file that is not a playlist songmap wrote.")
]
