"""Synthesise a small chiptune game soundtrack for ``songmap demo``.

The demo needs a collection whose structure is *known*, so that a map of it can
be judged by eye: looping themes from four families (calm, action, dungeon,
town), short jingles and sound effects, and three "(Storm)" variants that are
copies of a theme with a rain/wind bed mixed in.  Everything is generated in
code with vectorised numpy (no downloads), deterministically from a seed.

The modules, lowest first:

- :mod:`~songmap.demo.theory`: scales, pitches and composing lines on the
  sixteenth-note grid (melody, accompaniment, bass, drums);
- :mod:`~songmap.demo.instruments`: the 8-bit sound chip (pulse, triangle,
  noise channel), envelopes, voices, drum kit and mixing;
- :mod:`~songmap.demo.effects`: the storm bed and the sound effects;
- :mod:`~songmap.demo.arrangement`: themes and jingles composed, voiced and
  rendered;
- :mod:`~songmap.demo.catalogue`: what the soundtrack contains (families,
  themes, cues and how each file is stored);
- :mod:`~songmap.demo.writer`: encoding, byte-identical Ogg files and the CSVs.

The demo imports nothing of songmap but :mod:`songmap.io`.

Examples
--------
>>> paths = synthesize_soundtrack("demo-out/audio", seed=0)  # doctest: +SKIP
>>> [p.name for p in paths][:2]  # doctest: +SKIP
['Black Mist (Storm).ogg', 'Black Mist.ogg']
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import zlib

import numpy as np

from songmap.demo.arrangement import render_theme
from songmap.demo.catalogue import CUES, FAMILY_STYLES, THEMES
from songmap.demo.effects import add_storm
from songmap.demo.instruments import normalise_peak, pan
from songmap.demo.writer import write_audio, write_csv

__all__ = ["synthesize_soundtrack"]


def _track_rng(seed: int, title: str) -> np.random.Generator:
    """Random stream for one track, keyed by title so tracks don't depend on catalogue order."""
    return np.random.default_rng([seed, zlib.crc32(title.encode("utf-8"))])


def synthesize_soundtrack(folder: str | os.PathLike, seed: int = 0) -> list[pathlib.Path]:
    """Write a small synthetic game soundtrack into `folder` (created if needed).

    The collection has a known structure so that a map of it can be judged:

    * 15 looping themes (category ``soundscape``, 15-30 s) from four families
      -- calm, action, dungeon, town -- that differ in tempo, mode, timbre and
      patterns, at the top level of `folder`;
    * 3 "(Storm)" variants (``soundscape``): copies of one theme per family
      among calm, action and dungeon, with a rain/wind bed at -12 dB mixed in;
    * 6 jingles (``soundeffect``, 1-4 s) in ``jingles/`` and 10 sound effects
      (``soundeffect``, 0.1-1.5 s) in ``effects/``.

    Files mix WAV (PCM 16), FLAC and Ogg Vorbis, 22.05-48 kHz, mono and stereo,
    under human titles with spaces and some non-ASCII letters.  Alongside the
    audio it writes ``metadata.csv`` (``filename,category,title``, file names
    relative to `folder` with forward slashes) and ``pairs.csv``
    (``a,b,kind``: original, Storm variant, ``storm``).

    Parameters
    ----------
    folder : str or os.PathLike
        Output folder.  Files this function generates are overwritten; nothing
        else in the folder is touched.
    seed : int, default 0
        Non-negative seed.  The same seed gives byte-identical files; another
        seed gives a different soundtrack with the same titles and structure.

    Returns
    -------
    list of pathlib.Path
        The audio files written, sorted.
    """
    root = pathlib.Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    metadata, pairs, written = [], [], []
    # Encoding (mostly Vorbis) takes about half the time; libsndfile releases
    # the GIL, so files are encoded on a second thread while the next is synthesised.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as encoder:
        pending = []

        def write(relative: str, title: str, category: str, y: np.ndarray, sr: int) -> None:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            pending.append(encoder.submit(write_audio, path, y, sr))
            metadata.append((relative, category, title))
            written.append(path)

        for theme in THEMES:
            style = FAMILY_STYLES[theme.family]
            music = render_theme(_track_rng(seed, theme.title), style, theme.samplerate, theme.channels)
            original = theme.title + theme.extension
            write(original, theme.title, "soundscape", music, theme.samplerate)
            if theme.with_storm:
                storm_title = f"{theme.title} (Storm)"
                storm = add_storm(music, _track_rng(seed, storm_title), theme.samplerate)
                write(storm_title + theme.extension, storm_title, "soundscape", storm, theme.samplerate)
                pairs.append((original, storm_title + theme.extension, "storm"))

        for cue in CUES:
            mono = cue.synthesize(_track_rng(seed, cue.title), cue.samplerate)
            # Stereo cues sit somewhere across the field, as effects do in a game.
            y = mono
            if cue.channels == 2:
                y = pan(mono, float(_track_rng(seed, cue.title + " pan").uniform(-0.5, 0.5)))
            relative = f"{cue.subfolder}/{cue.title}{cue.extension}"
            write(relative, cue.title, "soundeffect", normalise_peak(y), cue.samplerate)

        for job in pending:
            job.result()  # re-raise any error from the encoder thread

    write_csv(root / "metadata.csv", ("filename", "category", "title"), metadata)
    write_csv(root / "pairs.csv", ("a", "b", "kind"), pairs)
    return sorted(written)
