"""Copy benchmark: write altered copies of songs, with pairs.csv naming each copy's kind.

Picks a seeded set of songs from a music folder, copies every non-effect original into the
output folder (they stay in the map as distractors) and writes, for each chosen song, one copy of
each kind below with `SoX <https://sox.sourceforge.net/>`_ (Debian's ``sox`` and
``libsox-fmt-all``, run as a subprocess; the source folder is only read):

=========  ==================================================================================
kind       what the copy is
=========  ==================================================================================
noise      a pink-noise bed 20 dB below the song's RMS level ("storm"-like)
pitch+2    transposed up two semitones, tempo kept (``pitch 200``: WSOLA + resampling)
pitch-2    transposed down two semitones, tempo kept
tempo0.9   0.9 × the tempo, pitch kept (``tempo -m 0.9``: WSOLA tuned for music)
tempo1.1   1.1 × the tempo, pitch kept
lofi       8 kHz mono, band-limited to 300–3400 Hz, MP3 at 16 kbps (telephone quality)
mp3-64k    MP3 re-encode at 64 kbps
later      from 60 s on (the second half when the song is shorter than 2 minutes)
gain       9 dB quieter
=========  ==================================================================================

The output folder gets ``pairs.csv`` (``a,b,kind``: original, copy, kind; pairs of the source's own
``pairs.csv`` between copied files are kept with their kind) and ``metadata.csv``
(``filename,category``: a copy has its original's category). Songs are chosen among tracks of at
least ``--min-seconds`` that are not the ``b`` of a source pair (a "(Storm)" copy is already a copy).
Sound effects are left out: rows of the source ``metadata.csv`` whose category mentions "effect"
or "sfx"; without a metadata.csv, tracks shorter than 20 s.

    python benchmarks/make_copies.py ../shared/audio/games /tmp/copies --songs 9 --seed 0
    python benchmarks/make_copies.py MUSIC OUT --kinds pitch+2 lofi later
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from songmap.io.discovery import find_audio_files  # noqa: E402
from songmap.io.tables import MetadataError, read_metadata, read_pairs  # noqa: E402

#: Every kind of copy, in the order they are written.
KINDS = ("noise", "pitch+2", "pitch-2", "tempo0.9", "tempo1.1", "lofi", "mp3-64k", "later", "gain")

#: Level of the noise bed below the song's RMS level, in dB.
NOISE_BELOW_DB = 20.0
#: Where the ``later`` copy starts in songs of at least twice this length, in seconds.
LATER_FROM_S = 60.0
#: Tracks shorter than this are taken for sound effects when there is no metadata.csv.
EFFECT_MAX_S = 20.0
#: Categories matching this are sound effects.
_EFFECT_CATEGORY = re.compile(r"effect|sfx", re.IGNORECASE)


class CopiesError(Exception):
    """The copies cannot be made; the message says why in one line."""


@dataclass(frozen=True)
class Track:
    """One original in the source folder."""

    path: Path
    name: str  # relative to the source folder, with forward slashes
    seconds: float
    category: str | None


def _capture(command: list[str]) -> subprocess.CompletedProcess:
    """Run a SoX tool, its output as text: bytes that are not UTF-8 (Latin-1 tags that soxi prints) replaced."""
    return subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)


def _sox(*args: str) -> str:
    """Run ``sox`` in repeatable mode (``-R``) with these arguments; its stderr (stats) is returned."""
    done = _capture(["sox", "-R", "-V2", *args])
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise CopiesError(f"sox failed on {args[0] if args else ''}: {last}")
    return done.stderr


def _soxi_seconds(path: Path) -> float:
    done = _capture(["soxi", "-D", str(path)])
    try:
        return float(done.stdout.strip())
    except ValueError:
        raise CopiesError(f"sox cannot read {path}: {done.stderr.strip() or 'no duration'}") from None


def rms_db(path: Path) -> float:
    """RMS level of a file in dB relative to full scale, over all channels (SoX's ``stats``, "Overall")."""
    stats = _capture(["sox", "-R", str(path), "-n", "stats"]).stderr
    match = re.search(r"^RMS lev dB\s+(-?[\d.]+|-inf)", stats, re.MULTILINE)
    if not match or match.group(1) == "-inf":
        raise CopiesError(f"{path} is silent or unreadable: no RMS level")
    return float(match.group(1))


def _channels_and_rate(path: Path) -> tuple[int, int]:
    out = _capture(["soxi", str(path)]).stdout
    channels = re.search(r"Channels\s*:\s*(\d+)", out)
    rate = re.search(r"Sample Rate\s*:\s*(\d+)", out)
    if not channels or not rate:
        raise CopiesError(f"sox cannot read {path}")
    return int(channels.group(1)), int(rate.group(1))


def copy_name(name: str, kind: str) -> str:
    """The copy's file name: the original's stem, the kind in brackets, the kind's extension."""
    stem = Path(name).stem
    ext = ".mp3" if kind in ("lofi", "mp3-64k") else ".ogg"
    return f"{stem} [{kind}]{ext}"


def make_copy(src: Path, dst: Path, kind: str, *, seconds: float) -> None:
    """Write one copy of ``src`` of the given kind to ``dst`` (a new file; ``src`` is only read).

    Parameters
    ----------
    src, dst : Path
        The original and the copy to write (``.ogg`` or ``.mp3``, by :func:`copy_name`).
    kind : str
        One of :data:`KINDS`.
    seconds : float
        The original's duration (for ``later``).
    """
    ogg = ["-C", "6"]  # Vorbis quality 6 (~190 kbps): the copy's change is the kind, not the codec
    if kind == "noise":
        level = rms_db(src)
        channels, rate = _channels_and_rate(src)
        # Unclipped pink noise at 0 dB gain has an RMS of about -13 dBFS (measured by
        # _pink_rms_db); its gain puts it NOISE_BELOW_DB under the song. -G guards the mix against clipping.
        noise_gain = level - NOISE_BELOW_DB - _pink_rms_db()
        noise = f"|sox -R -n -r {rate} -c {channels} -p synth {seconds:.3f} pinknoise gain {noise_gain:.2f}"
        _sox("-G", "-m", "-v", "1", str(src), "-v", "1", noise, *ogg, str(dst))
    elif kind in ("pitch+2", "pitch-2"):
        _sox(str(src), *ogg, str(dst), "pitch", "200" if kind == "pitch+2" else "-200")
    elif kind in ("tempo0.9", "tempo1.1"):
        _sox(str(src), *ogg, str(dst), "tempo", "-m", kind.removeprefix("tempo"))
    elif kind == "lofi":
        _sox(str(src), "-C", "16", "-c", "1", str(dst), "remix", "-", "sinc", "300-3400", "rate", "8k")
    elif kind == "mp3-64k":
        _sox(str(src), "-C", "64", str(dst))
    elif kind == "later":
        start = LATER_FROM_S if seconds >= 2 * LATER_FROM_S else seconds / 2
        _sox(str(src), *ogg, str(dst), "trim", f"{start:.3f}")
    elif kind == "gain":
        _sox(str(src), *ogg, str(dst), "gain", "-9")
    else:
        raise CopiesError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")


@functools.cache
def _pink_rms_db() -> float:
    stats = _capture(["sox", "-R", "-n", "-r", "44100", "-n", "synth", "20", "pinknoise", "gain", "-20", "stats"]).stderr
    match = re.search(r"^RMS lev dB\s+(-?[\d.]+)", stats, re.MULTILINE)
    if not match:
        raise CopiesError("sox cannot make pink noise (no 'synth' effect?)")
    return float(match.group(1)) + 20.0  # measured 20 dB down: at full scale the noise clips


def source_tracks(src_dir: Path) -> list[Track]:
    """The non-effect originals of a folder, sorted by name (categories from its metadata.csv)."""
    files = find_audio_files(src_dir)
    if not files:
        raise CopiesError(f"no audio files in {src_dir}")
    categories: dict[str, str | None] | None = None
    meta = src_dir / "metadata.csv"
    if meta.exists():
        try:
            table = read_metadata(meta)
        except MetadataError as exc:
            raise CopiesError(str(exc)) from None
        categories = {}
        for row in table.rows:
            categories[table.file(row).replace("\\", "/")] = table.category(row)
            categories[Path(table.file(row)).name] = table.category(row)
    tracks = []
    for path in files:
        name = path.relative_to(src_dir).as_posix()
        category = None if categories is None else categories.get(name, categories.get(path.name))
        if category and _EFFECT_CATEGORY.search(category):
            continue
        seconds = _soxi_seconds(path)
        if categories is None and seconds < EFFECT_MAX_S:
            continue
        tracks.append(Track(path, name, seconds, category))
    return sorted(tracks, key=lambda t: t.name)


def _source_pairs(src_dir: Path) -> list[dict[str, str]]:
    pairs = src_dir / "pairs.csv"
    if not pairs.exists():
        return []
    try:
        return read_pairs(pairs)
    except (ValueError, OSError) as exc:
        raise CopiesError(f"{pairs}: {exc}") from None


def choose_songs(tracks: list[Track], *, songs: int, seed: int, min_seconds: float, exclude=()) -> list[Track]:
    """A seeded choice of ``songs`` tracks of at least ``min_seconds`` (not in ``exclude``), by name."""
    eligible = [t for t in tracks if t.seconds >= min_seconds and t.name not in set(exclude)]
    if not eligible:
        raise CopiesError(f"no track of at least {min_seconds:g} s to copy")
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(eligible), size=min(songs, len(eligible)), replace=False)
    return sorted((eligible[i] for i in picked), key=lambda t: t.name)


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(text.getvalue(), encoding="utf-8")


def make_copies(
    src_dir: str | Path,
    out_dir: str | Path,
    *,
    songs: int = 10,
    seed: int = 0,
    kinds: tuple[str, ...] = KINDS,
    min_seconds: float = 30.0,
    progress=print,
) -> list[tuple[str, str, str]]:
    """Write the copy benchmark into ``out_dir``; returns the pairs ``(a, b, kind)`` written.

    Parameters
    ----------
    src_dir : str or Path
        Folder of music (read only).
    out_dir : str or Path
        New or empty folder for the originals, the copies, pairs.csv and metadata.csv.
    songs : int
        How many songs get copies (fewer when fewer are long enough).
    seed : int
        Seed of the choice of songs (the copies themselves are deterministic).
    kinds : tuple of str
        Kinds of copy to write, a subset of :data:`KINDS`.
    min_seconds : float
        Shortest song that gets copies.
    progress : callable
        Called with one line per written song.
    """
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    if shutil.which("sox") is None or shutil.which("soxi") is None:
        raise CopiesError("sox is not installed (Debian: apt-get install sox libsox-fmt-all)")
    if not src_dir.is_dir():
        raise CopiesError(f"{src_dir} is not a folder")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise CopiesError(f"unknown kind {unknown[0]!r}; choose from {', '.join(KINDS)}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CopiesError(f"{out_dir} is not empty; give a new or empty folder")
    if out_dir.resolve() == src_dir.resolve() or src_dir.resolve() in out_dir.resolve().parents:
        raise CopiesError(f"{out_dir} is inside the source folder; write the copies elsewhere")

    tracks = source_tracks(src_dir)
    names = {t.name for t in tracks}
    own_pairs = [p for p in _source_pairs(src_dir) if p["a"] in names and p["b"] in names]
    chosen = choose_songs(tracks, songs=songs, seed=seed, min_seconds=min_seconds, exclude={p["b"] for p in own_pairs})

    out_dir.mkdir(parents=True, exist_ok=True)
    for track in tracks:
        dst = out_dir / track.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(track.path, dst)
    progress(f"copied {len(tracks)} originals; making {len(kinds)} copies of {len(chosen)} songs")

    pairs = [(p["a"], p["b"], p.get("kind") or "pair") for p in own_pairs]
    metadata = [[t.name, t.category or ""] for t in tracks]
    for n, track in enumerate(chosen, 1):
        started = time.perf_counter()
        for kind in kinds:
            name = str(Path(track.name).parent / copy_name(Path(track.name).name, kind)).removeprefix("./")
            make_copy(track.path, out_dir / name, kind, seconds=track.seconds)
            pairs.append((track.name, name, kind))
            metadata.append([name, track.category or ""])
        progress(f"[{n}/{len(chosen)}] {track.name} ({track.seconds:.0f} s): {time.perf_counter() - started:.1f} s")

    _write_csv(out_dir / "pairs.csv", ["a", "b", "kind"], [list(p) for p in pairs])
    _write_csv(out_dir / "metadata.csv", ["filename", "category"], metadata)
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src_dir", type=Path, help="folder of music (read only)")
    parser.add_argument("out_dir", type=Path, help="new or empty output folder")
    parser.add_argument("--songs", type=int, default=10, help="songs that get copies (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the choice of songs (default 0)")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), metavar="KIND", help=f"of {', '.join(KINDS)}")
    parser.add_argument("--min-seconds", type=float, default=30.0, help="shortest song copied (default 30)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        pairs = make_copies(
            args.src_dir,
            args.out_dir,
            songs=args.songs,
            seed=args.seed,
            kinds=tuple(args.kinds),
            min_seconds=args.min_seconds,
        )
    except CopiesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(pairs)} pairs to {args.out_dir / 'pairs.csv'} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
