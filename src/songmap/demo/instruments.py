"""The demo's sound chip: oscillators, envelopes, voices, drums and the mixer.

The sound follows the rules of an 8-bit console: pulse waves with a few duty
cycles, a 4-bit stepped triangle for the bass, and a sample-and-hold noise
channel for percussion.  Everything is vectorised numpy; `sr` is always the
sample rate in Hz.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from songmap.demo.theory import DrumHit, Note, midi_to_hz

#: Peak level every file is normalised to.  Below the 0.9 ceiling because a
#: lossy (Vorbis) round trip can overshoot the peak of its input.
PEAK_LEVEL = 0.85


# ---------------------------------------------------------------------------
# Oscillators and envelopes
# ---------------------------------------------------------------------------


def phase_from_frequency(frequency_hz: np.ndarray, sr: int) -> np.ndarray:
    """Integrate an instantaneous frequency track into phase (in cycles)."""
    return np.cumsum(frequency_hz) / sr


def pulse_wave(phase: np.ndarray, duty: float) -> np.ndarray:
    """Pulse wave in {-1, 1}; `duty` is the fraction of a cycle spent high."""
    return np.where(phase - np.floor(phase) < duty, 1.0, -1.0)


def triangle_wave(phase: np.ndarray, levels: int = 16) -> np.ndarray:
    """Triangle wave quantised to `levels` steps, like the 4-bit NES triangle."""
    ramp = 1.0 - 2.0 * np.abs(2.0 * np.mod(phase, 1.0) - 1.0)  # in [-1, 1]
    return np.round((ramp + 1.0) * 0.5 * (levels - 1)) / (levels - 1) * 2.0 - 1.0


def held_noise(
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

    Returns
    -------
    numpy.ndarray
        ``(n_samples,)`` values in {-1, 1}.
    """
    clock = np.broadcast_to(np.asarray(clock_hz, dtype=np.float64), (n_samples,))
    index = np.floor(phase_from_frequency(clock, sr)).astype(np.int64)
    table_size = period if period is not None else int(index[-1]) + 1
    table = rng.choice(np.array([-1.0, 1.0]), size=table_size)
    return table[index % table_size]


def _note_envelope(
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


def exponential_decay(n_samples: int, sr: int, time_constant_s: float, attack_s: float = 0.002) -> np.ndarray:
    """Short linear attack followed by an exponential decay, for one-shot sounds."""
    t = np.arange(n_samples) / sr
    return np.minimum(t / attack_s, 1.0) * np.exp(-t / time_constant_s)


def fade_edges(y: np.ndarray, sr: int, fade_s: float = 0.004) -> np.ndarray:
    """Ramp the first and last few milliseconds so a one-shot starts and stops silently."""
    n_fade = min(int(fade_s * sr), len(y) // 2)
    if n_fade > 0:
        ramp = np.linspace(0.0, 1.0, n_fade)
        y = y.copy()
        y[:n_fade] *= ramp
        y[-n_fade:] *= ramp[::-1]
    return y


def pitch_drop(sr: int, duration_s: float, start_hz: float, end_hz: float, drop_s: float) -> np.ndarray:
    """Triangle whose pitch falls exponentially from `start_hz` to `end_hz` in `drop_s`."""
    t = np.arange(int(duration_s * sr)) / sr
    frequency = end_hz + (start_hz - end_hz) * np.exp(-t / drop_s)
    return triangle_wave(phase_from_frequency(frequency, sr))


# ---------------------------------------------------------------------------
# Mixing
# ---------------------------------------------------------------------------


def normalise_peak(y: np.ndarray, peak: float = PEAK_LEVEL) -> np.ndarray:
    """Scale `y` so its largest absolute sample is `peak`; return float32."""
    largest = float(np.max(np.abs(y)))
    return (y * (peak / largest if largest > 0 else 1.0)).astype(np.float32)


def pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Equal-power pan of a mono signal to ``(n, 2)``; `position` runs from -1 (left) to 1 (right)."""
    angle = (position + 1.0) * np.pi / 4.0
    return np.stack([np.cos(angle) * mono, np.sin(angle) * mono], axis=1)


def to_channels(stereo: np.ndarray, channels: int) -> np.ndarray:
    """Fold a ``(n, 2)`` signal down to mono ``(n,)`` or keep it stereo."""
    return stereo.mean(axis=1) if channels == 1 else stereo


def mix_events(events: list[tuple[int, np.ndarray]], n_samples: int, wrap: bool) -> np.ndarray:
    """Sum sounds starting at given sample offsets into a buffer of `n_samples`.

    With ``wrap=True`` whatever rings past the end is folded back onto the
    start, so the buffer tiles into a seamless loop (the tail of the last bar
    sounds over the first bar of the next repeat, as in a game).

    Parameters
    ----------
    events : list of (int, numpy.ndarray)
        Start sample and samples of each sound.
    n_samples : int
        Length of the result.
    wrap : bool
        Fold what rings past the end back onto the start, instead of cutting it.

    Returns
    -------
    numpy.ndarray
        The mono mix, ``(n_samples,)``.
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


def circular_echo(y: np.ndarray, delay_samples: int, feedback: float, taps: int = 4) -> np.ndarray:
    """Add decaying delayed copies of `y`; the delay wraps around so a loop stays seamless."""
    echoed = y.copy()
    for tap in range(1, taps + 1):
        echoed += feedback**tap * np.roll(y, tap * delay_samples)
    return echoed


# ---------------------------------------------------------------------------
# Voices and parts
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Voice:
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


class Part(NamedTuple):
    """A voice, the notes it plays, and where it sits in the mix."""

    voice: Voice
    notes: list[Note]
    gain: float
    pan: float
    echo: bool = True  # whether the score's echo (if any) applies


def _oscillate(phase: np.ndarray, voice: Voice) -> np.ndarray:
    """Waveform of `voice` at the given phase."""
    if voice.waveform == "triangle":
        return triangle_wave(phase)
    if voice.detune_cents > 0:
        spread = 2.0 ** (voice.detune_cents / 1200.0)
        return 0.5 * (pulse_wave(phase * spread, voice.duty) + pulse_wave(phase / spread, voice.duty))
    return pulse_wave(phase, voice.duty)


def _render_note(midi: float, velocity: float, gate_samples: int, sr: int, voice: Voice) -> np.ndarray:
    """One note of `voice`, including its release tail."""
    n_samples = gate_samples + round(voice.release_s * sr)
    t = np.arange(n_samples) / sr
    frequency = np.full(n_samples, midi_to_hz(midi))
    if voice.vibrato_cents > 0:
        frequency *= 2.0 ** (voice.vibrato_cents / 1200.0 * np.sin(2 * np.pi * voice.vibrato_hz * t))
    wave = _oscillate(phase_from_frequency(frequency, sr), voice)
    envelope = _note_envelope(
        n_samples,
        gate_samples,
        sr,
        attack_s=voice.attack_s,
        decay_s=voice.decay_s,
        sustain=voice.sustain,
    )
    return velocity * wave * envelope


def render_part(part: Part, step_samples: int, n_samples: int, sr: int, wrap: bool) -> np.ndarray:
    """Render all notes of a part, times its gain, into a mono buffer of `n_samples`.

    Parameters
    ----------
    part : Part
        Voice, notes and gain.
    step_samples : int
        Samples per sixteenth-note step.
    n_samples : int
        Length of the result.
    sr : int
        Sample rate in Hz.
    wrap : bool
        Fold release tails past the end onto the start (a loop), see :func:`mix_events`.

    Returns
    -------
    numpy.ndarray
        ``(n_samples,)``.
    """
    events = []
    for note in part.notes:
        gate_samples = max(1, int(note.length * step_samples * part.voice.gate))
        sound = _render_note(note.midi, note.velocity, gate_samples, sr, part.voice)
        events.append((note.step * step_samples, sound))
    return part.gain * mix_events(events, n_samples, wrap)


# ---------------------------------------------------------------------------
# Percussion (noise channel + triangle drops)
# ---------------------------------------------------------------------------


def drum_kit(rng: np.random.Generator, sr: int) -> dict[str, np.ndarray]:
    """One-shot drum sounds by name, drawn once per theme so every hit is identical (as on a chip)."""
    kick_n, snare_n, hat_n, tom_n, shaker_n, clank_n = (int(d * sr) for d in (0.18, 0.2, 0.06, 0.4, 0.1, 0.3))
    kick = pitch_drop(sr, 0.18, 170.0, 45.0, 0.025) * exponential_decay(kick_n, sr, 0.06)
    snare_rattle = held_noise(rng, snare_n, sr, 9000.0) * exponential_decay(snare_n, sr, 0.06)
    snare_body = pitch_drop(sr, 0.2, 240.0, 180.0, 0.02) * exponential_decay(snare_n, sr, 0.03)
    snare = 0.8 * snare_rattle + 0.4 * snare_body
    hat = 0.5 * held_noise(rng, hat_n, sr, 20000.0) * exponential_decay(hat_n, sr, 0.015, attack_s=0.001)
    tom = pitch_drop(sr, 0.4, 130.0, 70.0, 0.08) * exponential_decay(tom_n, sr, 0.12)
    shaker = 0.35 * held_noise(rng, shaker_n, sr, 16000.0) * exponential_decay(shaker_n, sr, 0.03, attack_s=0.012)
    # A short repeating noise table rings with a pitch: the metallic "clank".
    clank = 0.5 * held_noise(rng, clank_n, sr, 5000.0, period=31) * exponential_decay(clank_n, sr, 0.08)
    return {"kick": kick, "snare": snare, "hat": hat, "tom": tom, "shaker": shaker, "clank": clank}


def render_drums(hits: list[DrumHit], kit: dict[str, np.ndarray], step_samples: int, n_samples: int) -> np.ndarray:
    """Render (step, drum name, velocity) hits with `kit` into a looping mono buffer of `n_samples`."""
    events = [(step * step_samples, velocity * kit[drum]) for step, drum, velocity in hits]
    return mix_events(events, n_samples, wrap=True)
