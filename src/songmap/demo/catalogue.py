"""What the demo soundtrack contains: the theme families, the themes, the jingles and the sound effects.

Formats, sample rates and channel counts cut across families on purpose, so a
map that groups the families is grouping music, not file properties.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from songmap.demo import effects
from songmap.demo.arrangement import FamilyStyle, Jingle, render_jingle
from songmap.demo.instruments import Voice
from songmap.demo.theory import (
    DORIAN,
    HARMONIC_MINOR,
    LYDIAN,
    MAJOR,
    MIXOLYDIAN,
    NATURAL_MINOR,
    PHRYGIAN,
)

#: The four theme families, by the name a :class:`Theme` gives as its ``family``.
FAMILY_STYLES = {
    # Slow, major/lydian, soft 50 % pulses, chorus pads, hardly any percussion.
    "calm": FamilyStyle(
        bpm_range=(68.0, 90.0),
        meters=(4, 3),
        modes=(MAJOR, LYDIAN),
        tonic_range=(62, 69),
        progressions=((0, 3, 5, 4), (0, 5, 3, 4), (0, 4, 5, 3), (3, 4, 2, 5)),
        lead=Voice(
            attack_s=0.06, decay_s=0.8, sustain=0.6, release_s=0.35, gate=0.95, vibrato_hz=5.0, vibrato_cents=18.0
        ),
        lead_duties=(0.5, 0.25),
        lead_lengths=(4, 6, 8, 12),
        lead_rest_probability=0.3,
        accompaniment="arpeggio",
        accompaniment_voice=Voice(attack_s=0.01, decay_s=0.3, sustain=0.2, release_s=0.15, gate=0.8),
        arpeggio_step=2,
        arpeggio_shapes=((0, 1, 2, 3), (0, 2, 1, 3), (0, 1, 2, 1)),
        bass=Voice(waveform="triangle", attack_s=0.02, decay_s=0.5, sustain=0.7, release_s=0.2),
        bass_patterns=("whole", "half"),
        bass_octave=2,
        drum_styles=("shaker", "none"),
        pad=Voice(attack_s=0.6, decay_s=1.0, sustain=0.8, release_s=0.9, gate=1.0, detune_cents=9.0),
        sevenths=True,
    ),
    # Fast, bright 12.5/25 % leads, sixteenth-note arpeggios, driving bass and drums.
    "action": FamilyStyle(
        bpm_range=(138.0, 170.0),
        meters=(4,),
        modes=(MAJOR, MIXOLYDIAN, DORIAN),
        tonic_range=(64, 72),
        progressions=((0, 4, 5, 3), (0, 6, 3, 0), (5, 3, 0, 4), (0, 3, 4, 4)),
        lead=Voice(
            attack_s=0.003, decay_s=0.12, sustain=0.55, release_s=0.03, gate=0.85, vibrato_hz=6.0, vibrato_cents=10.0
        ),
        lead_duties=(0.125, 0.25),
        lead_lengths=(1, 2, 2, 2, 3, 4),
        lead_rest_probability=0.12,
        accompaniment="arpeggio",
        accompaniment_voice=Voice(duty=0.25, attack_s=0.002, decay_s=0.06, sustain=0.3, release_s=0.02, gate=0.7),
        arpeggio_step=1,
        arpeggio_shapes=((0, 1, 2, 3), (0, 2, 1, 2), (3, 2, 1, 0)),
        bass=Voice(waveform="triangle", attack_s=0.002, decay_s=0.1, sustain=0.8, release_s=0.01, gate=0.8),
        bass_patterns=("octave_eighths", "driving_eighths"),
        bass_octave=2,
        drum_styles=("rock",),
    ),
    # Minor/phrygian, low register, slow ostinato bass, toms and clanks, no hats.
    "dungeon": FamilyStyle(
        bpm_range=(72.0, 100.0),
        meters=(4, 3),
        modes=(NATURAL_MINOR, HARMONIC_MINOR, PHRYGIAN),
        tonic_range=(55, 62),
        progressions=((0, 5, 6, 0), (0, 3, 4, 0), (0, 1, 0, 4), (0, 5, 3, 4)),
        lead=Voice(
            duty=0.25, attack_s=0.01, decay_s=0.4, sustain=0.5, release_s=0.2, gate=0.9, vibrato_hz=4.0, vibrato_cents=25.0
        ),
        lead_duties=(0.25, 0.5),
        lead_lengths=(2, 4, 4, 6, 8),
        lead_rest_probability=0.25,
        accompaniment="arpeggio",
        accompaniment_voice=Voice(duty=0.125, attack_s=0.005, decay_s=0.2, sustain=0.1, release_s=0.1, gate=0.6),
        arpeggio_step=2,
        arpeggio_shapes=((0, 1, 2, 1), (0, 2, 0, 1), (2, 1, 0, 1)),
        bass=Voice(waveform="triangle", attack_s=0.01, decay_s=0.3, sustain=0.7, release_s=0.1, gate=0.9),
        bass_patterns=("ostinato", "pedal"),
        bass_octave=1,
        drum_styles=("dirge",),
        drone=Voice(
            duty=0.5, attack_s=0.4, decay_s=2.0, sustain=0.9, release_s=0.3, gate=1.0, vibrato_hz=0.3, vibrato_cents=8.0
        ),
        echo_steps=3,  # dotted eighth: the stone-hall echo of the family
        echo_feedback=0.45,
    ),
    # Mid tempo, bouncy: oom-pah bass, offbeat chord stabs, light hats.
    "town": FamilyStyle(
        bpm_range=(100.0, 126.0),
        meters=(4, 3),
        modes=(MAJOR, MIXOLYDIAN),
        tonic_range=(62, 70),
        progressions=((0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4)),
        lead=Voice(attack_s=0.005, decay_s=0.2, sustain=0.45, release_s=0.06, gate=0.75),
        lead_duties=(0.5, 0.25),
        lead_lengths=(2, 2, 4, 1, 3),
        lead_rest_probability=0.15,
        accompaniment="stabs",
        accompaniment_voice=Voice(duty=0.125, attack_s=0.002, decay_s=0.08, sustain=0.2, release_s=0.03, gate=0.5),
        arpeggio_step=4,
        arpeggio_shapes=((0, 1, 2),),
        bass=Voice(waveform="triangle", attack_s=0.003, decay_s=0.15, sustain=0.6, release_s=0.03, gate=0.6),
        bass_patterns=("oompah",),
        bass_octave=2,
        drum_styles=("bounce",),
    ),
}


# Jingle scores: lead and bass as (step, length, scale degree).
_VICTORY_FANFARE = Jingle(
    MAJOR, (132.0, 150.0), 0.5,
    lead=((0, 1, 4), (1, 1, 4), (2, 1, 4), (3, 4, 7), (7, 2, 5), (9, 2, 6), (11, 10, 7)),
    bass=((0, 3, -3), (3, 4, -7), (7, 4, -4), (11, 10, -7)),
    harmony=True,
)
_GAME_OVER = Jingle(
    NATURAL_MINOR, (70.0, 82.0), 0.25,
    lead=((0, 2, 7), (2, 2, 4), (4, 2, 2), (6, 2, 1), (8, 2, -1), (10, 6, 0)),
    bass=((0, 4, -7), (4, 4, -10), (8, 8, -7)),
)
_LEVEL_UP = Jingle(
    MAJOR, (150.0, 170.0), 0.125,
    lead=((0, 1, 0), (1, 1, 2), (2, 1, 4), (3, 1, 7), (4, 1, 9), (5, 1, 11), (6, 1, 14), (7, 6, 14)),
    bass=((0, 7, -7), (7, 6, -7)),
)
_STAGE_CLEAR = Jingle(
    MAJOR, (120.0, 136.0), 0.25,
    lead=tuple((i, 1, i) for i in range(8)) + ((8, 2, 4), (10, 2, 7), (12, 8, 7)),
    bass=((0, 8, -7), (8, 4, -3), (12, 8, -7)),
    harmony=True,
)
_ITEM_GET = Jingle(
    MIXOLYDIAN, (110.0, 128.0), 0.5,
    lead=((0, 2, 0), (2, 2, 2), (4, 2, 4), (6, 2, 7)) + tuple((8 + i, 1, 7 + i % 2) for i in range(6)) + ((14, 4, 7),),
    bass=((0, 8, -7), (8, 10, -4)),
)
_CHECKPOINT = Jingle(
    DORIAN, (138.0, 150.0), 0.25,
    lead=((0, 1, 4), (1, 3, 7), (4, 1, 5), (5, 3, 8), (8, 1, 6), (9, 6, 9)),
    bass=((0, 4, -7), (4, 4, -6), (8, 7, -5)),
)


class Theme(NamedTuple):
    """A looping theme (category ``soundscape``) and how it is stored."""

    title: str
    family: str  # a key of FAMILY_STYLES
    extension: str
    samplerate: int
    channels: int
    with_storm: bool = False  # also write a "(Storm)" variant


class Cue(NamedTuple):
    """A jingle or sound effect (category ``soundeffect``) and how it is stored."""

    title: str
    subfolder: str
    synthesize: Callable[[np.random.Generator, int], np.ndarray]  # (rng, sr) -> mono samples
    extension: str
    samplerate: int
    channels: int


#: The looping themes (three or four per family); those `with_storm` also get a "(Storm)" variant.
THEMES = (
    Theme("Moonlit Meadow", "calm", ".ogg", 32000, 2, with_storm=True),
    Theme("Café Theme", "calm", ".flac", 32000, 2),
    Theme("Quiet Harbor", "calm", ".wav", 22050, 1),
    Theme("Starlight Lullaby", "calm", ".ogg", 48000, 1),
    Theme("Turbo Chase", "action", ".flac", 44100, 2, with_storm=True),
    Theme("Sky Fortress", "action", ".ogg", 32000, 1),
    Theme("Boss Rush", "action", ".wav", 32000, 1),
    Theme("Neon Runner", "action", ".ogg", 22050, 2),
    Theme("Black Mist", "dungeon", ".ogg", 22050, 2, with_storm=True),
    Theme("Über Dungeon", "dungeon", ".wav", 22050, 1),
    Theme("Crypt of Echoes", "dungeon", ".flac", 44100, 1),
    Theme("Sunken Catacombs", "dungeon", ".ogg", 22050, 1),
    Theme("Market Square", "town", ".flac", 48000, 1),
    Theme("Windmill Village", "town", ".ogg", 32000, 1),
    Theme("Harvest Festival", "town", ".wav", 44100, 1),
)

#: The jingles (``jingles/``) and sound effects (``effects/``).
CUES = (
    Cue("Victory Fanfare", "jingles", functools.partial(render_jingle, _VICTORY_FANFARE), ".ogg", 44100, 2),
    Cue("Game Over", "jingles", functools.partial(render_jingle, _GAME_OVER), ".wav", 22050, 1),
    Cue("Level Up", "jingles", functools.partial(render_jingle, _LEVEL_UP), ".flac", 32000, 1),
    Cue("Stage Clear", "jingles", functools.partial(render_jingle, _STAGE_CLEAR), ".wav", 48000, 2),
    Cue("Item Get", "jingles", functools.partial(render_jingle, _ITEM_GET), ".ogg", 22050, 1),
    Cue("Checkpoint", "jingles", functools.partial(render_jingle, _CHECKPOINT), ".flac", 44100, 2),
    Cue("Coin Blip", "effects", effects.coin_blip, ".wav", 22050, 1),
    Cue("Laser Sweep", "effects", effects.laser_sweep, ".wav", 44100, 1),
    Cue("Laser Zap", "effects", effects.laser_zap, ".ogg", 32000, 1),
    Cue("Jump", "effects", effects.jump, ".wav", 32000, 1),
    Cue("Power Up", "effects", effects.power_up, ".flac", 22050, 1),
    Cue("Hurt", "effects", effects.hurt, ".wav", 48000, 2),
    Cue("Menu Select", "effects", effects.menu_select, ".wav", 44100, 1),
    Cue("Warp Pipe", "effects", effects.warp_pipe, ".ogg", 44100, 2),
    Cue("Explosion", "effects", effects.small_explosion, ".flac", 44100, 1),
    Cue("Big Explosion", "effects", effects.big_explosion, ".ogg", 48000, 2),
)
