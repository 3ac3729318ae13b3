"""Sounds that are not music: the storm bed of a "(Storm)" variant, and the sound effects.

Every sound effect is a function ``(rng, sr) -> mono samples`` of 0.1-1.5 s,
built from the oscillators and the noise channel of
:mod:`~songmap.demo.instruments`.
"""

from __future__ import annotations

import numpy as np

from songmap.demo.instruments import (
    exponential_decay,
    fade_edges,
    held_noise,
    normalise_peak,
    phase_from_frequency,
    pitch_drop,
    pulse_wave,
    triangle_wave,
)
from songmap.demo.theory import midi_to_hz

#: Level of the rain/wind bed of a "(Storm)" variant relative to the music RMS.
STORM_NOISE_DB = -12.0


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


def add_storm(music: np.ndarray, rng: np.random.Generator, sr: int, noise_db: float = STORM_NOISE_DB) -> np.ndarray:
    """Mix a storm bed under `music` and renormalise the peak.

    Parameters
    ----------
    music : numpy.ndarray
        ``(n,)`` or ``(n, channels)`` samples; every channel gets its own bed.
    rng : numpy.random.Generator
        Source of the weather.
    sr : int
        Sample rate in Hz.
    noise_db : float, default STORM_NOISE_DB
        Level of the bed relative to the RMS of `music`.

    Returns
    -------
    numpy.ndarray
        float32 samples of the shape of `music`.
    """
    columns = music.reshape(len(music), -1)
    bed = np.stack([_storm_bed(rng, len(columns), sr) for _ in range(columns.shape[1])], axis=1)
    target_rms = np.sqrt(np.mean(columns.astype(np.float64) ** 2)) * 10.0 ** (noise_db / 20.0)
    bed *= target_rms / np.sqrt(np.mean(bed**2))
    return normalise_peak((columns + bed).reshape(music.shape))


# ---------------------------------------------------------------------------
# Sound effects (mono, 0.1-1.5 s)
# ---------------------------------------------------------------------------


def _sweep(start_hz: float, end_hz: float, n_samples: int) -> np.ndarray:
    """Exponential (constant semitones per second) frequency glide."""
    return start_hz * (end_hz / start_hz) ** np.linspace(0.0, 1.0, n_samples)


def coin_blip(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Two quick pulse notes a fourth apart, the second ringing out."""
    n_samples = int(rng.uniform(0.3, 0.45) * sr)
    first_s = rng.uniform(0.05, 0.08)
    t = np.arange(n_samples) / sr
    first_hz = float(midi_to_hz(int(rng.integers(81, 86))))
    frequency = np.where(t < first_s, first_hz, first_hz * 2.0 ** (5 / 12))
    envelope = np.exp(-np.maximum(t - first_s, 0.0) / 0.1)
    return fade_edges(pulse_wave(phase_from_frequency(frequency, sr), 0.5) * envelope, sr)


def _laser(sr: int, duration_s: float, start_hz: float, end_hz: float, duty: float) -> np.ndarray:
    """Falling pulse sweep that fades as it falls."""
    n_samples = int(duration_s * sr)
    wave = pulse_wave(phase_from_frequency(_sweep(start_hz, end_hz, n_samples), sr), duty)
    return fade_edges(wave * np.linspace(1.0, 0.0, n_samples) ** 1.5, sr)


def laser_sweep(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A long laser: quarter-duty pulse falling about three octaves."""
    return _laser(sr, rng.uniform(0.25, 0.4), rng.uniform(1500.0, 2500.0), rng.uniform(150.0, 300.0), 0.25)


def laser_zap(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A short, thin laser: 12.5 % pulse falling about two octaves."""
    return _laser(sr, rng.uniform(0.12, 0.18), rng.uniform(2800.0, 3600.0), rng.uniform(500.0, 800.0), 0.125)


def jump(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Rising pulse sweep: the springy jump."""
    n_samples = int(rng.uniform(0.18, 0.3) * sr)
    start_hz = rng.uniform(250.0, 350.0)
    wave = pulse_wave(phase_from_frequency(_sweep(start_hz, 3.0 * start_hz, n_samples), sr), 0.25)
    return fade_edges(wave * np.linspace(1.0, 0.2, n_samples), sr)


def power_up(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Rising major arpeggio that climbs a semitone each pass."""
    tonic = int(rng.integers(60, 67))
    note_s = rng.uniform(0.035, 0.05)
    midis = [tonic + offset + lift for lift in range(4) for offset in (0, 4, 7, 12)]
    frequency = np.repeat(midi_to_hz(np.array(midis)), int(note_s * sr))
    wave = pulse_wave(phase_from_frequency(frequency, sr), 0.125)
    return fade_edges(wave * np.linspace(0.7, 1.0, len(wave)), sr)


def hurt(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Falling square with a noise crunch."""
    n_samples = int(rng.uniform(0.25, 0.35) * sr)
    tone = pulse_wave(phase_from_frequency(_sweep(rng.uniform(600.0, 800.0), 120.0, n_samples), sr), 0.5)
    crunch = held_noise(rng, n_samples, sr, 3000.0) * exponential_decay(n_samples, sr, 0.05)
    return fade_edges((0.7 * tone + 0.5 * crunch) * np.linspace(1.0, 0.0, n_samples), sr)


def menu_select(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Very short two-step blip."""
    n_samples = int(rng.uniform(0.11, 0.14) * sr)
    base_hz = rng.uniform(1100.0, 1400.0)
    frequency = np.where(np.arange(n_samples) < n_samples // 3, base_hz, 1.5 * base_hz)
    wave = pulse_wave(phase_from_frequency(frequency, sr), 0.5)
    return fade_edges(wave * exponential_decay(n_samples, sr, 0.05), sr)


def warp_pipe(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Repeated falling octave glides on the triangle: going down a pipe."""
    n_samples = int(rng.uniform(0.8, 1.0) * sr)
    t = np.arange(n_samples) / sr
    passes_per_s = rng.uniform(5.0, 7.0)
    frequency = rng.uniform(500.0, 700.0) * 2.0 ** (-np.mod(t * passes_per_s, 1.0))
    return fade_edges(triangle_wave(phase_from_frequency(frequency, sr)) * np.linspace(1.0, 0.4, n_samples), sr)


def _explosion(
    rng: np.random.Generator, sr: int, duration_s: float, start_clock_hz: float, end_clock_hz: float
) -> np.ndarray:
    """Noise whose clock falls (the noise darkens) plus a low thump."""
    n_samples = int(duration_s * sr)
    noise = held_noise(rng, n_samples, sr, _sweep(start_clock_hz, end_clock_hz, n_samples))
    thump = pitch_drop(sr, duration_s, 90.0, 30.0, 0.08) * exponential_decay(n_samples, sr, 0.15)
    body = noise * exponential_decay(n_samples, sr, duration_s / 4.0)
    return fade_edges(0.8 * body + 0.5 * thump, sr)


def small_explosion(rng: np.random.Generator, sr: int) -> np.ndarray:
    """About a second of bright, falling noise."""
    return _explosion(rng, sr, rng.uniform(0.8, 1.1), rng.uniform(6000.0, 9000.0), rng.uniform(250.0, 400.0))


def big_explosion(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A longer, darker explosion that rumbles down to a low clock."""
    return _explosion(rng, sr, rng.uniform(1.3, 1.45), rng.uniform(3000.0, 5000.0), rng.uniform(80.0, 150.0))
