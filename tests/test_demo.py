"""Tests of the synthetic demo soundtrack (songmap.demo).

The soundtrack is generated once per module (about 2 s); the tests check the
files against metadata.csv and pairs.csv, and that the structure the demo map
is supposed to reveal is really in the audio: themes loop, Storm variants are
their original plus a noise bed, and theme families are alike.
"""

from __future__ import annotations

import csv
import itertools
import pathlib

import numpy as np
import pytest
import soundfile as sf

from songmap.demo import synthesize_soundtrack
from songmap.demo.catalogue import THEMES

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
ALLOWED_RATES = {22050, 32000, 44100, 48000}


@pytest.fixture(scope="module")
def soundtrack(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, list[pathlib.Path]]:
    """Folder and returned paths of the seed-0 soundtrack, written once for the module."""
    folder = tmp_path_factory.mktemp("demo") / "soundtrack"
    return folder, synthesize_soundtrack(folder, seed=0)


def read_csv(path: pathlib.Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a UTF-8 CSV file."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def audio_files(folder: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in AUDIO_SUFFIXES)


def mono(path: pathlib.Path) -> tuple[np.ndarray, int]:
    """Decoded audio averaged to mono, float64, and its sample rate."""
    y, sr = sf.read(path, dtype="float64", always_2d=True)
    return y.mean(axis=1), sr


def similarity_at_lag(x: np.ndarray, lag: int) -> float:
    """Normalised correlation of x[:-lag] with x[lag:]; 1.0 when `x` repeats with period `lag`."""
    head, tail = x[:-lag], x[lag:]
    return float(head @ tail / np.sqrt((head @ head) * (tail @ tail) + 1e-12))


def best_loop(x: np.ndarray, sr: int, most_repeats: int = 12) -> tuple[float, float]:
    """(period in s, similarity) of the best split of `x` into 2..`most_repeats` equal loops.

    A theme is a whole number of passes through its loop, so its period
    divides its length exactly.
    """
    candidates = [len(x) // k for k in range(2, most_repeats + 1) if len(x) % k == 0 and len(x) // k >= sr]
    if not candidates:
        return 0.0, 0.0
    lag = max(candidates, key=lambda lag: similarity_at_lag(x, lag))
    return lag / sr, similarity_at_lag(x, lag)


def check_structure(folder: pathlib.Path, paths: list[pathlib.Path]) -> dict[str, dict[str, str]]:
    """Assert files, metadata and durations agree; return metadata rows by filename."""
    header, rows = read_csv(folder / "metadata.csv")
    assert header == ["filename", "category", "title"]
    by_name = {row["filename"]: row for row in rows}
    assert len(by_name) == len(rows), "duplicate filenames in metadata.csv"
    assert paths == sorted(paths)
    assert paths == audio_files(folder)
    assert sorted(folder / name for name in by_name) == paths
    assert 30 <= len(paths) <= 40
    for name, row in by_name.items():
        assert "\\" not in name
        assert row["category"] in {"soundscape", "soundeffect"}
        assert row["title"] and row["title"] == pathlib.PurePosixPath(name).stem
        info = sf.info(folder / name)
        if row["category"] == "soundscape":
            assert 15.0 <= info.duration <= 30.0, name
        elif name.startswith("jingles/"):
            assert 1.0 <= info.duration <= 4.0, name
        else:
            assert name.startswith("effects/")
            assert 0.1 <= info.duration <= 1.5, name
    return by_name


def test_files_match_metadata_and_durations(soundtrack):
    folder, paths = soundtrack
    rows = check_structure(folder, paths)
    categories = [row["category"] for row in rows.values()]
    assert categories.count("soundscape") >= 15
    assert categories.count("soundeffect") >= 12


def test_every_file_decodes_unclipped_and_audible(soundtrack):
    _, paths = soundtrack
    for path in paths:
        y, sr = sf.read(path, dtype="float32", always_2d=True)
        info = sf.info(path)
        assert (len(y), sr, y.shape[1]) == (info.frames, info.samplerate, info.channels), path
        assert np.all(np.isfinite(y))
        assert np.max(np.abs(y)) <= 0.9 + 1e-4, path
        assert np.sqrt(np.mean(y**2)) > 0.05, f"{path} is (nearly) silent"


def test_collection_mixes_formats_rates_channels_and_names(soundtrack):
    folder, paths = soundtrack
    infos = {p: sf.info(p) for p in paths}
    assert {(i.format, i.subtype) for i in infos.values()} == {("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")}
    rates = {i.samplerate for i in infos.values()}
    assert rates == ALLOWED_RATES
    assert {i.channels for i in infos.values()} == {1, 2}
    relative = [p.relative_to(folder).as_posix() for p in paths]
    assert any(not name.isascii() for name in relative)
    assert any("/" in name for name in relative)
    assert any(" " in pathlib.PurePosixPath(name).name for name in relative)
    # themes of every family come in more than one format, so format cannot stand in for family
    for family in {theme.family for theme in THEMES}:
        assert len({t.extension for t in THEMES if t.family == family}) >= 2


def test_themes_loop_bar_by_bar(soundtrack):
    folder, _ = soundtrack
    _, pairs = read_csv(folder / "pairs.csv")
    storm_variants = {row["b"] for row in pairs}
    _, rows = read_csv(folder / "metadata.csv")
    themes = [row["filename"] for row in rows if row["category"] == "soundscape" and row["filename"] not in storm_variants]
    assert len(themes) >= 12
    for name in themes:
        x, sr = mono(folder / name)
        period_s, similarity = best_loop(x, sr)
        lossless = not name.endswith(".ogg")
        assert similarity > (0.9999 if lossless else 0.98), (name, period_s, similarity)
        assert period_s >= 2.0, (name, period_s)


def test_pairs_name_storm_variants_of_existing_themes(soundtrack):
    folder, _ = soundtrack
    header, pairs = read_csv(folder / "pairs.csv")
    assert header == ["a", "b", "kind"]
    _, rows = read_csv(folder / "metadata.csv")
    titles = {row["filename"]: row["title"] for row in rows}
    assert len(pairs) == 3
    for pair in pairs:
        assert pair["kind"] == "storm"
        assert titles[pair["b"]] == titles[pair["a"]] + " (Storm)"
        a, b = sf.info(folder / pair["a"]), sf.info(folder / pair["b"])
        assert (a.frames, a.samplerate, a.channels) == (b.frames, b.samplerate, b.channels)


def test_storm_variant_is_original_plus_a_noise_bed(soundtrack):
    folder, _ = soundtrack
    _, pairs = read_csv(folder / "pairs.csv")
    for pair in pairs:
        original, sr = mono(folder / pair["a"])
        storm, _ = mono(folder / pair["b"])
        assert np.corrcoef(original, storm)[0, 1] > 0.9
        gain = (original @ storm) / (original @ original)  # both files are peak-normalised separately
        bed = storm - gain * original
        bed_db = 10 * np.log10(np.mean(bed**2) / np.mean((gain * original) ** 2))
        assert -18.0 < bed_db < -9.0, (pair["b"], bed_db)  # about -12 dB, less after folding stereo to mono
        assert abs(np.corrcoef(bed, original)[0, 1]) < 0.05
        # the music loops, the weather does not
        period_s, music_similarity = best_loop(original, sr)
        bed_similarity = similarity_at_lag(bed, round(period_s * sr))
        assert music_similarity > 0.98 and abs(bed_similarity) < 0.3, (music_similarity, bed_similarity)
        # brown + pink noise: far more energy low than high, but broadband
        n_fft = 1 << (len(bed) - 1).bit_length()
        power = np.abs(np.fft.rfft(bed, n_fft)) ** 2
        freqs = np.fft.rfftfreq(n_fft, 1 / sr)
        low, high = power[(freqs > 50) & (freqs < 500)].mean(), power[(freqs > 4000) & (freqs < 8000)].mean()
        assert 10 < low / high < 1e6


def theme_features(path: pathlib.Path) -> np.ndarray:
    """Coarse timbre and rhythm statistics: log band energies (mean, spread) and onset strength."""
    x, sr = mono(path)
    n_fft, hop = 2048, 1024
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    edges = np.geomspace(60, 5000, 13)  # below every file's bandwidth, so the sample rate does not show
    bands = np.log(np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in itertools.pairwise(edges)], 1) + 1e-9)
    onset_strength = np.maximum(np.diff(bands, axis=0), 0).sum(1).mean()
    return np.concatenate([bands.mean(0) - bands.mean(), bands.std(0), [np.log(onset_strength + 1e-9)]])


def test_theme_families_are_alike_within_and_apart_between(soundtrack):
    folder, _ = soundtrack
    families = np.array([theme.family for theme in THEMES])
    features = np.stack([theme_features(folder / (t.title + t.extension)) for t in THEMES])
    features = (features - features.mean(0)) / (features.std(0) + 1e-12)
    distance = np.sqrt(((features[:, None] - features[None]) ** 2).sum(-1))
    not_self = ~np.eye(len(families), dtype=bool)
    for family in np.unique(families):
        member = families == family
        within = distance[member[:, None] & member[None] & not_self].mean()
        between = distance[member[:, None] & ~member[None]].mean()
        assert within < 0.85 * between, (family, within, between)
    np.fill_diagonal(distance, np.inf)
    assert np.mean(families[distance.argmin(1)] == families) >= 0.7


def test_ogg_pages_have_a_fixed_serial_and_valid_checksums(soundtrack):
    folder, _ = soundtrack

    def reference_crc(page: bytes) -> int:  # Ogg's CRC-32, bit by bit
        crc = 0
        for byte in page:
            crc ^= byte << 24
            for _ in range(8):
                crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
                crc &= 0xFFFFFFFF
        return crc

    smallest = min(folder.rglob("*.ogg"), key=lambda p: p.stat().st_size)
    data, position, serials = smallest.read_bytes(), 0, set()
    while position < len(data):
        assert data[position : position + 4] == b"OggS"
        n_segments = data[position + 26]
        end = position + 27 + n_segments + sum(data[position + 27 : position + 27 + n_segments])
        page = bytearray(data[position:end])
        stored = int.from_bytes(page[22:26], "little")
        page[22:26] = bytes(4)
        assert stored == reference_crc(page)
        serials.add(bytes(page[14:18]))
        position = end
    assert len(serials) == 1


def test_same_seed_rewrites_identical_bytes_and_touches_nothing_else(soundtrack, tmp_path):
    folder, paths = soundtrack
    outside = tmp_path / "outside.txt"
    outside.write_text("not the demo's")
    again = tmp_path / "again"
    (again / "effects").mkdir(parents=True)
    users_file = again / "effects" / "my notes.txt"
    users_file.write_text("keep me")
    stale = again / "Black Mist.ogg"
    stale.write_bytes(b"stale bytes from an older run")

    again_paths = synthesize_soundtrack(again, seed=0)

    assert [p.relative_to(again) for p in again_paths] == [p.relative_to(folder) for p in paths]
    for name in [p.relative_to(folder) for p in paths] + ["metadata.csv", "pairs.csv"]:
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name
    assert users_file.read_text() == "keep me"
    assert outside.read_text() == "not the demo's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "outside.txt"]


def test_other_seed_gives_different_audio_with_the_same_structure(soundtrack, tmp_path):
    folder, paths = soundtrack
    other_paths = synthesize_soundtrack(tmp_path / "other", seed=1)
    check_structure(tmp_path / "other", other_paths)
    assert (tmp_path / "other" / "metadata.csv").read_bytes() == (folder / "metadata.csv").read_bytes()
    assert (tmp_path / "other" / "pairs.csv").read_bytes() == (folder / "pairs.csv").read_bytes()
    for path, other in zip(paths, other_paths):
        assert path.relative_to(folder) == other.relative_to(tmp_path / "other")
        a, _ = mono(path)
        b, _ = mono(other)
        n = min(len(a), len(b))
        assert len(a) != len(b) or not np.allclose(a[:n], b[:n], atol=1e-3), path.name
