"""Writing the demo's files: byte-identical audio for a seed, and the CSVs.

Audio is encoded in memory by :func:`songmap.io.atomic.encode_sound` (the
project's one block-wise libsndfile writer) and every file is written
atomically, so an interrupted run leaves old files or new ones, never half.
"""

from __future__ import annotations

import csv
import io
import pathlib
import zlib
from collections.abc import Sequence

import numpy as np
import soundfile as sf

from songmap.demo.instruments import PEAK_LEVEL
from songmap.io.atomic import atomic_write_bytes, atomic_write_text, encode_sound

#: No decoded file may peak above this.
MAX_PEAK = 0.9

#: libsndfile major format of each file extension the demo writes.
_MAJOR_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}

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


def write_audio(path: pathlib.Path, y: np.ndarray, sr: int, max_peak: float = MAX_PEAK) -> None:
    """Write float audio atomically; the format follows the extension.

    WAV and FLAC are 16-bit PCM, ``.ogg`` is Vorbis with a stream serial
    derived from the file name, so the same samples always give the same
    bytes.  Vorbis rings around the hard edges of pulse waves, so a lossy file
    can decode louder than its input: it is decoded once and, if it peaks
    above `max_peak`, encoded again from a copy scaled down to
    :data:`~songmap.demo.instruments.PEAK_LEVEL` (up to four tries).

    Parameters
    ----------
    path : pathlib.Path
        Target file, ``.wav``, ``.flac`` or ``.ogg``; its folder must exist.
    y : numpy.ndarray
        ``(n,)`` or ``(n, channels)`` samples in [-1, 1].
    sr : int
        Sample rate in Hz.
    max_peak : float, default MAX_PEAK
        Highest peak a decoded Ogg file may have.
    """
    major_format = _MAJOR_FORMATS[path.suffix.lower()]
    frames = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    for _ in range(4):
        encoded = encode_sound(frames, sr, fmt=major_format)
        if major_format != "OGG":
            break
        encoded = _with_ogg_serial(encoded, zlib.crc32(path.name.encode("utf-8")) & 0x7FFFFFFF)
        decoded_peak = float(np.max(np.abs(sf.read(io.BytesIO(encoded), dtype="float32")[0])))
        if decoded_peak <= max_peak:
            break
        frames = frames * np.float32(PEAK_LEVEL / decoded_peak)
    atomic_write_bytes(path, encoded)


def write_csv(path: pathlib.Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write a UTF-8 CSV file (``\\r\\n`` line ends) with a header row, atomically."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())
