"""Arrangement: composed lines given voices, and rendered as looping themes or jingles.

A :class:`FamilyStyle` says what makes a family of themes sound alike;
:func:`render_theme` draws one theme of a family (tempo, key, timbre,
patterns), composes it with :mod:`~songmap.demo.theory` and renders it with
:mod:`~songmap.demo.instruments`.  A :class:`Jingle` is a short fixed fanfare
that :func:`render_jingle` plays in a random key and tempo.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from songmap.demo.instruments import (
    Part,
    Voice,
    circular_echo,
    drum_kit,
    fade_edges,
    normalise_peak,
    pan,
    render_drums,
    render_part,
    to_channels,
)
from songmap.demo.theory import (
    STEPS_PER_BEAT,
    DrumHit,
    Key,
    Note,
    chord_tones,
    compose_accompaniment,
    compose_bass,
    compose_drums,
    compose_melody,
    degree_to_midi,
)

#: Length limits (seconds) of a looping theme.
THEME_MIN_S, THEME_MAX_S = 15.0, 30.0


@dataclasses.dataclass(frozen=True)
class FamilyStyle:
    """What makes a family of themes sound alike: tempo, mode, timbre, patterns."""

    bpm_range: tuple[float, float]
    meters: tuple[int, ...]  # beats per bar to choose from
    modes: tuple[tuple[int, ...], ...]
    tonic_range: tuple[int, int]  # MIDI tonic of the lead register
    progressions: tuple[tuple[int, ...], ...]  # chord roots as scale degrees, one per bar
    lead: Voice
    lead_duties: tuple[float, ...]
    lead_lengths: tuple[int, ...]  # note lengths (steps) drawn to fill a bar
    lead_rest_probability: float
    accompaniment: str  # "arpeggio" or "stabs"
    accompaniment_voice: Voice
    arpeggio_step: int  # steps per arpeggio note
    arpeggio_shapes: tuple[tuple[int, ...], ...]  # indices into the chord tones
    bass: Voice
    bass_patterns: tuple[str, ...]
    bass_octave: int  # octaves below the lead register
    drum_styles: tuple[str, ...]
    pad: Voice | None = None
    sevenths: bool = False
    drone: Voice | None = None  # tonic held under every bar
    echo_steps: int = 0  # delay of an echo on lead and accompaniment; 0: dry
    echo_feedback: float = 0.0


class _Score(NamedTuple):
    """A composed loop: tempo, meter and everything that plays in it."""

    bpm: float
    steps_per_bar: int
    n_bars: int
    parts: list[Part]
    drum_hits: list[DrumHit]
    drum_gain: float
    echo_steps: int = 0
    echo_feedback: float = 0.0


def _compose_theme(rng: np.random.Generator, style: FamilyStyle) -> _Score:
    """Draw tempo, key, timbre and patterns for one theme of a family, and compose its loop."""
    bpm = float(rng.uniform(*style.bpm_range))
    steps_per_bar = int(rng.choice(style.meters)) * STEPS_PER_BEAT
    mode = style.modes[int(rng.integers(len(style.modes)))]
    key = Key(int(rng.integers(style.tonic_range[0], style.tonic_range[1] + 1)), mode)
    chords = style.progressions[int(rng.integers(len(style.progressions)))]
    n_bars = len(chords)

    lead_voice = dataclasses.replace(style.lead, duty=float(rng.choice(style.lead_duties)))
    melody = compose_melody(
        rng, chords, steps_per_bar, note_lengths=style.lead_lengths, rest_probability=style.lead_rest_probability
    )
    parts = [Part(lead_voice, [Note(s, n, key.midi(d), v) for s, n, d, v in melody], gain=0.28, pan=-0.3)]

    shape = style.arpeggio_shapes[int(rng.integers(len(style.arpeggio_shapes)))]
    accompaniment = compose_accompaniment(
        key,
        chords,
        steps_per_bar,
        kind=style.accompaniment,
        sevenths=style.sevenths,
        arpeggio_step=style.arpeggio_step,
        arpeggio_shape=shape,
    )
    accompaniment_gain = 0.09 if style.accompaniment == "stabs" else 0.14  # stabs play three notes at once
    parts.append(Part(style.accompaniment_voice, accompaniment, gain=accompaniment_gain, pan=0.5))

    if style.pad is not None:  # sustained chord, an octave below the lead
        pad_notes = [
            Note(bar * steps_per_bar, steps_per_bar, key.midi(tone, -1), 1.0)
            for bar, chord_root in enumerate(chords)
            for tone in chord_tones(chord_root, seventh=style.sevenths)
        ]
        parts.append(Part(style.pad, pad_notes, gain=0.07, pan=0.0))

    if style.drone is not None:
        drone_notes = [Note(bar * steps_per_bar, steps_per_bar, key.midi(0, -1), 1.0) for bar in range(n_bars)]
        parts.append(Part(style.drone, drone_notes, gain=0.08, pan=-0.2, echo=False))

    bass_notes = compose_bass(key, chords, steps_per_bar, str(rng.choice(style.bass_patterns)), style.bass_octave)
    parts.append(Part(style.bass, bass_notes, gain=0.4, pan=0.0, echo=False))

    hits = compose_drums(rng, str(rng.choice(style.drum_styles)), steps_per_bar, n_bars)
    return _Score(bpm, steps_per_bar, n_bars, parts, hits, 0.35, style.echo_steps, style.echo_feedback)


def _step_samples(bpm: float, sr: int) -> int:
    """Samples per sixteenth note; whole samples so the loop repeats sample-exactly."""
    return round(sr * 60.0 / bpm / STEPS_PER_BEAT)


def _render_loop(score: _Score, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Render one pass of a score as a seamless stereo loop of shape (n, 2)."""
    step_samples = _step_samples(score.bpm, sr)
    n_samples = step_samples * score.steps_per_bar * score.n_bars
    mix = np.zeros((n_samples, 2))
    for part in score.parts:
        mono = render_part(part, step_samples, n_samples, sr, wrap=True)
        if part.echo and score.echo_steps > 0:
            mono = circular_echo(mono, score.echo_steps * step_samples, score.echo_feedback)
        mix += pan(mono, part.pan)
    if score.drum_hits:
        drums = render_drums(score.drum_hits, drum_kit(rng, sr), step_samples, n_samples)
        mix += pan(score.drum_gain * drums, 0.1)
    return mix


def _loop_repeats(loop_s: float, rng: np.random.Generator) -> int:
    """How many times to play a loop so the theme lasts between 15 and 30 s."""
    target_s = rng.uniform(16.0, 24.0)
    fewest = int(np.ceil(THEME_MIN_S / loop_s))
    most = int(np.floor(THEME_MAX_S / loop_s))
    return int(np.clip(round(target_s / loop_s), max(fewest, 2), most))


def render_theme(rng: np.random.Generator, style: FamilyStyle, sr: int, channels: int) -> np.ndarray:
    """Compose and render a looping theme of a family.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every choice (tempo, key, timbre, tune, drum kit, length).
    style : FamilyStyle
        The family the theme belongs to.
    sr : int
        Sample rate in Hz.
    channels : {1, 2}
        Mono or stereo.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` or ``(n, 2)`` float32, peak-normalised; a whole number of
        passes through the loop, 15-30 s long.
    """
    score = _compose_theme(rng, style)
    loop = _render_loop(score, rng, sr)
    repeats = _loop_repeats(len(loop) / sr, rng)
    return normalise_peak(to_channels(np.tile(loop, (repeats, 1)), channels))


class Jingle(NamedTuple):
    """A short fanfare: lead and bass lines as (step, length, scale degree)."""

    mode: tuple[int, ...]
    bpm_range: tuple[float, float]
    lead_duty: float
    lead: tuple[tuple[int, int, int], ...]
    bass: tuple[tuple[int, int, int], ...]
    harmony: bool = False  # double the lead a third below


def render_jingle(jingle: Jingle, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Render a jingle in a random key and tempo (within its range) as mono samples."""
    tonic = int(rng.integers(60, 68))
    step_samples = _step_samples(float(rng.uniform(*jingle.bpm_range)), sr)

    def notes(line: Sequence[tuple[int, int, int]], degree_shift: int = 0, velocity: float = 1.0) -> list[Note]:
        return [
            Note(step, length, degree_to_midi(degree + degree_shift, tonic=tonic, mode=jingle.mode), velocity)
            for step, length, degree in line
        ]

    lead_voice = Voice(
        duty=jingle.lead_duty, attack_s=0.004, decay_s=0.3, sustain=0.6, release_s=0.25, vibrato_hz=6.0, vibrato_cents=12.0
    )
    bass_voice = Voice(waveform="triangle", decay_s=0.4, sustain=0.8, release_s=0.2)
    parts = [
        Part(lead_voice, notes(jingle.lead), gain=0.35, pan=0.0),
        Part(bass_voice, notes(jingle.bass), gain=0.45, pan=0.0),
    ]
    if jingle.harmony:
        parts.append(Part(dataclasses.replace(lead_voice, duty=0.5), notes(jingle.lead, -2, 0.7), gain=0.2, pan=0.0))
    last_step = max(s + n for s, n, _ in jingle.lead + jingle.bass)
    n_samples = last_step * step_samples + int(0.3 * sr)  # room for the release tails
    mix = sum(render_part(part, step_samples, n_samples, sr, wrap=False) for part in parts)
    return fade_edges(mix, sr)
