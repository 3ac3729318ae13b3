"""Music theory of the demo: pitches, scales and the composition of lines.

Everything here works on the sixteenth-note grid and on scale degrees; no
sound is made.  :mod:`~songmap.demo.arrangement` gives the composed lines a
voice and :mod:`~songmap.demo.instruments` turns them into samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

#: Sixteenth notes: the step grid every score is written on.
STEPS_PER_BEAT = 4

# Modes as semitone offsets of the seven scale degrees from the tonic.
MAJOR = (0, 2, 4, 5, 7, 9, 11)
LYDIAN = (0, 2, 4, 6, 7, 9, 11)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)
PHRYGIAN = (0, 1, 3, 5, 7, 8, 10)

#: A drum hit: (step, drum name, velocity).
DrumHit = tuple[int, str, float]


def midi_to_hz(midi: float | np.ndarray) -> float | np.ndarray:
    """Convert MIDI note numbers to frequencies in Hz (A4 = MIDI 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def degree_to_midi(degree: int, *, tonic: int, mode: Sequence[int]) -> int:
    """MIDI note of a scale degree; degrees beyond 0..6 move by octaves.

    Parameters
    ----------
    degree : int
        Scale degree counted from 0 (the tonic); 7 is the tonic an octave up,
        -1 the leading tone below.
    tonic : int
        MIDI note of degree 0.
    mode : sequence of int
        Semitone offsets of the seven degrees, e.g. ``MAJOR``.

    Returns
    -------
    int
        The MIDI note number.
    """
    octave, step = divmod(degree, len(mode))
    return tonic + 12 * octave + mode[step]


class Note(NamedTuple):
    """A note on the sixteenth-note grid."""

    step: int
    length: int  # in steps
    midi: int
    velocity: float = 1.0


class Key(NamedTuple):
    """Tonic and mode of a piece."""

    tonic: int
    mode: tuple[int, ...]

    def midi(self, degree: int, octave_shift: int = 0) -> int:
        """MIDI note of a scale degree, moved by whole octaves."""
        return degree_to_midi(degree, tonic=self.tonic, mode=self.mode) + 12 * octave_shift


def chord_tones(root_degree: int, *, seventh: bool) -> list[int]:
    """Scale degrees of the chord on `root_degree`: root, third, fifth, then seventh or octave."""
    return [root_degree, root_degree + 2, root_degree + 4, root_degree + (6 if seventh else 7)]


def _bar_rhythm(
    rng: np.random.Generator, steps_per_bar: int, lengths: Sequence[int], rest_probability: float
) -> list[tuple[int, int, bool]]:
    """(step, length, is_rest) slots filling one bar; the downbeat is never a rest."""
    slots, step = [], 0
    while step < steps_per_bar:
        length = min(int(rng.choice(lengths)), steps_per_bar - step)
        is_rest = step > 0 and rng.random() < rest_probability
        slots.append((step, length, is_rest))
        step += length
    return slots


def _nearest(candidates: Sequence[int], target: int) -> int:
    """The candidate closest to `target` (ties go to the lower one)."""
    return min(candidates, key=lambda c: (abs(c - target), c))


def compose_melody(
    rng: np.random.Generator,
    chords: Sequence[int],
    steps_per_bar: int,
    *,
    note_lengths: Sequence[int],
    rest_probability: float,
) -> list[tuple[int, int, int, float]]:
    """Compose a lead line over a chord progression.

    Bars follow an A B A B plan: two rhythm motifs with a melodic contour each,
    re-fitted to the chord of every bar, so the loop is recognisably a tune and
    not random notes.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the rhythms and contours.
    chords : sequence of int
        Chord roots as scale degrees, one per bar.
    steps_per_bar : int
        Length of a bar on the sixteenth-note grid.
    note_lengths : sequence of int
        Note lengths (steps) drawn to fill a bar; repeats make a length likelier.
    rest_probability : float
        Chance that a slot after the downbeat is a rest.

    Returns
    -------
    list of (int, int, int, float)
        (step, length, scale degree, velocity) of every note.
    """
    lowest, highest = 0, 11
    motifs = []
    for _ in range(2):
        rhythm = _bar_rhythm(rng, steps_per_bar, note_lengths, rest_probability)
        contour = rng.choice([-2, -1, -1, 1, 1, 2, 3, -3, 0], size=len(rhythm))
        motifs.append((rhythm, contour))
    melody, degree = [], 7
    for bar_index, chord_root in enumerate(chords):
        rhythm, contour = motifs[bar_index % 2]
        chord = [d + octave for d in chord_tones(chord_root, seventh=False)[:3] for octave in (-7, 0, 7)]
        chord_in_range = [d for d in chord if lowest <= d <= highest]
        for (step, length, is_rest), move in zip(rhythm, contour):
            if step == 0:
                degree = _nearest(chord_in_range, degree)  # each bar starts on a chord tone
            else:
                degree = int(np.clip(degree + move, lowest, highest))
                if step % STEPS_PER_BEAT == 0 and degree not in chord:
                    degree = _nearest(chord_in_range, degree)  # strong beats stay consonant
            if not is_rest:
                velocity = 1.0 if step % STEPS_PER_BEAT == 0 else 0.8
                melody.append((bar_index * steps_per_bar + step, length, degree, velocity))
    return melody


def compose_accompaniment(
    key: Key,
    chords: Sequence[int],
    steps_per_bar: int,
    *,
    kind: str,
    sevenths: bool,
    arpeggio_step: int,
    arpeggio_shape: Sequence[int],
) -> list[Note]:
    """Arpeggio or offbeat chord stabs on the chord of every bar.

    Parameters
    ----------
    key : Key
        Key the chord degrees are in.
    chords : sequence of int
        Chord roots as scale degrees, one per bar.
    steps_per_bar : int
        Length of a bar on the sixteenth-note grid.
    kind : {"arpeggio", "stabs"}
        An arpeggio through the chord tones, or the triad on every offbeat.
    sevenths : bool
        Whether chords have a seventh (else the octave) as fourth tone.
    arpeggio_step : int
        Steps per arpeggio note.
    arpeggio_shape : sequence of int
        Order of the chord tones (indices) in the arpeggio.

    Returns
    -------
    list of Note
    """
    notes = []
    for bar_index, chord_root in enumerate(chords):
        tones = chord_tones(chord_root, seventh=sevenths)
        bar_start = bar_index * steps_per_bar
        if kind == "stabs":
            offbeats = range(STEPS_PER_BEAT // 2, steps_per_bar, STEPS_PER_BEAT)
            notes += [Note(bar_start + s, 1, key.midi(tone), 0.8) for s in offbeats for tone in tones[:3]]
            continue
        for i, s in enumerate(range(0, steps_per_bar, arpeggio_step)):
            velocity = 1.0 if s % STEPS_PER_BEAT == 0 else 0.75
            tone = tones[arpeggio_shape[i % len(arpeggio_shape)]]
            notes.append(Note(bar_start + s, arpeggio_step, key.midi(tone), velocity))
    return notes


def _bass_pattern(name: str, steps_per_bar: int) -> list[tuple[int, int, int, int]]:
    """(step, length, chord tone index, octave) of a bass pattern for one bar."""
    half = steps_per_bar // 2
    beats = range(0, steps_per_bar, STEPS_PER_BEAT)
    eighths = range(0, steps_per_bar, 2)
    if name == "whole":
        return [(0, steps_per_bar, 0, 0)]
    if name == "half":
        return [(0, half, 0, 0), (half, steps_per_bar - half, 2, 0)]
    if name == "octave_eighths":
        return [(s, 2, 0, (s // 2) % 2) for s in eighths]
    if name == "driving_eighths":
        return [(s, 2, 0 if s < steps_per_bar - 4 else 2, 0) for s in eighths]
    if name == "ostinato":
        tones = (0, 2, 3, 2)
        return [(s, STEPS_PER_BEAT, tones[i % 4], 0) for i, s in enumerate(beats)]
    if name == "pedal":
        return [(s, 2, 0, 0) for s in eighths]
    if name == "oompah":
        return [(s, 2, 0 if i % 2 == 0 else 2, 0) for i, s in enumerate(beats)]
    raise ValueError(f"unknown bass pattern {name!r}")


def compose_bass(key: Key, chords: Sequence[int], steps_per_bar: int, pattern: str, octaves_down: int) -> list[Note]:
    """Bass line: one bar `pattern` played on the chord of every bar, `octaves_down` below the key's tonic."""
    notes = []
    for bar_index, chord_root in enumerate(chords):
        tones = chord_tones(chord_root, seventh=False)
        notes += [
            Note(bar_index * steps_per_bar + s, length, key.midi(tones[tone], octave - octaves_down), 1.0)
            for s, length, tone, octave in _bass_pattern(pattern, steps_per_bar)
        ]
    return notes


def _drum_bar(rng: np.random.Generator, style: str, steps_per_bar: int) -> list[DrumHit]:
    """Hits of one bar of a drum `style`; an empty list for ``"none"``."""
    beats = list(range(0, steps_per_bar, STEPS_PER_BEAT))
    backbeats = beats[1::2] if len(beats) % 2 == 0 else beats[1:]  # 2 and 4; in waltz time 2 and 3
    half_bar = steps_per_bar // 2
    if style == "shaker":
        shakes = [(s, "shaker", 0.6 if s % STEPS_PER_BEAT == 0 else 0.35) for s in range(0, steps_per_bar, 2)]
        return [(0, "kick", 0.35)] + shakes
    if style == "rock":
        hat_every = 1 if rng.random() < 0.5 else 2  # sixteenth or eighth hats
        bar = [(0, "kick", 1.0), (half_bar, "kick", 1.0)] + [(s, "snare", 0.9) for s in backbeats]
        bar += [(s, "hat", 0.7 if s % 2 == 0 else 0.4) for s in range(0, steps_per_bar, hat_every)]
        if rng.random() < 0.6:  # a syncopated extra kick gives each action theme its own groove
            bar.append((int(rng.choice([half_bar + 2, steps_per_bar - 2, 3])), "kick", 0.8))
        return bar
    if style == "dirge":
        bar = [(0, "kick", 0.9), (0, "tom", 0.6), (beats[-1] + 2, "tom", 0.7)]
        if rng.random() < 0.7:
            bar.append((backbeats[0], "clank", 0.5))
        return bar
    if style == "bounce":  # oom-pah: kick, offbeat hats, light backbeat
        return [(0, "kick", 0.9)] + [(s + 2, "hat", 0.6) for s in beats] + [(s, "snare", 0.6) for s in backbeats]
    if style == "none":
        return []
    raise ValueError(f"unknown drum style {style!r}")


def compose_drums(rng: np.random.Generator, style: str, steps_per_bar: int, n_bars: int) -> list[DrumHit]:
    """Drum part: one bar of `style` repeated over `n_bars` (a rock loop ends in a snare fill).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the variations a style allows (hat rate, extra kicks).
    style : {"shaker", "rock", "dirge", "bounce", "none"}
        Drum pattern.
    steps_per_bar, n_bars : int
        Length of a bar on the sixteenth-note grid, and of the loop in bars.

    Returns
    -------
    list of (int, str, float)
        (step, drum name, velocity) of every hit.
    """
    bar = _drum_bar(rng, style, steps_per_bar)
    hits = [(index * steps_per_bar + step, drum, velocity) for index in range(n_bars) for step, drum, velocity in bar]
    if style == "rock":  # a snare fill ends the loop, so the loop point is audible
        fill_start = n_bars * steps_per_bar - 4
        hits += [(fill_start + i, "snare", 0.6 + 0.1 * i) for i in range(4)]
    return hits
