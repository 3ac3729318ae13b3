"""The copy benchmark: per-kind pair ranks (quality, compare) and benchmarks/make_copies.py."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from songmap.app.cli import app
from songmap.app.jobs import SongMapper, compare_folder
from songmap.evaluation.quality import pair_kind_summary, pair_ranks
from songmap.io.decode import decode
from songmap.io.tables import read_pairs

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]

# -- per-kind statistics ----------------------------------------------------------------------------

# Six points on a line: A=0, B=1, C=3, D=10, E=10.5, F=20.
LINE = np.array([[0.0, 0], [1, 0], [3, 0], [10, 0], [10.5, 0], [20, 0]])
LINE_FILES = ["A.wav", "B.wav", "C.wav", "D.wav", "E.wav", "F.wav"]
LINE_PAIRS = [
    {"a": "A.wav", "b": "B.wav", "kind": "k1"},  # A→B: B nearest (1); B→A: A at 1, C at 2 (1)
    {"a": "A.wav", "b": "C.wav", "kind": "k1"},  # A→C: B closer (2); C→A: B at 2 closer than A at 3 (2)
    {"a": "D.wav", "b": "F.wav", "kind": "k2"},  # D→F: E, C, B closer, A ties at 10 (4); F→D: E closer (2)
    {"a": "E.wav", "b": "D.wav", "kind": ""},  # mutual nearest (1, 1), no kind
    {"a": "A.wav", "b": "missing.wav", "kind": "k2"},  # not on the map: left out
]


def test_pair_ranks_by_hand_on_a_line() -> None:
    ranks = pair_ranks(LINE_FILES, LINE, LINE_PAIRS)
    assert [(r["a"], r["b"], r["kind"], r["rank_a_to_b"], r["rank_b_to_a"]) for r in ranks] == [
        ("A.wav", "B.wav", "k1", 1, 1),
        ("A.wav", "C.wav", "k1", 2, 2),
        ("D.wav", "F.wav", "k2", 4, 2),
        ("E.wav", "D.wav", None, 1, 1),
    ]


def test_pair_kind_summary_by_hand() -> None:
    summary = pair_kind_summary(pair_ranks(LINE_FILES, LINE, LINE_PAIRS))
    assert list(summary) == ["k1", "k2", "pair"]  # order of first appearance; no kind → "pair"
    assert summary["k1"] == {
        "n_pairs": 2, "median_rank_a_to_b": 1.5, "median_rank_b_to_a": 1.5, "median_rank": 1.5,
        "share_rank_1": 0.5, "share_rank_le_5": 1.0, "worst_rank": 2,
    }
    assert summary["k2"] == {
        "n_pairs": 1, "median_rank_a_to_b": 4.0, "median_rank_b_to_a": 2.0, "median_rank": 3.0,
        "share_rank_1": 0.0, "share_rank_le_5": 1.0, "worst_rank": 4,
    }
    assert summary["pair"]["share_rank_1"] == 1.0 and summary["pair"]["worst_rank"] == 1


def test_pair_kind_summary_counts_ranks_beyond_five() -> None:
    # Ten points 0..9 on a line: the two ends are each other's farthest (rank 9 both ways);
    # 0 and 2 are 2nd (0→2: 1 closer) and 3rd (2→0: 1 and 3 closer, 0 ties 4 and wins the tie).
    line = np.c_[np.arange(10.0), np.zeros(10)]
    files = [f"{i}.wav" for i in range(10)]
    pairs = [{"a": "0.wav", "b": "9.wav", "kind": "far"}, {"a": "0.wav", "b": "2.wav", "kind": "far"}]
    far = pair_kind_summary(pair_ranks(files, line, pairs))["far"]
    assert far["worst_rank"] == 9 and far["share_rank_le_5"] == 0.5 and far["share_rank_1"] == 0.0
    assert far["median_rank_a_to_b"] == 5.5 and far["median_rank_b_to_a"] == 6.0 and far["median_rank"] == 6.0


def test_pair_ranks_can_ignore_a_songs_other_copies() -> None:
    # An original O at 0 with three copies P=1, Q=1.5, R=5, and one other song X=2.
    points = np.array([[0.0, 0], [1, 0], [1.5, 0], [2, 0], [5, 0]])
    files = ["O.wav", "P.wav", "Q.wav", "X.wav", "R.wav"]
    pairs = [{"a": "O.wav", "b": name, "kind": "copy"} for name in ("P.wav", "Q.wav", "R.wav")]
    raw = [(r["rank_a_to_b"], r["rank_b_to_a"]) for r in pair_ranks(files, points, pairs)]
    # O→Q: P closer; Q→O: P and X closer; O→R: P, Q, X closer; R→O: X, Q, P closer; P→O: Q closer (X ties).
    assert raw == [(1, 2), (2, 3), (4, 4)]
    apart = [(r["rank_a_to_b"], r["rank_b_to_a"]) for r in pair_ranks(files, points, pairs, ignore_copies=True)]
    # Only X counts: it is closer to Q (0.5 < 1.5), to O than R is (2 < 5) and to R than O is (3 < 5).
    assert apart == [(1, 1), (1, 2), (2, 2)]


def test_pair_ranks_work_in_many_dimensions() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(30, 200))
    features[7] = features[3] + 0.01  # 7 is a near-copy of 3
    files = [f"t{i}.wav" for i in range(30)]
    (entry,) = pair_ranks(files, features, [{"a": "t3.wav", "b": "t7.wav", "kind": "copy"}])
    assert (entry["rank_a_to_b"], entry["rank_b_to_a"]) == (1, 1)
    # The rank of t0 among t5's neighbours, counted independently.
    distances = np.linalg.norm(features - features[5], axis=1)
    expected = 1 + sum(1 for i in range(30) if i not in (0, 5) and distances[i] < distances[0])
    (entry,) = pair_ranks(files, features, [{"a": "t5.wav", "b": "t0.wav"}])
    assert entry["rank_a_to_b"] == expected


# -- compare reports them ---------------------------------------------------------------------------


def _ranks_by_hand(points: np.ndarray, i: int, j: int) -> int:
    distances = np.linalg.norm(points - points[i], axis=1)
    return 1 + sum(1 for k in range(len(points)) if k != i and distances[k] < distances[j])


def test_compare_reports_pair_ranks_per_kind(families: Path, tmp_path: Path) -> None:
    pairs_csv = tmp_path / "pairs.csv"
    pairs_csv.write_text(
        "a,b,kind\ndrone 1.wav,drone 1 (Storm).wav,storm\ndrone 0.wav,drone 2.wav,family\n"
        "arp 0.wav,arp 1.wav,family\ndrums 0.wav,arp 2.wav,\n",
        encoding="utf-8",
    )
    result = compare_folder(families, tmp_path / "c", SongMapper(epochs=1, seed=0), ["pca"], pairs_path=pairs_csv)
    doc = json.loads((tmp_path / "c" / "quality.json").read_text(encoding="utf-8"))
    assert list(doc["pair_kinds"]) == ["features", "pca"]
    files = [t["file"] for t in doc["tracks"]]
    spaces = {
        "pca": np.array([t["pca"] for t in doc["tracks"]]),
        "features": result.mapper.features_for([families / f for f in files]),
    }
    for space, points in spaces.items():
        kinds = doc["pair_kinds"][space]
        assert list(kinds) == ["storm", "family", "pair"]
        assert kinds["family"]["n_pairs"] == 2 and kinds["storm"]["n_pairs"] == 1
        ranks = {
            kind: [
                (_ranks_by_hand(points, files.index(p["a"]), files.index(p["b"])),
                 _ranks_by_hand(points, files.index(p["b"]), files.index(p["a"])))
                for p in read_pairs(pairs_csv) if (p["kind"] or "pair") == kind
            ]
            for kind in kinds
        }
        for kind, found in ranks.items():
            both = [r for pair in found for r in pair]
            assert kinds[kind]["worst_rank"] == max(both), (space, kind)
            assert kinds[kind]["share_rank_1"] == pytest.approx(both.count(1) / len(both), abs=1e-4)
            assert kinds[kind]["median_rank_a_to_b"] == np.median([a for a, _ in found])
    # The pairs share no track, so ignoring other copies changes nothing here (see the line test above).
    # The noisy copy is the drone's nearest neighbour in the features themselves.
    assert doc["pair_kinds"]["features"]["storm"]["worst_rank"] == 1


def test_compare_prints_the_per_kind_table(families: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", str(families), "--out", str(tmp_path / "c"), "--methods", "pca,tsne"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "c" / "quality.json").read_text(encoding="utf-8"))
    assert "Pair ranks by kind" in result.output and "storm" in result.output
    storm = doc["pair_kinds"]["tsne"]["storm"]
    cell = f"{storm['median_rank_a_to_b']:g}/{storm['median_rank_b_to_a']:g} {storm['share_rank_1']:.0%} {storm['worst_rank']}"
    assert cell in result.output


def test_compare_without_pairs_has_no_pair_kinds(families: Path, tmp_path: Path) -> None:
    empty = tmp_path / "none.csv"
    empty.write_text("a,b,kind\n", encoding="utf-8")
    compare_folder(families, tmp_path / "c", SongMapper(epochs=1, seed=0), ["pca"], pairs_path=empty)
    assert "pair_kinds" not in json.loads((tmp_path / "c" / "quality.json").read_text(encoding="utf-8"))


def test_compare_over_seeds_gives_each_seed_and_the_median_and_range(families: Path, tmp_path: Path) -> None:
    pairs_csv = tmp_path / "pairs.csv"
    pairs_csv.write_text("a,b,kind\ndrone 1.wav,drone 1 (Storm).wav,storm\narp 0.wav,arp 1.wav,family\n", encoding="utf-8")
    mapper = SongMapper(epochs=5, seed=0)
    seeds = compare_folder(families, tmp_path / "s", mapper, ["ae", "tsne"], pairs_path=pairs_csv, seeds=[2, 0, 1, 2])
    doc = seeds.document
    assert doc["seeds"] == [2, 0, 1] and list(doc["by_seed"]) == ["2", "0", "1"]
    # One seed alone gives that seed's figures and maps: the first seed's are the document's own.
    alone_tracks = []
    for seed in (2, 1):
        alone = compare_folder(families, tmp_path / f"one{seed}", SongMapper(epochs=5, seed=seed), ["ae", "tsne"], pairs_path=pairs_csv)
        assert "seeds" not in alone.document and "summary" not in alone.document
        by_seed = doc["by_seed"][str(seed)]
        for method in ("ae", "tsne"):
            assert by_seed["methods"][method]["trustworthiness"] == alone.document["methods"][method]["trustworthiness"]
        assert by_seed["pair_kinds"] == alone.document["pair_kinds"]
        alone_tracks.append([t["ae"] for t in alone.document["tracks"]])
        if seed == 2:
            assert doc["tracks"] == alone.document["tracks"] and doc["methods"]["ae"]["trustworthiness"] == by_seed["methods"]["ae"]["trustworthiness"]
    assert alone_tracks[0] != alone_tracks[1]  # the seeds made different maps
    values = [doc["by_seed"][s]["methods"]["ae"]["seconds"] for s in ("2", "0", "1")]
    assert doc["summary"]["methods"]["ae"]["seconds"] == {
        "median": pytest.approx(float(np.median(values)), abs=1e-4), "min": min(values), "max": max(values)}
    shares = [doc["by_seed"][s]["pair_kinds"]["tsne"]["family"]["share_rank_1"] for s in ("2", "0", "1")]
    assert doc["summary"]["pair_kinds"]["tsne"]["family"]["share_rank_1"]["max"] == max(shares)
    assert "n_pairs" not in doc["summary"]["pair_kinds"]["tsne"]["family"]  # counts are not summarised
    assert doc["params"]["seed"] == 2 and seeds.mapper.seed == 2
    # The mapper returned is fitted at the first seed: its map is the document's.
    np.testing.assert_array_equal(seeds.mapper.embedding_, seeds.maps["ae"])


def test_compare_seeds_on_the_command_line(families: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", str(families), "--out", str(tmp_path / "c"), "--methods", "pca,tsne", "--seeds", "0,1"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "c" / "quality.json").read_text(encoding="utf-8"))
    assert "of seeds 0,1" in result.output and doc["seeds"] == [0, 1]
    knn = doc["summary"]["methods"]["tsne"]["knn_category_agreement"]
    assert f"{knn['median']:.2f}" in result.output
    for bad, says in ((["--seed", "1", "--seeds", "0,1"], "use --seed or --seeds, not both"), (["--seeds", "0,x"], "whole numbers")):
        failed = runner.invoke(app, ["compare", str(families), "--out", str(tmp_path / "d"), "--methods", "pca", *bad])
        assert failed.exit_code == 2 and says in failed.output and "Traceback" not in failed.output
    assert not (tmp_path / "d").exists()


# -- the generator ----------------------------------------------------------------------------------


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_copies", REPO / "benchmarks" / "make_copies.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_copies"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator():
    if shutil.which("sox") is None:
        reason = "sox is not installed (apt-get install sox libsox-fmt-all; make browser-deps does it)"
        if os.environ.get("SONGMAP_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + ", and SONGMAP_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)
    return _load_generator()


SR = 22050
NOTES = {"tune a": [220.0, 220.0, 277.2, 220.0], "tune b": [330.0, 392.0, 330.0, 330.0]}


def _tune(freqs: list[float], seconds: float = 12.0) -> np.ndarray:
    """A stereo tune of sustained harmonic notes (the first note's pitch dominates the spectrum)."""
    t = np.arange(int(seconds * SR)) / SR
    note = (np.arange(len(t)) * len(freqs)) // len(t)
    f = np.asarray(freqs)[note]
    phase = 2 * np.pi * np.cumsum(f) / SR
    y = 0.4 * np.sin(phase) + 0.1 * np.sin(2 * phase)
    return np.c_[y, 0.8 * y].astype(np.float32)


def _peak_hz(y: np.ndarray, sr: int) -> float:
    mono = y.mean(axis=1) if y.ndim == 2 else y
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / sr)[np.argmax(spectrum)])


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def copies(generator, tmp_path_factory):
    src = tmp_path_factory.mktemp("music")
    for name, freqs in NOTES.items():
        sf.write(src / f"{name}.wav", _tune(freqs), SR)
    noisy = _tune(NOTES["tune a"]) + 0.05 * np.random.default_rng(0).normal(size=(int(12 * SR), 2)).astype(np.float32)
    sf.write(src / "tune a (Storm).wav", noisy, SR)
    sf.write(src / "boom.wav", np.random.default_rng(1).normal(0, 0.3, size=SR).astype(np.float32), SR)
    (src / "metadata.csv").write_text(
        "filename,category\ntune a.wav,music\ntune b.wav,chiptune\ntune a (Storm).wav,music\nboom.wav,soundeffect\n",
        encoding="utf-8",
    )
    (src / "pairs.csv").write_text("a,b,kind\ntune a.wav,tune a (Storm).wav,storm\n", encoding="utf-8")
    before = _digest(src)
    out = tmp_path_factory.mktemp("copies") / "out"
    lines: list[str] = []
    pairs = generator.make_copies(src, out, songs=5, seed=0, min_seconds=5, progress=lines.append)
    assert _digest(src) == before  # the source is only read
    return src, out, pairs, lines


def test_generator_writes_every_kind_of_both_songs(generator, copies) -> None:
    src, out, pairs, lines = copies
    rows = read_pairs(out / "pairs.csv")
    assert [(r["a"], r["b"], r["kind"]) for r in rows] == [tuple(p) for p in pairs]
    assert ("tune a.wav", "tune a (Storm).wav", "storm") in [tuple(p) for p in pairs]
    for song in ("tune a.wav", "tune b.wav"):  # the storm copy is not itself copied, nor the sound effect
        assert sorted(r["kind"] for r in rows if r["a"] == song and r["kind"] != "storm") == sorted(generator.KINDS)
    assert len(rows) == 1 + 2 * len(generator.KINDS)
    for row in rows:
        assert (out / row["a"]).is_file() and (out / row["b"]).is_file()
    assert not (out / "boom.wav").exists() and (out / "tune a (Storm).wav").is_file()
    categories = dict(csv.reader((out / "metadata.csv").read_text(encoding="utf-8").splitlines()[1:]))
    assert categories["tune b [pitch+2].ogg"] == "chiptune" and categories["tune a [lofi].mp3"] == "music"
    assert "boom.wav" not in categories
    assert len(lines) == 3 and "[2/2] tune b.wav" in lines[2]


@pytest.mark.parametrize("song", ["tune a", "tune b"])
def test_generator_copies_have_the_right_durations_rates_and_levels(copies, song: str) -> None:
    _, out, _, _ = copies
    original, sr, seconds = decode(out / f"{song}.wav")
    assert seconds == pytest.approx(12.0)

    def copy(kind: str, ext: str = "ogg"):
        return decode(out / f"{song} [{kind}].{ext}")

    for kind in ("noise", "pitch+2", "pitch-2", "gain"):
        y, rate, length = copy(kind)
        assert rate == sr and y.shape[1] == 2 and length == pytest.approx(seconds, abs=0.01), kind
    for kind, factor in (("tempo0.9", 0.9), ("tempo1.1", 1.1)):
        y, rate, length = copy(kind)
        assert rate == sr and length == pytest.approx(seconds / factor, rel=0.01), kind
        assert _peak_hz(y, rate) == pytest.approx(_peak_hz(original, sr), rel=0.02), kind  # pitch kept
    for kind, semitones in (("pitch+2", 2), ("pitch-2", -2)):
        y, rate, _ = copy(kind)
        assert _peak_hz(y, rate) / _peak_hz(original, sr) == pytest.approx(2 ** (semitones / 12), rel=0.015), kind
    y, rate, length = copy("later")
    assert length == pytest.approx(seconds / 2, abs=0.01)  # a song under 2 minutes: its second half
    y, rate, length = copy("lofi", "mp3")
    assert rate == 8000 and y.shape[1] == 1 and length == pytest.approx(seconds, abs=0.25)  # + MP3 frame padding
    spectrum = np.abs(np.fft.rfft(y[:, 0])) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / rate)
    assert spectrum[freqs < 200].sum() < 0.05 * spectrum.sum()  # band-limited from 300 Hz: the 220 Hz note is gone
    y, rate, length = copy("mp3-64k", "mp3")
    assert rate == sr and y.shape[1] == 2 and length == pytest.approx(seconds, abs=0.15)
    gain, _, _ = copy("gain")
    n = min(len(gain), len(original))
    assert 10 * np.log10(np.mean(gain[:n] ** 2) / np.mean(original[:n] ** 2)) == pytest.approx(-9, abs=0.3)
    noisy, _, _ = copy("noise")
    scale = np.sum(noisy[:n] * original[:n]) / np.sum(original[:n] ** 2)  # sox -G may lower the mix a little
    residual = noisy[:n] - scale * original[:n]
    snr = 10 * np.log10(np.mean(original[:n] ** 2) / np.mean(residual**2))
    assert snr == pytest.approx(20, abs=1.5)


def test_generator_errors_are_one_line(generator, copies, tmp_path: Path) -> None:
    src, out, _, _ = copies
    assert generator.main([str(src), str(out)]) == 1  # not empty
    assert generator.main([str(tmp_path / "nowhere"), str(tmp_path / "o")]) == 1
    with pytest.raises(generator.CopiesError, match="unknown kind 'chorus'"):
        generator.make_copies(src, tmp_path / "o2", kinds=("chorus",))
    with pytest.raises(generator.CopiesError, match="inside the source folder"):
        generator.make_copies(src, src / "copies")


def test_generator_copies_a_song_whose_tags_are_not_utf8(generator, tmp_path: Path) -> None:
    # Debian's game music carries Latin-1 tags, which soxi prints byte for byte.
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (make browser-deps installs it)")
    src, out = tmp_path / "music", tmp_path / "copies"
    src.mkdir()
    sf.write(src / "plain.wav", _tune(NOTES["tune a"]), SR)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(src / "plain.wav"), "-metadata", b"title=caf\x82",
                    str(src / "tagged.ogg")], check=True)
    (src / "plain.wav").unlink()
    (src / "metadata.csv").write_text("filename,category\ntagged.ogg,music\n", encoding="utf-8")
    assert b"caf\x82" in subprocess.run(["soxi", str(src / "tagged.ogg")], capture_output=True).stdout
    pairs = generator.make_copies(src, out, songs=1, seed=0, min_seconds=5, kinds=("noise",))
    assert [(a, kind) for a, _, kind in pairs] == [("tagged.ogg", "noise")]
    assert sf.info(out / pairs[0][1]).samplerate == SR
