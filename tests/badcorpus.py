"""A messy music folder generated on the fly (no committed binaries) and what songmap must do with each file.

:func:`build_corpus` writes the folder and returns the expected outcome of every
entry: ``("mapped", None)`` or ``("skipped", reason_substring)``. Cases that
need something of the machine (an MP3 encoder, non-UTF-8 file names, FIFOs,
symbolic links) are left out with the reason in ``notes`` when it lacks it.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from conftest import noise_burst, tone, write_audio

MAPPED = "mapped"
SKIPPED = "skipped"


@dataclass
class Corpus:
    root: Path
    #: relative path (as it appears in embeddings.json) -> (MAPPED, None) or (SKIPPED, reason substring)
    expected: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    #: relative paths that must appear nowhere (hidden files, folder links, folders named like audio)
    invisible: list[str] = field(default_factory=list)
    #: cases left out on this machine, with why
    notes: list[str] = field(default_factory=list)

    def mapped(self, rel: str) -> None:
        self.expected[rel] = (MAPPED, None)

    def skipped(self, rel: str, reason: str) -> None:
        self.expected[rel] = (SKIPPED, reason)


def _wav_bytes(y: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, y, sample_rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def _ogg(y: np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", sample_rate, 1, format="OGG", subtype="VORBIS") as f:
        for start in range(0, len(y), 16384):  # libsndfile 1.2.2 crashes on one large OGG write
            f.write(y[start : start + 16384])
    return buffer.getvalue()


def _textured(seconds: float, sample_rate: int, freq: float, seed: int) -> np.ndarray:
    """A tone with a noise bed: enough content that half an encoded file still holds audio."""
    return (tone(freq, seconds, sample_rate) + 0.05 * noise_burst(seconds, sample_rate, seed)).astype(np.float32)


def build_corpus(root: Path) -> Corpus:
    """Write the bad-input corpus into ``root`` (created)."""
    c = Corpus(root)
    root.mkdir(parents=True)

    # --- ordinary tracks, so that there is a map to put the odd ones on
    write_audio(root / "Low Drone.wav", tone(110, 3.0), 22050)
    write_audio(root / "Mid Hum.flac", tone(220, 2.5, 44100, harmonics=5), 44100)
    write_audio(root / "effects/Boom.wav", noise_burst(0.6, 22050, seed=1), 22050)
    write_audio(root / "Bright.ogg", tone(1320, 2.0, 32000, harmonics=2), 32000)
    for rel in ("Low Drone.wav", "Mid Hum.flac", "effects/Boom.wav", "Bright.ogg"):
        c.mapped(rel)

    # --- formats and shapes real libraries have
    write_audio(root / "hi-res 96k 24-bit.flac", np.stack([tone(440, 2.0, 96000), tone(445, 2.0, 96000)], 1), 96000,
                fmt="FLAC", subtype="PCM_24")
    c.mapped("hi-res 96k 24-bit.flac")
    write_audio(root / "voice memo 8k.wav", _textured(2.5, 8000, 300, seed=3), 8000)
    c.mapped("voice memo 8k.wav")
    write_audio(root / "surround 5.1.wav", np.stack([tone(200 + 50 * k, 2.0, 48000) for k in range(6)], 1), 48000)
    c.mapped("surround 5.1.wav")
    loop = tone(220, 3.0, 8000)  # a 12-minute mix: a 3 s loop tiled 240 times, written in blocks
    with sf.SoundFile(str(root / "long mix 12 min.ogg"), "w", 8000, 1, format="OGG", subtype="VORBIS") as f:
        for _ in range(240):
            f.write(loop)
    c.mapped("long mix 12 min.ogg")
    write_audio(root / "SHOUTING.WAV", tone(660, 1.5), 22050)
    c.mapped("SHOUTING.WAV")
    quiet = tone(110, 3.0)
    write_audio(root / "Low Drone quiet.wav", quiet * 10 ** (-60 / 20), 22050, subtype="FLOAT")  # -66 dBFS peak
    c.mapped("Low Drone quiet.wav")

    # --- names: spaces, quotes, emoji, right-to-left text, URL-special characters
    for i, name in enumerate([
        "It's a \"quoted\" name.wav",
        "emoji 🎵🔥 track.wav",
        "שיר עברי.wav",
        "أغنية عربية.ogg",
        "  leading and trailing spaces  .wav",
        "100% #1 ?&=.wav",
    ]):
        write_audio(root / "names" / name, tone(300 + 90 * i, 1.2, 22050, seed=i), 22050)
        c.mapped(f"names/{name}")

    # --- extensions that lie
    (root / "really a flac.mp3").write_bytes(Path(write_audio(root / "tmp.flac", tone(500, 1.5), 22050)).read_bytes())
    (root / "tmp.flac").unlink()
    c.mapped("really a flac.mp3")
    (root / "recording.dat").write_bytes(_wav_bytes(tone(700, 1.5), 22050))  # found by content
    c.mapped("recording.dat")
    (root / "notes.mp3").write_text("these are my lyrics, not audio\n", encoding="utf-8")
    c.skipped("notes.mp3", "not decodable audio")
    (root / "cover.jpg.wav").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8)
    c.skipped("cover.jpg.wav", "not decodable audio")

    # --- empty, broken and truncated files
    (root / "empty.mp3").write_bytes(b"")
    c.skipped("empty.mp3", "empty file (0 bytes)")
    good = _wav_bytes(tone(880, 1.0), 22050)
    broken = bytearray(good)
    broken[20:22] = b"\x99\x99"  # fmt chunk: an audio format code that does not exist
    (root / "broken header.wav").write_bytes(bytes(broken))
    c.skipped("broken header.wav", "not decodable audio")
    (root / "header only.wav").write_bytes(good[:44])
    c.skipped("header only.wav", "empty: no audio samples")
    (root / "riff junk.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    c.skipped("riff junk.wav", "not decodable audio")
    (root / "truncated.wav").write_bytes(good[: len(good) // 2])  # header says 1 s, half is there
    c.mapped("truncated.wav")
    ogg = _ogg(_textured(10.0, 22050, 440, seed=4), 22050)
    (root / "downloads/half a download.ogg").parent.mkdir(parents=True, exist_ok=True)
    (root / "downloads/half a download.ogg").write_bytes(ogg[: len(ogg) // 2])
    c.mapped("downloads/half a download.ogg")
    (root / "downloads/cut in the header.ogg").write_bytes(ogg[:200])
    c.skipped("downloads/cut in the header.ogg", "not decodable audio")
    if "MP3" in sf.available_formats():
        buffer = io.BytesIO()
        sf.write(buffer, _textured(6.0, 22050, 550, seed=5), 22050, format="MP3")
        mp3 = buffer.getvalue()
        (root / "downloads/half a download.mp3").write_bytes(mp3[: len(mp3) // 2])
        c.mapped("downloads/half a download.mp3")
    else:
        c.notes.append("truncated mp3: this libsndfile has no MP3 encoder")

    # --- sample values: NaN/inf, silence, near silence, too short
    y = tone(330, 1.5)
    y[1000:1500] = np.nan
    y[2000] = np.inf
    y[3000] = -np.inf
    write_audio(root / "nan and inf.wav", y, 22050, subtype="FLOAT")
    c.mapped("nan and inf.wav")
    write_audio(root / "all nan.wav", np.full(4000, np.nan, np.float32), 22050, subtype="FLOAT")
    c.skipped("all nan.wav", "no usable samples: every sample is NaN or infinite")
    write_audio(root / "silence.wav", np.zeros(22050, np.float32), 22050)
    c.skipped("silence.wav", "silent: every sample is zero")
    write_audio(root / "near silence.flac", tone(440, 1.0, 48000) * 10 ** (-110 / 20), 48000, fmt="FLAC",
                subtype="PCM_24")
    c.skipped("near silence.flac", "silent: peak level")
    write_audio(root / "click.wav", np.array([0.5], np.float32), 96000)
    c.skipped("click.wav", "too short")

    # --- things that are not plain files
    (root / "album.wav").mkdir()  # a folder named like an audio file: walked as a folder
    write_audio(root / "album.wav" / "inside.wav", tone(150, 2.0), 22050)
    c.mapped("album.wav/inside.wav")
    c.invisible.append("album.wav")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 64)
    (root / "._Low Drone.wav").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 60)  # macOS AppleDouble junk
    c.invisible += [".DS_Store", "._Low Drone.wav"]
    if hasattr(os, "symlink") and sys.platform != "win32":
        os.symlink("..", root / "effects" / "loop")  # a folder link back to its parent
        c.invisible.append("effects/loop")
        os.symlink("Low Drone.wav", root / "link to Low Drone.wav")
        c.mapped("link to Low Drone.wav")
        os.symlink("gone.wav", root / "dangling.wav")
        c.skipped("dangling.wav", "broken symbolic link")
        os.symlink("self loop.wav", root / "self loop.wav")
        c.skipped("self loop.wav", "symbolic link loop")
    else:
        c.notes.append("symbolic links: not available here")
    if sys.platform.startswith("linux"):
        # A name that is not UTF-8 (latin-1 bytes from an old zip): kept exactly, shown with a replacement character.
        with open(os.fsencode(root) + b"/caf\xe9 latin-1.wav", "wb") as f:
            f.write(_wav_bytes(tone(250, 1.5), 22050))
        c.mapped(os.fsdecode(b"caf\xe9 latin-1.wav"))
    else:
        c.notes.append("non-UTF-8 file name: only Linux file systems store arbitrary bytes")
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "named pipe.wav")  # opening it would block forever
        c.skipped("named pipe.wav", "not a regular file")
    else:
        c.notes.append("named pipe: os.mkfifo not available here")
    return c
