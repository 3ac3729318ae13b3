"""Synthesise a small chiptune game soundtrack for ``songmap demo``.

The demo needs a collection whose structure is *known*, so that a map of it can
be judged by eye: looping themes from four families (calm, action, dungeon,
town), short jingles and sound effects, and three "(Storm)" variants that are
copies of a theme with a rain/wind bed mixed in.  Everything is generated in
code with vectorised numpy (no downloads), deterministically from a seed.

The sound follows the rules of an 8-bit console: pulse waves with a few duty
cycles, a 4-bit stepped triangle for the bass, and a sample-and-hold noise
channel for percussion and explosions.

Examples
--------
>>> paths = synthesize_soundtrack("demo-out/audio", seed=0)  # doctest: +SKIP
>>> [p.name for p in paths][:2]  # doctest: +SKIP
['Black Mist (Storm).ogg', 'Black Mist.ogg']
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import io
import os
import pathlib
import zlib
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import soundfile as sf

__all__ = ["synthesize_soundtrack"]

#: Peak level every file is normalised to.  Below the 0.9 ceiling because a
#: lossy (Vorbis) round trip can overshoot the peak of its input.
PEAK_LEVEL = 0.85

#: No decoded file may peak above this.
MAX_PEAK = 0.9

#: Frames handed to libsndfile per write call.  Writing a long OGG file in a
#: single call segfaults in libsndfile 1.2.2, so every format is written in
#: blocks.
WRITE_BLOCK_FRAMES = 16384

#: Level of the rain/wind bed of a "(Storm)" variant relative to the music RMS.
STORM_NOISE_DB = -12.0

#: Length limits (seconds) of a looping theme.
THEME_MIN_S, THEME_MAX_S = 15.0, 30.0

#: Sixteenth notes: the step grid every score is written on.
STEPS_PER_BEAT = 4

#: (libsndfile major format, subtype) for each file extension we write.
_SOUNDFILE_FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
}

# Modes as semitone offsets of the seven scale degrees from the tonic.
MAJOR = (0, 2, 4, 5, 7, 9, 11)
LYDIAN = (0, 2, 4, 6, 7, 9, 11)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)
PHRYGIAN = (0, 1, 3, 5, 7, 8, 10)


# ---------------------------------------------------------------------------
# Oscillators and envelopes
# ---------------------------------------------------------------------------


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
    """
    octave, step = divmod(degree, len(mode))
    return tonic + 12 * octave + mode[step]


def _phase_from_frequency(frequency_hz: np.ndarray, sr: int) -> np.ndarray:
    """Integrate an instantaneous frequency track into phase (in cycles)."""
    return np.cumsum(frequency_hz) / sr


def _pulse(phase: np.ndarray, duty: float) -> np.ndarray:
    """Pulse wave in {-1, 1}; `duty` is the fraction of a cycle spent high."""
    return np.where(phase - np.floor(phase) < duty, 1.0, -1.0)


def _triangle(phase: np.ndarray, levels: int = 16) -> np.ndarray:
    """Triangle wave quantised to `levels` steps, like the 4-bit NES triangle."""
    ramp = 1.0 - 2.0 * np.abs(2.0 * np.mod(phase, 1.0) - 1.0)  # in [-1, 1]
    return np.round((ramp + 1.0) * 0.5 * (levels - 1)) / (levels - 1) * 2.0 - 1.0


def _held_noise(
    rng: np.random.Generator,
    n_samples: int,
    sr: int,
    clock_hz: float | np.ndarray,
    period: int | None = None,
) -> np.ndarray:
    """Sample-and-hold noise, the console's noise channel.

    A lower `clock_hz` holds each random value longer, which darkens the noise;
    sweeping the clock down is how 8-bit explosions "fall".

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the random values.
    n_samples : int
        Length of the output.
    sr : int
        Sample rate in Hz.
    clock_hz : float or numpy.ndarray
        Rate at which a new random value is drawn; an array gives a clock that
        changes over time.
    period : int, optional
        Repeat a table of this many values instead of fresh noise: the
        metallic "short mode" of the NES noise channel.
    """
    clock = np.broadcast_to(np.asarray(clock_hz, dtype=np.float64), (n_samples,))
    index = np.floor(_phase_from_frequency(clock, sr)).astype(np.int64)
    table_size = period if period is not None else int(index[-1]) + 1
    table = rng.choice(np.array([-1.0, 1.0]), size=table_size)
    return table[index % table_size]


def _envelope(
    n_samples: int,
    gate_samples: int,
    sr: int,
    *,
    attack_s: float,
    decay_s: float,
    sustain: float,
) -> np.ndarray:
    """Attack-decay-sustain-release amplitude envelope.

    The key is held for `gate_samples`; the rest of the `n_samples` is the
    release, in which the level falls linearly to exactly zero (so notes never
    end in a click).
    """
    t = np.arange(n_samples) / sr
    attack = np.minimum(t / max(attack_s, 1.0 / sr), 1.0)
    decay = sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack_s, 0.0) / max(decay_s, 1e-4))
    held = attack * decay
    gate_samples = min(gate_samples, n_samples)
    release_samples = n_samples - gate_samples
    if release_samples > 0:
        level_at_release = held[gate_samples - 1] if gate_samples > 0 else 0.0
        held[gate_samples:] = level_at_release * np.linspace(1.0, 0.0, release_samples)
    return held


def _exponential_decay(n_samples: int, sr: int, time_constant_s: float, attack_s: float = 0.002) -> np.ndarray:
    """Short linear attack followed by an exponential decay, for one-shot sounds."""
    t = np.arange(n_samples) / sr
    return np.minimum(t / attack_s, 1.0) * np.exp(-t / time_constant_s)


def _fade_edges(y: np.ndarray, sr: int, fade_s: float = 0.004) -> np.ndarray:
    """Ramp the first and last few milliseconds so a one-shot starts and stops silently."""
    n_fade = min(int(fade_s * sr), len(y) // 2)
    if n_fade > 0:
        ramp = np.linspace(0.0, 1.0, n_fade)
        y = y.copy()
        y[:n_fade] *= ramp
        y[-n_fade:] *= ramp[::-1]
    return y


def _normalise_peak(y: np.ndarray, peak: float = PEAK_LEVEL) -> np.ndarray:
    """Scale `y` so its largest absolute sample is `peak`; return float32."""
    largest = float(np.max(np.abs(y)))
    return (y * (peak / largest if largest > 0 else 1.0)).astype(np.float32)


def _pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Equal-power pan of a mono signal; `position` runs from -1 (left) to 1 (right)."""
    angle = (position + 1.0) * np.pi / 4.0
    return np.stack([np.cos(angle) * mono, np.sin(angle) * mono], axis=1)


def _to_channels(stereo: np.ndarray, channels: int) -> np.ndarray:
    """Fold a (n, 2) signal down to mono (n,) or keep it stereo."""
    return stereo.mean(axis=1) if channels == 1 else stereo


# ---------------------------------------------------------------------------
# Notes, voices and parts
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Voice:
    """A sound-chip channel setting: waveform, envelope and vibrato."""

    waveform: str = "pulse"  # "pulse" or "triangle"
    duty: float = 0.5
    attack_s: float = 0.005
    decay_s: float = 0.2
    sustain: float = 0.6
    release_s: float = 0.05
    gate: float = 0.9  # fraction of the written length the key is held
    vibrato_hz: float = 0.0
    vibrato_cents: float = 0.0
    detune_cents: float = 0.0  # > 0 plays two slightly detuned pulses: a chorus pad


class _Note(NamedTuple):
    """A note on the sixteenth-note grid."""

    step: int
    length: int  # in steps
    midi: int
    velocity: float = 1.0


class _Part(NamedTuple):
    """A voice, the notes it plays, and where it sits in the mix."""

    voice: _Voice
    notes: list[_Note]
    gain: float
    pan: float
    echo: bool = True  # whether the score's echo (if any) applies


def _oscillate(phase: np.ndarray, voice: _Voice) -> np.ndarray:
    """Waveform of `voice` at the given phase."""
    if voice.waveform == "triangle":
        return _triangle(phase)
    if voice.detune_cents > 0:
        spread = 2.0 ** (voice.detune_cents / 1200.0)
        return 0.5 * (_pulse(phase * spread, voice.duty) + _pulse(phase / spread, voice.duty))
    return _pulse(phase, voice.duty)


def _render_note(midi: float, velocity: float, gate_samples: int, sr: int, voice: _Voice) -> np.ndarray:
    """One note of `voice`, including its release tail."""
    n_samples = gate_samples + int(round(voice.release_s * sr))
    t = np.arange(n_samples) / sr
    frequency = np.full(n_samples, midi_to_hz(midi))
    if voice.vibrato_cents > 0:
        frequency *= 2.0 ** (voice.vibrato_cents / 1200.0 * np.sin(2 * np.pi * voice.vibrato_hz * t))
    wave = _oscillate(_phase_from_frequency(frequency, sr), voice)
    envelope = _envelope(
        n_samples,
        gate_samples,
        sr,
        attack_s=voice.attack_s,
        decay_s=voice.decay_s,
        sustain=voice.sustain,
    )
    return velocity * wave * envelope


def _place(events: list[tuple[int, np.ndarray]], n_samples: int, wrap: bool) -> np.ndarray:
    """Sum sounds starting at given sample offsets into a buffer of `n_samples`.

    With ``wrap=True`` whatever rings past the end is folded back onto the
    start, so the buffer tiles into a seamless loop (the tail of the last bar
    sounds over the first bar of the next repeat, as in a game).
    """
    end = max([n_samples] + [start + len(sound) for start, sound in events])
    buffer = np.zeros(end)
    for start, sound in events:
        buffer[start : start + len(sound)] += sound
    if wrap:
        for start in range(n_samples, end, n_samples):
            tail = buffer[start : start + n_samples]
            buffer[: len(tail)] += tail
    return buffer[:n_samples]


def _render_part(part: _Part, step_samples: int, n_samples: int, sr: int, wrap: bool) -> np.ndarray:
    """Render all notes of a part into a mono buffer of `n_samples`."""
    events = []
    for note in part.notes:
        gate_samples = max(1, int(note.length * step_samples * part.voice.gate))
        sound = _render_note(note.midi, note.velocity, gate_samples, sr, part.voice)
        events.append((note.step * step_samples, sound))
    return part.gain * _place(events, n_samples, wrap)


# ---------------------------------------------------------------------------
# Percussion (noise channel + triangle drops)
# ---------------------------------------------------------------------------


def _pitch_drop(sr: int, duration_s: float, start_hz: float, end_hz: float, drop_s: float) -> np.ndarray:
    """Triangle whose pitch falls exponentially from `start_hz` to `end_hz` in `drop_s`."""
    t = np.arange(int(duration_s * sr)) / sr
    frequency = end_hz + (start_hz - end_hz) * np.exp(-t / drop_s)
    return _triangle(_phase_from_frequency(frequency, sr))


def _drum_kit(rng: np.random.Generator, sr: int) -> dict[str, np.ndarray]:
    """One-shot drum sounds, drawn once per theme so every hit is identical (as on a chip)."""
    kick_n, snare_n, hat_n, tom_n, shaker_n, clank_n = (int(d * sr) for d in (0.18, 0.2, 0.06, 0.4, 0.1, 0.3))
    kick = _pitch_drop(sr, 0.18, 170.0, 45.0, 0.025) * _exponential_decay(kick_n, sr, 0.06)
    snare_rattle = _held_noise(rng, snare_n, sr, 9000.0) * _exponential_decay(snare_n, sr, 0.06)
    snare_body = _pitch_drop(sr, 0.2, 240.0, 180.0, 0.02) * _exponential_decay(snare_n, sr, 0.03)
    snare = 0.8 * snare_rattle + 0.4 * snare_body
    hat = 0.5 * _held_noise(rng, hat_n, sr, 20000.0) * _exponential_decay(hat_n, sr, 0.015, attack_s=0.001)
    tom = _pitch_drop(sr, 0.4, 130.0, 70.0, 0.08) * _exponential_decay(tom_n, sr, 0.12)
    shaker = 0.35 * _held_noise(rng, shaker_n, sr, 16000.0) * _exponential_decay(shaker_n, sr, 0.03, attack_s=0.012)
    # A short repeating noise table rings with a pitch: the metallic "clank".
    clank = 0.5 * _held_noise(rng, clank_n, sr, 5000.0, period=31) * _exponential_decay(clank_n, sr, 0.08)
    return {"kick": kick, "snare": snare, "hat": hat, "tom": tom, "shaker": shaker, "clank": clank}


def _drum_bar(rng: np.random.Generator, style: str, steps_per_bar: int) -> list[tuple[int, str, float]]:
    """(step, drum, velocity) hits of one bar of a drum `style`; an empty list for ``"none"``."""
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


def _drum_hits(rng: np.random.Generator, style: str, steps_per_bar: int, n_bars: int) -> list[tuple[int, str, float]]:
    """(step, drum, velocity) hits of a drum `style` over `n_bars` bars."""
    bar = _drum_bar(rng, style, steps_per_bar)
    hits = [(index * steps_per_bar + step, drum, velocity) for index in range(n_bars) for step, drum, velocity in bar]
    if style == "rock":  # a snare fill ends the loop, so the loop point is audible
        fill_start = n_bars * steps_per_bar - 4
        hits += [(fill_start + i, "snare", 0.6 + 0.1 * i) for i in range(4)]
    return hits


def _render_hits(
    hits: list[tuple[int, str, float]], kit: dict[str, np.ndarray], step_samples: int, n_samples: int
) -> np.ndarray:
    """Render drum hits into a looping mono buffer of `n_samples`."""
    events = [(step * step_samples, velocity * kit[drum]) for step, drum, velocity in hits]
    return _place(events, n_samples, wrap=True)


# ---------------------------------------------------------------------------
# Theme families and composition
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _FamilyStyle:
    """What makes a family of themes sound alike: tempo, mode, timbre, patterns."""

    bpm_range: tuple[float, float]
    meters: tuple[int, ...]  # beats per bar to choose from
    modes: tuple[tuple[int, ...], ...]
    tonic_range: tuple[int, int]  # MIDI tonic of the lead register
    progressions: tuple[tuple[int, ...], ...]  # chord roots as scale degrees, one per bar
    lead: _Voice
    lead_duties: tuple[float, ...]
    lead_lengths: tuple[int, ...]  # note lengths (steps) drawn to fill a bar
    lead_rest_probability: float
    accompaniment: str  # "arpeggio" or "stabs"
    accompaniment_voice: _Voice
    arpeggio_step: int  # steps per arpeggio note
    arpeggio_shapes: tuple[tuple[int, ...], ...]  # indices into the chord tones
    bass: _Voice
    bass_patterns: tuple[str, ...]
    bass_octave: int  # octaves below the lead register
    drum_styles: tuple[str, ...]
    pad: _Voice | None = None
    sevenths: bool = False
    drone: _Voice | None = None  # tonic held under every bar
    echo_steps: int = 0  # delay of an echo on lead and accompaniment; 0: dry
    echo_feedback: float = 0.0


_FAMILY_STYLES = {
    # Slow, major/lydian, soft 50 % pulses, chorus pads, hardly any percussion.
    "calm": _FamilyStyle(
        bpm_range=(68.0, 90.0),
        meters=(4, 3),
        modes=(MAJOR, LYDIAN),
        tonic_range=(62, 69),
        progressions=((0, 3, 5, 4), (0, 5, 3, 4), (0, 4, 5, 3), (3, 4, 2, 5)),
        lead=_Voice(
            attack_s=0.06, decay_s=0.8, sustain=0.6, release_s=0.35, gate=0.95, vibrato_hz=5.0, vibrato_cents=18.0
        ),
        lead_duties=(0.5, 0.25),
        lead_lengths=(4, 6, 8, 12),
        lead_rest_probability=0.3,
        accompaniment="arpeggio",
        accompaniment_voice=_Voice(attack_s=0.01, decay_s=0.3, sustain=0.2, release_s=0.15, gate=0.8),
        arpeggio_step=2,
        arpeggio_shapes=((0, 1, 2, 3), (0, 2, 1, 3), (0, 1, 2, 1)),
        bass=_Voice(waveform="triangle", attack_s=0.02, decay_s=0.5, sustain=0.7, release_s=0.2),
        bass_patterns=("whole", "half"),
        bass_octave=2,
        drum_styles=("shaker", "none"),
        pad=_Voice(attack_s=0.6, decay_s=1.0, sustain=0.8, release_s=0.9, gate=1.0, detune_cents=9.0),
        sevenths=True,
    ),
    # Fast, bright 12.5/25 % leads, sixteenth-note arpeggios, driving bass and drums.
    "action": _FamilyStyle(
        bpm_range=(138.0, 170.0),
        meters=(4,),
        modes=(MAJOR, MIXOLYDIAN, DORIAN),
        tonic_range=(64, 72),
        progressions=((0, 4, 5, 3), (0, 6, 3, 0), (5, 3, 0, 4), (0, 3, 4, 4)),
        lead=_Voice(
            attack_s=0.003, decay_s=0.12, sustain=0.55, release_s=0.03, gate=0.85, vibrato_hz=6.0, vibrato_cents=10.0
        ),
        lead_duties=(0.125, 0.25),
        lead_lengths=(1, 2, 2, 2, 3, 4),
        lead_rest_probability=0.12,
        accompaniment="arpeggio",
        accompaniment_voice=_Voice(duty=0.25, attack_s=0.002, decay_s=0.06, sustain=0.3, release_s=0.02, gate=0.7),
        arpeggio_step=1,
        arpeggio_shapes=((0, 1, 2, 3), (0, 2, 1, 2), (3, 2, 1, 0)),
        bass=_Voice(waveform="triangle", attack_s=0.002, decay_s=0.1, sustain=0.8, release_s=0.01, gate=0.8),
        bass_patterns=("octave_eighths", "driving_eighths"),
        bass_octave=2,
        drum_styles=("rock",),
    ),
    # Minor/phrygian, low register, slow ostinato bass, toms and clanks, no hats.
    "dungeon": _FamilyStyle(
        bpm_range=(72.0, 100.0),
        meters=(4, 3),
        modes=(NATURAL_MINOR, HARMONIC_MINOR, PHRYGIAN),
        tonic_range=(55, 62),
        progressions=((0, 5, 6, 0), (0, 3, 4, 0), (0, 1, 0, 4), (0, 5, 3, 4)),
        lead=_Voice(
            duty=0.25, attack_s=0.01, decay_s=0.4, sustain=0.5, release_s=0.2, gate=0.9, vibrato_hz=4.0, vibrato_cents=25.0
        ),
        lead_duties=(0.25, 0.5),
        lead_lengths=(2, 4, 4, 6, 8),
        lead_rest_probability=0.25,
        accompaniment="arpeggio",
        accompaniment_voice=_Voice(duty=0.125, attack_s=0.005, decay_s=0.2, sustain=0.1, release_s=0.1, gate=0.6),
        arpeggio_step=2,
        arpeggio_shapes=((0, 1, 2, 1), (0, 2, 0, 1), (2, 1, 0, 1)),
        bass=_Voice(waveform="triangle", attack_s=0.01, decay_s=0.3, sustain=0.7, release_s=0.1, gate=0.9),
        bass_patterns=("ostinato", "pedal"),
        bass_octave=1,
        drum_styles=("dirge",),
        drone=_Voice(
            duty=0.5, attack_s=0.4, decay_s=2.0, sustain=0.9, release_s=0.3, gate=1.0, vibrato_hz=0.3, vibrato_cents=8.0
        ),
        echo_steps=3,  # dotted eighth: the stone-hall echo of the family
        echo_feedback=0.45,
    ),
    # Mid tempo, bouncy: oom-pah bass, offbeat chord stabs, light hats.
    "town": _FamilyStyle(
        bpm_range=(100.0, 126.0),
        meters=(4, 3),
        modes=(MAJOR, MIXOLYDIAN),
        tonic_range=(62, 70),
        progressions=((0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4)),
        lead=_Voice(attack_s=0.005, decay_s=0.2, sustain=0.45, release_s=0.06, gate=0.75),
        lead_duties=(0.5, 0.25),
        lead_lengths=(2, 2, 4, 1, 3),
        lead_rest_probability=0.15,
        accompaniment="stabs",
        accompaniment_voice=_Voice(duty=0.125, attack_s=0.002, decay_s=0.08, sustain=0.2, release_s=0.03, gate=0.5),
        arpeggio_step=4,
        arpeggio_shapes=((0, 1, 2),),
        bass=_Voice(waveform="triangle", attack_s=0.003, decay_s=0.15, sustain=0.6, release_s=0.03, gate=0.6),
        bass_patterns=("oompah",),
        bass_octave=2,
        drum_styles=("bounce",),
    ),
}


class _Score(NamedTuple):
    """A composed loop: tempo, meter and everything that plays in it."""

    bpm: float
    steps_per_bar: int
    n_bars: int
    parts: list[_Part]
    drum_hits: list[tuple[int, str, float]]
    drum_gain: float
    echo_steps: int = 0
    echo_feedback: float = 0.0


def _chord_tones(root_degree: int, *, seventh: bool) -> list[int]:
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


def _compose_melody(
    rng: np.random.Generator, style: _FamilyStyle, chords: Sequence[int], steps_per_bar: int
) -> list[tuple[int, int, int, float]]:
    """Lead line as (step, length, scale degree, velocity).

    Bars follow an A B A B plan: two rhythm motifs with a melodic contour each,
    re-fitted to the chord of every bar, so the loop is recognisably a tune and
    not random notes.
    """
    lowest, highest = 0, 11
    motifs = []
    for _ in range(2):
        rhythm = _bar_rhythm(rng, steps_per_bar, style.lead_lengths, style.lead_rest_probability)
        contour = rng.choice([-2, -1, -1, 1, 1, 2, 3, -3, 0], size=len(rhythm))
        motifs.append((rhythm, contour))
    melody, degree = [], 7
    for bar_index, chord_root in enumerate(chords):
        rhythm, contour = motifs[bar_index % 2]
        chord = [d + octave for d in _chord_tones(chord_root, seventh=False)[:3] for octave in (-7, 0, 7)]
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


class _Key(NamedTuple):
    """Tonic and mode of a piece."""

    tonic: int
    mode: tuple[int, ...]

    def midi(self, degree: int, octave_shift: int = 0) -> int:
        """MIDI note of a scale degree, moved by whole octaves."""
        return degree_to_midi(degree, tonic=self.tonic, mode=self.mode) + 12 * octave_shift


def _compose_accompaniment(
    style: _FamilyStyle, key: _Key, chords: Sequence[int], steps_per_bar: int, shape: Sequence[int]
) -> list[_Note]:
    """Arpeggio through the chord tones in `shape` order, or offbeat chord stabs."""
    notes = []
    for bar_index, chord_root in enumerate(chords):
        tones = _chord_tones(chord_root, seventh=style.sevenths)
        bar_start = bar_index * steps_per_bar
        if style.accompaniment == "stabs":  # the triad on every offbeat
            offbeats = range(STEPS_PER_BEAT // 2, steps_per_bar, STEPS_PER_BEAT)
            notes += [_Note(bar_start + s, 1, key.midi(tone), 0.8) for s in offbeats for tone in tones[:3]]
            continue
        for i, s in enumerate(range(0, steps_per_bar, style.arpeggio_step)):
            velocity = 1.0 if s % STEPS_PER_BEAT == 0 else 0.75
            notes.append(_Note(bar_start + s, style.arpeggio_step, key.midi(tones[shape[i % len(shape)]]), velocity))
    return notes


def _compose_bass(key: _Key, chords: Sequence[int], steps_per_bar: int, pattern: str, octaves_down: int) -> list[_Note]:
    """Bass line: one bar `pattern` played on the chord of every bar."""
    notes = []
    for bar_index, chord_root in enumerate(chords):
        tones = _chord_tones(chord_root, seventh=False)
        notes += [
            _Note(bar_index * steps_per_bar + s, length, key.midi(tones[tone], octave - octaves_down), 1.0)
            for s, length, tone, octave in _bass_pattern(pattern, steps_per_bar)
        ]
    return notes


def _compose_theme(rng: np.random.Generator, style: _FamilyStyle) -> _Score:
    """Draw tempo, key, timbre and patterns for one theme of a family, and compose its loop."""
    bpm = float(rng.uniform(*style.bpm_range))
    steps_per_bar = int(rng.choice(style.meters)) * STEPS_PER_BEAT
    mode = style.modes[int(rng.integers(len(style.modes)))]
    key = _Key(int(rng.integers(style.tonic_range[0], style.tonic_range[1] + 1)), mode)
    chords = style.progressions[int(rng.integers(len(style.progressions)))]
    n_bars = len(chords)

    lead_voice = dataclasses.replace(style.lead, duty=float(rng.choice(style.lead_duties)))
    melody = _compose_melody(rng, style, chords, steps_per_bar)
    parts = [_Part(lead_voice, [_Note(s, n, key.midi(d), v) for s, n, d, v in melody], gain=0.28, pan=-0.3)]

    shape = style.arpeggio_shapes[int(rng.integers(len(style.arpeggio_shapes)))]
    accompaniment = _compose_accompaniment(style, key, chords, steps_per_bar, shape)
    accompaniment_gain = 0.09 if style.accompaniment == "stabs" else 0.14  # stabs play three notes at once
    parts.append(_Part(style.accompaniment_voice, accompaniment, gain=accompaniment_gain, pan=0.5))

    if style.pad is not None:  # sustained chord, an octave below the lead
        pad_notes = [
            _Note(bar * steps_per_bar, steps_per_bar, key.midi(tone, -1), 1.0)
            for bar, chord_root in enumerate(chords)
            for tone in _chord_tones(chord_root, seventh=style.sevenths)
        ]
        parts.append(_Part(style.pad, pad_notes, gain=0.07, pan=0.0))

    if style.drone is not None:
        drone_notes = [_Note(bar * steps_per_bar, steps_per_bar, key.midi(0, -1), 1.0) for bar in range(n_bars)]
        parts.append(_Part(style.drone, drone_notes, gain=0.08, pan=-0.2, echo=False))

    bass_notes = _compose_bass(key, chords, steps_per_bar, str(rng.choice(style.bass_patterns)), style.bass_octave)
    parts.append(_Part(style.bass, bass_notes, gain=0.4, pan=0.0, echo=False))

    hits = _drum_hits(rng, str(rng.choice(style.drum_styles)), steps_per_bar, n_bars)
    return _Score(bpm, steps_per_bar, n_bars, parts, hits, 0.35, style.echo_steps, style.echo_feedback)


def _step_samples(bpm: float, sr: int) -> int:
    """Samples per sixteenth note; whole samples so the loop repeats sample-exactly."""
    return int(round(sr * 60.0 / bpm / STEPS_PER_BEAT))


def _circular_echo(y: np.ndarray, delay_samples: int, feedback: float, taps: int = 4) -> np.ndarray:
    """Add decaying delayed copies of `y`; the delay wraps around so a loop stays seamless."""
    echoed = y.copy()
    for tap in range(1, taps + 1):
        echoed += feedback**tap * np.roll(y, tap * delay_samples)
    return echoed


def _render_loop(score: _Score, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Render one pass of a score as a seamless stereo loop of shape (n, 2)."""
    step_samples = _step_samples(score.bpm, sr)
    n_samples = step_samples * score.steps_per_bar * score.n_bars
    mix = np.zeros((n_samples, 2))
    for part in score.parts:
        mono = _render_part(part, step_samples, n_samples, sr, wrap=True)
        if part.echo and score.echo_steps > 0:
            mono = _circular_echo(mono, score.echo_steps * step_samples, score.echo_feedback)
        mix += _pan(mono, part.pan)
    if score.drum_hits:
        drums = _render_hits(score.drum_hits, _drum_kit(rng, sr), step_samples, n_samples)
        mix += _pan(score.drum_gain * drums, 0.1)
    return mix


def _loop_repeats(loop_s: float, rng: np.random.Generator) -> int:
    """How many times to play a loop so the theme lasts between 15 and 30 s."""
    target_s = rng.uniform(16.0, 24.0)
    fewest = int(np.ceil(THEME_MIN_S / loop_s))
    most = int(np.floor(THEME_MAX_S / loop_s))
    return int(np.clip(round(target_s / loop_s), max(fewest, 2), most))


def _render_theme(rng: np.random.Generator, style: _FamilyStyle, sr: int, channels: int) -> np.ndarray:
    """Compose and render a looping theme, normalised, as (n,) or (n, 2) float32."""
    score = _compose_theme(rng, style)
    loop = _render_loop(score, rng, sr)
    repeats = _loop_repeats(len(loop) / sr, rng)
    return _normalise_peak(_to_channels(np.tile(loop, (repeats, 1)), channels))


# ---------------------------------------------------------------------------
# Storm bed
# ---------------------------------------------------------------------------


def _fast_fft_length(n: int) -> int:
    """Smallest 2**a * 3**b * 5**c >= `n`: an FFT size that is fast yet pads little."""
    best = 1 << (n - 1).bit_length()
    power_of_5 = 1
    while power_of_5 < best:
        odd_factor = power_of_5
        while odd_factor < best:
            multiples_needed = -(-n // odd_factor)  # ceil(n / odd_factor)
            best = min(best, odd_factor << (multiples_needed - 1).bit_length())
            odd_factor *= 3
        power_of_5 *= 5
    return best


def _colored_noise(
    rng: np.random.Generator, n_samples: int, sr: int, exponent: float, low_cut_hz: float = 30.0
) -> np.ndarray:
    """Noise with a 1/f**exponent power spectrum (1: pink, 2: brown), unit RMS.

    Shaped in the frequency domain, which is vectorised and, unlike a running
    sum, does not drift; nothing below `low_cut_hz` is kept.
    """
    n_fft = _fast_fft_length(max(n_samples, 2))
    frequencies = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    shaping = np.zeros_like(frequencies)
    audible = frequencies >= low_cut_hz
    shaping[audible] = frequencies[audible] ** (-exponent / 2.0)
    spectrum = rng.standard_normal(len(frequencies)) + 1j * rng.standard_normal(len(frequencies))
    noise = np.fft.irfft(spectrum * shaping, n=n_fft)[:n_samples]
    return noise / np.sqrt(np.mean(noise**2))


def _gusts(rng: np.random.Generator, n_samples: int, sr: int, floor: float) -> np.ndarray:
    """Slow random amplitude swells between `floor` and 1 (a few seconds each)."""
    control_rate_hz = 50.0  # the swells are slow: compute them coarsely, then interpolate
    control_t = np.arange(int(n_samples / sr * control_rate_hz) + 2) / control_rate_hz
    rates_hz = rng.uniform(0.04, 0.25, size=3)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=3)
    swell = np.sin(2.0 * np.pi * rates_hz[:, None] * control_t[None, :] + phases[:, None]).sum(axis=0)
    swell = (swell - swell.min()) / (swell.max() - swell.min())
    return floor + (1.0 - floor) * np.interp(np.arange(n_samples) / sr, control_t, swell)


def _storm_bed(rng: np.random.Generator, n_samples: int, sr: int) -> np.ndarray:
    """One channel of weather: gusting brown-noise wind plus pink-noise rain."""
    wind = _colored_noise(rng, n_samples, sr, exponent=2.0) * _gusts(rng, n_samples, sr, floor=0.3)
    rain = _colored_noise(rng, n_samples, sr, exponent=1.0) * _gusts(rng, n_samples, sr, floor=0.7)
    return wind + rain


def _add_storm(music: np.ndarray, rng: np.random.Generator, sr: int, noise_db: float = STORM_NOISE_DB) -> np.ndarray:
    """Mix a storm bed under `music` at `noise_db` relative to the music RMS; renormalise."""
    columns = music.reshape(len(music), -1)
    bed = np.stack([_storm_bed(rng, len(columns), sr) for _ in range(columns.shape[1])], axis=1)
    target_rms = np.sqrt(np.mean(columns.astype(np.float64) ** 2)) * 10.0 ** (noise_db / 20.0)
    bed *= target_rms / np.sqrt(np.mean(bed**2))
    return _normalise_peak((columns + bed).reshape(music.shape))


# ---------------------------------------------------------------------------
# Jingles
# ---------------------------------------------------------------------------


class _Jingle(NamedTuple):
    """A short fanfare: lead and bass lines as (step, length, scale degree)."""

    mode: tuple[int, ...]
    bpm_range: tuple[float, float]
    lead_duty: float
    lead: tuple[tuple[int, int, int], ...]
    bass: tuple[tuple[int, int, int], ...]
    harmony: bool = False  # double the lead a third below


_VICTORY_FANFARE = _Jingle(
    MAJOR, (132.0, 150.0), 0.5,
    lead=((0, 1, 4), (1, 1, 4), (2, 1, 4), (3, 4, 7), (7, 2, 5), (9, 2, 6), (11, 10, 7)),
    bass=((0, 3, -3), (3, 4, -7), (7, 4, -4), (11, 10, -7)),
    harmony=True,
)
_GAME_OVER = _Jingle(
    NATURAL_MINOR, (70.0, 82.0), 0.25,
    lead=((0, 2, 7), (2, 2, 4), (4, 2, 2), (6, 2, 1), (8, 2, -1), (10, 6, 0)),
    bass=((0, 4, -7), (4, 4, -10), (8, 8, -7)),
)
_LEVEL_UP = _Jingle(
    MAJOR, (150.0, 170.0), 0.125,
    lead=((0, 1, 0), (1, 1, 2), (2, 1, 4), (3, 1, 7), (4, 1, 9), (5, 1, 11), (6, 1, 14), (7, 6, 14)),
    bass=((0, 7, -7), (7, 6, -7)),
)
_STAGE_CLEAR = _Jingle(
    MAJOR, (120.0, 136.0), 0.25,
    lead=tuple((i, 1, i) for i in range(8)) + ((8, 2, 4), (10, 2, 7), (12, 8, 7)),
    bass=((0, 8, -7), (8, 4, -3), (12, 8, -7)),
    harmony=True,
)
_ITEM_GET = _Jingle(
    MIXOLYDIAN, (110.0, 128.0), 0.5,
    lead=((0, 2, 0), (2, 2, 2), (4, 2, 4), (6, 2, 7)) + tuple((8 + i, 1, 7 + i % 2) for i in range(6)) + ((14, 4, 7),),
    bass=((0, 8, -7), (8, 10, -4)),
)
_CHECKPOINT = _Jingle(
    DORIAN, (138.0, 150.0), 0.25,
    lead=((0, 1, 4), (1, 3, 7), (4, 1, 5), (5, 3, 8), (8, 1, 6), (9, 6, 9)),
    bass=((0, 4, -7), (4, 4, -6), (8, 7, -5)),
)


def _render_jingle(jingle: _Jingle, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Render a jingle in a random key and tempo (within its range) as mono."""
    tonic = int(rng.integers(60, 68))
    step_samples = _step_samples(float(rng.uniform(*jingle.bpm_range)), sr)

    def notes(line: Sequence[tuple[int, int, int]], degree_shift: int = 0, velocity: float = 1.0) -> list[_Note]:
        return [
            _Note(step, length, degree_to_midi(degree + degree_shift, tonic=tonic, mode=jingle.mode), velocity)
            for step, length, degree in line
        ]

    lead_voice = _Voice(
        duty=jingle.lead_duty, attack_s=0.004, decay_s=0.3, sustain=0.6, release_s=0.25, vibrato_hz=6.0, vibrato_cents=12.0
    )
    bass_voice = _Voice(waveform="triangle", decay_s=0.4, sustain=0.8, release_s=0.2)
    parts = [
        _Part(lead_voice, notes(jingle.lead), gain=0.35, pan=0.0),
        _Part(bass_voice, notes(jingle.bass), gain=0.45, pan=0.0),
    ]
    if jingle.harmony:
        parts.append(_Part(dataclasses.replace(lead_voice, duty=0.5), notes(jingle.lead, -2, 0.7), gain=0.2, pan=0.0))
    last_step = max(s + n for s, n, _ in jingle.lead + jingle.bass)
    n_samples = last_step * step_samples + int(0.3 * sr)  # room for the release tails
    mix = sum(_render_part(part, step_samples, n_samples, sr, wrap=False) for part in parts)
    return _fade_edges(mix, sr)


# ---------------------------------------------------------------------------
# Sound effects (mono, 0.1-1.5 s)
# ---------------------------------------------------------------------------


def _sweep(start_hz: float, end_hz: float, n_samples: int) -> np.ndarray:
    """Exponential (constant semitones per second) frequency glide."""
    return start_hz * (end_hz / start_hz) ** np.linspace(0.0, 1.0, n_samples)


def _coin_blip(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Two quick pulse notes a fourth apart, the second ringing out."""
    n_samples = int(rng.uniform(0.3, 0.45) * sr)
    first_s = rng.uniform(0.05, 0.08)
    t = np.arange(n_samples) / sr
    first_hz = float(midi_to_hz(int(rng.integers(81, 86))))
    frequency = np.where(t < first_s, first_hz, first_hz * 2.0 ** (5 / 12))
    envelope = np.exp(-np.maximum(t - first_s, 0.0) / 0.1)
    return _fade_edges(_pulse(_phase_from_frequency(frequency, sr), 0.5) * envelope, sr)


def _laser(sr: int, duration_s: float, start_hz: float, end_hz: float, duty: float) -> np.ndarray:
    """Falling pulse sweep that fades as it falls."""
    n_samples = int(duration_s * sr)
    wave = _pulse(_phase_from_frequency(_sweep(start_hz, end_hz, n_samples), sr), duty)
    return _fade_edges(wave * np.linspace(1.0, 0.0, n_samples) ** 1.5, sr)


def _laser_sweep(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A long laser: quarter-duty pulse falling about three octaves."""
    return _laser(sr, rng.uniform(0.25, 0.4), rng.uniform(1500.0, 2500.0), rng.uniform(150.0, 300.0), 0.25)


def _laser_zap(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A short, thin laser: 12.5 % pulse falling about two octaves."""
    return _laser(sr, rng.uniform(0.12, 0.18), rng.uniform(2800.0, 3600.0), rng.uniform(500.0, 800.0), 0.125)


def _jump(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Rising pulse sweep: the springy jump."""
    n_samples = int(rng.uniform(0.18, 0.3) * sr)
    start_hz = rng.uniform(250.0, 350.0)
    wave = _pulse(_phase_from_frequency(_sweep(start_hz, 3.0 * start_hz, n_samples), sr), 0.25)
    return _fade_edges(wave * np.linspace(1.0, 0.2, n_samples), sr)


def _power_up(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Rising major arpeggio that climbs a semitone each pass."""
    tonic = int(rng.integers(60, 67))
    note_s = rng.uniform(0.035, 0.05)
    midis = [tonic + offset + lift for lift in range(4) for offset in (0, 4, 7, 12)]
    frequency = np.repeat(midi_to_hz(np.array(midis)), int(note_s * sr))
    wave = _pulse(_phase_from_frequency(frequency, sr), 0.125)
    return _fade_edges(wave * np.linspace(0.7, 1.0, len(wave)), sr)


def _hurt(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Falling square with a noise crunch."""
    n_samples = int(rng.uniform(0.25, 0.35) * sr)
    tone = _pulse(_phase_from_frequency(_sweep(rng.uniform(600.0, 800.0), 120.0, n_samples), sr), 0.5)
    crunch = _held_noise(rng, n_samples, sr, 3000.0) * _exponential_decay(n_samples, sr, 0.05)
    return _fade_edges((0.7 * tone + 0.5 * crunch) * np.linspace(1.0, 0.0, n_samples), sr)


def _menu_select(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Very short two-step blip."""
    n_samples = int(rng.uniform(0.11, 0.14) * sr)
    base_hz = rng.uniform(1100.0, 1400.0)
    frequency = np.where(np.arange(n_samples) < n_samples // 3, base_hz, 1.5 * base_hz)
    return _fade_edges(_pulse(_phase_from_frequency(frequency, sr), 0.5) * _exponential_decay(n_samples, sr, 0.05), sr)


def _warp_pipe(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Repeated falling octave glides on the triangle: going down a pipe."""
    n_samples = int(rng.uniform(0.8, 1.0) * sr)
    t = np.arange(n_samples) / sr
    passes_per_s = rng.uniform(5.0, 7.0)
    frequency = rng.uniform(500.0, 700.0) * 2.0 ** (-np.mod(t * passes_per_s, 1.0))
    return _fade_edges(_triangle(_phase_from_frequency(frequency, sr)) * np.linspace(1.0, 0.4, n_samples), sr)


def _explosion(
    rng: np.random.Generator, sr: int, duration_s: float, start_clock_hz: float, end_clock_hz: float
) -> np.ndarray:
    """Noise whose clock falls (the noise darkens) plus a low thump."""
    n_samples = int(duration_s * sr)
    noise = _held_noise(rng, n_samples, sr, _sweep(start_clock_hz, end_clock_hz, n_samples))
    thump = _pitch_drop(sr, duration_s, 90.0, 30.0, 0.08) * _exponential_decay(n_samples, sr, 0.15)
    body = noise * _exponential_decay(n_samples, sr, duration_s / 4.0)
    return _fade_edges(0.8 * body + 0.5 * thump, sr)


def _small_explosion(rng: np.random.Generator, sr: int) -> np.ndarray:
    """About a second of bright, falling noise."""
    return _explosion(rng, sr, rng.uniform(0.8, 1.1), rng.uniform(6000.0, 9000.0), rng.uniform(250.0, 400.0))


def _big_explosion(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A longer, darker explosion that rumbles down to a low clock."""
    return _explosion(rng, sr, rng.uniform(1.3, 1.45), rng.uniform(3000.0, 5000.0), rng.uniform(80.0, 150.0))


# ---------------------------------------------------------------------------
# Catalogue of the soundtrack
# ---------------------------------------------------------------------------


class _Theme(NamedTuple):
    """A looping theme (category ``soundscape``) and how it is stored."""

    title: str
    family: str
    extension: str
    samplerate: int
    channels: int
    with_storm: bool = False


class _Cue(NamedTuple):
    """A jingle or sound effect (category ``soundeffect``) and how it is stored."""

    title: str
    subfolder: str
    synthesize: Callable[[np.random.Generator, int], np.ndarray]
    extension: str
    samplerate: int
    channels: int


# Formats, rates and channel counts cut across families on purpose, so a map
# that groups the families is grouping music, not file properties.
_THEMES = (
    _Theme("Moonlit Meadow", "calm", ".ogg", 32000, 2, with_storm=True),
    _Theme("Café Theme", "calm", ".flac", 32000, 2),
    _Theme("Quiet Harbor", "calm", ".wav", 22050, 1),
    _Theme("Starlight Lullaby", "calm", ".ogg", 48000, 1),
    _Theme("Turbo Chase", "action", ".flac", 44100, 2, with_storm=True),
    _Theme("Sky Fortress", "action", ".ogg", 32000, 1),
    _Theme("Boss Rush", "action", ".wav", 32000, 1),
    _Theme("Neon Runner", "action", ".ogg", 22050, 2),
    _Theme("Black Mist", "dungeon", ".ogg", 22050, 2, with_storm=True),
    _Theme("Über Dungeon", "dungeon", ".wav", 22050, 1),
    _Theme("Crypt of Echoes", "dungeon", ".flac", 44100, 1),
    _Theme("Sunken Catacombs", "dungeon", ".ogg", 22050, 1),
    _Theme("Market Square", "town", ".flac", 48000, 1),
    _Theme("Windmill Village", "town", ".ogg", 32000, 1),
    _Theme("Harvest Festival", "town", ".wav", 44100, 1),
)


def _jingle_synth(jingle: _Jingle) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Bind a jingle's score to the (rng, sr) signature every cue synthesiser has."""
    return lambda rng, sr: _render_jingle(jingle, rng, sr)


_CUES = (
    _Cue("Victory Fanfare", "jingles", _jingle_synth(_VICTORY_FANFARE), ".ogg", 44100, 2),
    _Cue("Game Over", "jingles", _jingle_synth(_GAME_OVER), ".wav", 22050, 1),
    _Cue("Level Up", "jingles", _jingle_synth(_LEVEL_UP), ".flac", 32000, 1),
    _Cue("Stage Clear", "jingles", _jingle_synth(_STAGE_CLEAR), ".wav", 48000, 2),
    _Cue("Item Get", "jingles", _jingle_synth(_ITEM_GET), ".ogg", 22050, 1),
    _Cue("Checkpoint", "jingles", _jingle_synth(_CHECKPOINT), ".flac", 44100, 2),
    _Cue("Coin Blip", "effects", _coin_blip, ".wav", 22050, 1),
    _Cue("Laser Sweep", "effects", _laser_sweep, ".wav", 44100, 1),
    _Cue("Laser Zap", "effects", _laser_zap, ".ogg", 32000, 1),
    _Cue("Jump", "effects", _jump, ".wav", 32000, 1),
    _Cue("Power Up", "effects", _power_up, ".flac", 22050, 1),
    _Cue("Hurt", "effects", _hurt, ".wav", 48000, 2),
    _Cue("Menu Select", "effects", _menu_select, ".wav", 44100, 1),
    _Cue("Warp Pipe", "effects", _warp_pipe, ".ogg", 44100, 2),
    _Cue("Explosion", "effects", _small_explosion, ".flac", 44100, 1),
    _Cue("Big Explosion", "effects", _big_explosion, ".ogg", 48000, 2),
)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


_BIT_REVERSED_BYTES = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))


def _ogg_page_crc(page: bytes) -> int:
    """CRC-32 of an Ogg page (polynomial 0x04C11DB7, MSB first, no reflection).

    zlib computes the bit-reflected variant of the same polynomial; feeding it
    bit-reversed bytes and reversing the register gives the Ogg checksum at C
    speed.
    """
    register = zlib.crc32(page.translate(_BIT_REVERSED_BYTES), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{register:032b}"[::-1], 2)


def _with_ogg_serial(encoded: bytes, serial: int) -> bytes:
    """Set the stream serial number of every page of an Ogg file.

    libsndfile draws the serial from the clock, which would make two runs with
    the same seed differ in a few bytes; a serial derived from the file name
    makes the output byte-identical.  Each page's CRC is recomputed.
    """
    data = bytearray(encoded)
    position = 0
    while position < len(data):
        if data[position : position + 4] != b"OggS":
            raise ValueError(f"no Ogg page at byte {position}")
        n_segments = data[position + 26]
        body_size = sum(data[position + 27 : position + 27 + n_segments])
        end = position + 27 + n_segments + body_size
        data[position + 14 : position + 18] = serial.to_bytes(4, "little")
        data[position + 22 : position + 26] = bytes(4)
        data[position + 22 : position + 26] = _ogg_page_crc(bytes(data[position:end])).to_bytes(4, "little")
        position = end
    return bytes(data)


def _encode_audio(frames: np.ndarray, sr: int, major_format: str, subtype: str) -> bytes:
    """Encode (n, channels) float32 frames in memory, in blocks of `WRITE_BLOCK_FRAMES`."""
    buffer = io.BytesIO()
    channels = frames.shape[1]
    with sf.SoundFile(buffer, "w", samplerate=sr, channels=channels, format=major_format, subtype=subtype) as out:
        for start in range(0, len(frames), WRITE_BLOCK_FRAMES):
            out.write(frames[start : start + WRITE_BLOCK_FRAMES])
    return buffer.getvalue()


def _write_audio(path: pathlib.Path, y: np.ndarray, sr: int, max_peak: float = MAX_PEAK) -> None:
    """Write float audio of shape (n,) or (n, channels); the format follows the extension.

    Vorbis rings around the hard edges of pulse waves, so a lossy file can
    decode louder than its input: it is decoded once and, if it peaks above
    `max_peak`, encoded again from a quieter copy.
    """
    major_format, subtype = _SOUNDFILE_FORMATS[path.suffix.lower()]
    frames = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    for _ in range(4):
        encoded = _encode_audio(frames, sr, major_format, subtype)
        if major_format != "OGG":
            break
        encoded = _with_ogg_serial(encoded, zlib.crc32(path.name.encode("utf-8")) & 0x7FFFFFFF)
        decoded_peak = float(np.max(np.abs(sf.read(io.BytesIO(encoded), dtype="float32")[0])))
        if decoded_peak <= max_peak:
            break
        frames = frames * np.float32(PEAK_LEVEL / decoded_peak)
    path.write_bytes(encoded)


def _write_csv(path: pathlib.Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write a UTF-8 CSV file with a header row."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


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
            pending.append(encoder.submit(_write_audio, path, y, sr))
            metadata.append((relative, category, title))
            written.append(path)

        for theme in _THEMES:
            style = _FAMILY_STYLES[theme.family]
            music = _render_theme(_track_rng(seed, theme.title), style, theme.samplerate, theme.channels)
            original = theme.title + theme.extension
            write(original, theme.title, "soundscape", music, theme.samplerate)
            if theme.with_storm:
                storm_title = f"{theme.title} (Storm)"
                storm = _add_storm(music, _track_rng(seed, storm_title), theme.samplerate)
                write(storm_title + theme.extension, storm_title, "soundscape", storm, theme.samplerate)
                pairs.append((original, storm_title + theme.extension, "storm"))

        for cue in _CUES:
            mono = cue.synthesize(_track_rng(seed, cue.title), cue.samplerate)
            # Stereo cues sit somewhere across the field, as effects do in a game.
            y = mono
            if cue.channels == 2:
                y = _pan(mono, float(_track_rng(seed, cue.title + " pan").uniform(-0.5, 0.5)))
            relative = f"{cue.subfolder}/{cue.title}{cue.extension}"
            write(relative, cue.title, "soundeffect", _normalise_peak(y), cue.samplerate)

        for job in pending:
            job.result()  # re-raise any error from the encoder thread

    _write_csv(root / "metadata.csv", ("filename", "category", "title"), metadata)
    _write_csv(root / "pairs.csv", ("a", "b", "kind"), pairs)
    return sorted(written)
