"""A messy, read-only music folder mapped end to end: every file is mapped or skipped with its reason, the run succeeds.

The corpus (tests/badcorpus.py) is generated here, never committed. On top of it, during the run one
file disappears, one becomes unreadable and one subfolder cannot be read; a spreadsheet-made
metadata.csv (BOM, ``;``, CRLF, extra columns, other case) goes with it. Assertions are on what
the user sees: the console, embeddings.json/.csv, map.html, the exit code, and the untouched input.
"""

from __future__ import annotations

import csv
import html.parser
import inspect
import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from badcorpus import MAPPED, SKIPPED, build_corpus
from conftest import FAST_ARGS, checksums, tone, write_audio
from songmap.app.cli import app
from songmap.app.cli.commands import map_command

# In one process, so that the simulated permission errors below reach the code reading the files.
JOBS1 = ["--jobs", "1"] if "jobs" in inspect.signature(map_command).parameters else []
OUTPUTS = ("model.safetensors", "embeddings.csv", "map.png", "map.html", "embeddings.json")
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

SPREADSHEET_CSV = (
    "\ufeffFileName;Category;Title;Rating;Comment\r\n"
    "low drone.wav;Drones;;5;\r\n"  # other case: matched with --ignore-case
    'MID HUM.FLAC;drones;Mid Hum (remaster);4;"has; a semicolon"\r\n'
    "effects\\boom.wav;Effects;;3;\r\n"  # Windows separator, other case
    "names/שיר עברי.wav;Voices;;;\r\n"
    "ghost track.ogg;Drones;;1;\r\n"  # no such file
)


def _unreadable(path) -> bool:
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o444 == 0
    except OSError:
        return False


def _simulate_permissions(mp: pytest.MonkeyPatch) -> None:
    """Running as root, chmod 000 does not stop reads; make the mode count as it would for a user."""
    if not AS_ROOT:
        return
    real_access, real_scandir = os.access, os.scandir

    def access(path, mode, *args, **kwargs):
        if mode & os.R_OK and _unreadable(path):
            return False
        return real_access(path, mode, *args, **kwargs)

    def scandir(path="."):
        if _unreadable(path):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    mp.setattr(os, "access", access)
    mp.setattr(os, "scandir", scandir)


class _Run:
    """What one `songmap map` over the corpus showed."""

    def __init__(self, corpus, out, result, before, after, write_opens, sf_modes):
        self.corpus, self.out, self.result = corpus, out, result
        self.before, self.after = before, after
        self.write_opens, self.sf_modes = write_opens, sf_modes
        self.doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
        self.tracks = {t["file"]: t for t in self.doc["tracks"]}
        self.skipped = {s["file"]: s["reason"] for s in self.doc["skipped"]}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> _Run:
    base = tmp_path_factory.mktemp("bad")
    corpus = build_corpus(base / "library")
    root = corpus.root
    (root / "metadata.csv").write_bytes(SPREADSHEET_CSV.encode("utf-8"))
    # Files that go bad while the run is under way, in a folder the user can still write to.
    write_audio(root / "downloads/vanishing.wav", tone(600, 1.0), 22050)
    write_audio(root / "downloads/locked.wav", tone(650, 1.0), 22050)
    corpus.skipped("downloads/vanishing.wav", "file not found")
    corpus.skipped("downloads/locked.wav", "cannot read file (permission denied)")
    write_audio(root / "locked folder/hidden away.wav", tone(700, 1.0), 22050)
    corpus.skipped("locked folder/", "cannot read folder (Permission denied)")
    corpus.invisible.append("locked folder/hidden away.wav")

    # The whole library read-only, as on a mounted share; the "downloads" folder stays writable.
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_symlink() or stat.S_ISFIFO(path.lstat().st_mode):
            continue
        path.chmod(0o555 if path.is_dir() else 0o444)
    (root / "downloads").chmod(0o755)
    root.chmod(0o555)
    changing = ("downloads/vanishing.wav", "downloads/locked.wav")
    before = {k: v for k, v in checksums(root).items() if k not in changing}
    (root / "locked folder").chmod(0)

    from songmap.mapper import inputs

    real_probe = inputs.probe

    def probe(path, *args, **kwargs):
        # After the scan: one file becomes unreadable just before it is read, another disappears once probed.
        if Path(path).name == "locked.wav":
            Path(path).chmod(0)
        info = real_probe(path, *args, **kwargs)
        if Path(path).name == "vanishing.wav":
            Path(path).unlink()
        return info

    write_opens, sf_modes = [], []
    real_soundfile_init = sf.SoundFile.__init__

    def soundfile_init(self, file, mode="r", *args, **kwargs):
        sf_modes.append(mode)
        return real_soundfile_init(self, file, mode, *args, **kwargs)

    def on_open(event, args):
        if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        name, mode, flags = os.fsdecode(args[0]), args[1], args[2] or 0
        writing = any(c in mode for c in "wax+") if mode else bool(flags & _WRITE_FLAGS)
        if writing and os.path.abspath(name).startswith(str(root)):
            write_opens.append((name, mode, flags))

    _listen_to_audit_events(on_open)
    out = base / "out"
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(inputs, "probe", probe)
            mp.setattr(sf.SoundFile, "__init__", soundfile_init)
            _simulate_permissions(mp)
            result = CliRunner().invoke(app, ["map", str(root), "--out", str(out), "--ignore-case", *FAST_ARGS, *JOBS1])
    finally:
        _AUDIT_LISTENERS.remove(on_open)
        (root / "locked folder").chmod(0o555)
        if (root / "downloads/locked.wav").exists():
            (root / "downloads/locked.wav").chmod(0o444)
    after = {k: v for k, v in checksums(root).items() if k not in changing}
    assert result.exit_code == 0, result.output
    return _Run(corpus, out, result, before, after, write_opens, sf_modes)


# sys.addaudithook cannot be removed: one hook for the session, forwarding to whoever listens now.
_AUDIT_LISTENERS: list = []
_AUDIT_INSTALLED: list[bool] = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _audit(event, args):
    for listener in list(_AUDIT_LISTENERS):
        listener(event, args)


def _listen_to_audit_events(listener) -> None:
    if not _AUDIT_INSTALLED:
        sys.addaudithook(_audit)
        _AUDIT_INSTALLED.append(True)
    _AUDIT_LISTENERS.append(listener)


def test_the_run_succeeds_without_a_traceback(run: _Run) -> None:
    assert run.result.exit_code == 0
    assert "Traceback" not in run.result.output
    assert run.result.exception is None or isinstance(run.result.exception, SystemExit)


def test_every_file_is_mapped_or_skipped_with_its_reason(run: _Run) -> None:
    for rel, (kind, reason) in run.corpus.expected.items():
        if kind == MAPPED:
            assert rel in run.tracks, f"{rel!r} should be on the map; skipped as {run.skipped.get(rel)!r}"
        else:
            assert rel in run.skipped, f"{rel!r} should be skipped ({reason})"
            assert reason in run.skipped[rel], f"{rel!r}: {run.skipped[rel]!r} does not say {reason!r}"
    # Exactly once, and nothing else.
    assert not set(run.tracks) & set(run.skipped)
    assert set(run.tracks) | set(run.skipped) == set(run.corpus.expected)
    for rel in run.corpus.invisible:
        assert rel not in run.tracks and rel not in run.skipped


def test_the_console_names_each_skipped_file_and_the_totals(run: _Run) -> None:
    output = run.result.output
    for rel, reason in run.skipped.items():
        assert f"skipped: {rel}: {reason}" in output
    assert f"Mapped {len(run.tracks)} track(s), skipped {len(run.skipped)};" in output
    assert "Open the map:" in output
    # Only songmap's own lines: no warnings from matplotlib (emoji glyphs), Python or the decoders.
    for line in output.splitlines():
        assert not any(noise in line for noise in ("Warning", "UserWarning", "Glyph", "Note:", "resync", "Error")), line


def test_coordinates_are_finite_and_odd_tracks_are_where_they_belong(run: _Run) -> None:
    xy = np.array([[t["x"], t["y"]] for t in run.tracks.values()])
    assert np.isfinite(xy).all()
    assert run.tracks["long mix 12 min.ogg"]["duration_s"] == pytest.approx(720.0, abs=0.5)
    assert run.tracks["truncated.wav"]["duration_s"] == pytest.approx(0.5, abs=0.01)  # what is there, not the header
    assert 2.0 < run.tracks["downloads/half a download.ogg"]["duration_s"] < 8.0
    # Loudness does not move a track: a copy at -66 dBFS lands on the original.
    a, b = run.tracks["Low Drone.wav"], run.tracks["Low Drone quiet.wav"]
    spread = np.ptp(xy, axis=0).max()
    assert np.hypot(a["x"] - b["x"], a["y"] - b["y"]) < 0.02 * spread
    link = run.tracks["link to Low Drone.wav"]
    assert (link["x"], link["y"]) == pytest.approx((a["x"], a["y"]), abs=1e-6)


def test_names_are_kept_exactly(run: _Run) -> None:
    for rel in run.tracks:
        assert (run.corpus.root / rel).exists(), f"{rel!r} does not name the file any more"
    latin1 = os.fsdecode(b"caf\xe9 latin-1.wav")
    if latin1 in run.tracks:
        assert run.tracks[latin1]["title"] == "caf\ufffd latin-1"  # shown with a replacement character
    assert run.tracks["names/It's a \"quoted\" name.wav"]["title"] == "It's a \"quoted\" name"


def test_input_files_are_never_written(run: _Run) -> None:
    assert run.after == run.before, "the input folder changed"
    assert run.write_opens == []
    assert run.sf_modes and set(run.sf_modes) == {"r"}


def test_output_folder_is_complete_and_consistent(run: _Run) -> None:
    for name in OUTPUTS:
        assert (run.out / name).is_file(), name
    assert [p.name for p in run.out.iterdir() if p.name.startswith(".songmap-staging")] == []
    with open(run.out / "embeddings.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(run.tracks)


def test_spreadsheet_metadata_with_ignore_case(run: _Run) -> None:
    assert run.tracks["Low Drone.wav"]["category"] == "Drones"
    assert run.tracks["Mid Hum.flac"]["category"] == "drones"
    assert run.tracks["Mid Hum.flac"]["title"] == "Mid Hum (remaster)"
    assert run.tracks["effects/Boom.wav"]["category"] == "Effects"
    assert run.tracks["names/שיר עברי.wav"]["category"] == "Voices"
    output = run.result.output
    assert "warning: metadata.csv names a file that is not in the folder: ghost track.ogg" in output
    unlisted = sum(1 for rel in list(run.tracks) + list(run.skipped) if not rel.endswith("/")) - 4
    assert f"warning: {unlisted} audio file(s) are not listed in metadata.csv and get no category" in output


def test_unreadable_folder_is_reported(run: _Run) -> None:
    assert "warning: locked folder/: cannot read folder (Permission denied); its files are not mapped" in run.result.output


def test_inspect_shows_the_same_problems_and_suggests_ignore_case(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path / "library")
    (corpus.root / "metadata.csv").write_bytes(SPREADSHEET_CSV.encode("utf-8"))
    result = CliRunner().invoke(app, ["inspect", str(corpus.root)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "low drone.wav (the folder has Low Drone.wav: use --ignore-case" in result.output
    for kind, reason in corpus.expected.values():
        if kind == SKIPPED and reason.startswith(("not decodable", "empty", "broken", "symbolic", "not a regular")):
            assert reason in result.output, reason  # what a header read can tell; silence needs decoding


# -- untrusted names ----------------------------------------------------------------------------

EVIL = [
    "<img src=x onerror=alert(1)>.wav",
    '"onerror=alert(1) x.wav',
    "<script>alert(1)<",  # a folder: with the file below the path reads <script>alert(1)</script>.wav
    '=HYPERLINK("evil.example","click").wav',
    "+cmd.wav",
    "-1.wav",
    "@SUM(A1).wav",
]


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_untrusted_names_are_escaped_in_html_and_neutralised_in_csv(tmp_path: Path) -> None:
    root = tmp_path / "evil"
    for i, name in enumerate(EVIL):
        target = root / name / "script>.wav" if name.endswith("<") else root / name
        write_audio(target, tone(200 + 120 * i, 1.0), 22050)
    (root / "metadata.csv").write_text('filename,title\n-1.wav,"<b onmouseover=alert(2)>bold</b>"\n', encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["map", str(root), "--out", str(out), *FAST_ARGS, *JOBS1])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    files = {t["file"] for t in doc["tracks"]}
    assert "<script>alert(1)</script>.wav" in files and '"onerror=alert(1) x.wav' in files

    page = (out / "map.html").read_text(encoding="utf-8")
    for raw in ("<script>alert(1)</script>", "<img src=x", "<b onmouseover"):
        assert raw not in page
    parser = _Tags()
    parser.feed(page)
    assert all(not any(a.startswith("on") for a in attrs) for _, attrs in parser.tags), "an event handler attribute got in"
    # the page's own blocks (track data, model) and code (map.js), nothing more
    assert [t for t, _ in parser.tags].count("script") == 3
    # The one image is the template's hover-card cover, empty until a served page fills it.
    assert [attrs for t, attrs in parser.tags if t == "img"] == [{"class": "tt-cover", "alt": "", "hidden": None}]
    # The quote of '"onerror=' only ever appears escaped inside the JSON data.
    at = page.index("onerror=alert(1) x")
    assert page[at - 2 : at] == '\\"'

    with open(out / "embeddings.csv", newline="", encoding="utf-8") as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    for name in ('=HYPERLINK("evil.example","click").wav', "+cmd.wav", "-1.wav", "@SUM(A1).wav"):
        assert "'" + name in rows, f"{name} not neutralised"
    assert rows["'=HYPERLINK(\"evil.example\",\"click\").wav"]["title"].startswith("'=")
    assert rows["'-1.wav"]["title"] == "<b onmouseover=alert(2)>bold</b>"
    for row in rows.values():
        for cell in row.values():
            assert cell[:1] not in ("=", "+", "@") and not (cell.startswith("-") and not _is_number(cell)), row


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# -- smaller checks -----------------------------------------------------------------------------


def test_damaged_mp3_does_not_print_decoder_noise(tmp_path: Path, capfd, monkeypatch) -> None:
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3 encoder to make a damaged MP3 with")
    from songmap.io.decode import load, probe

    monkeypatch.delenv("SONGMAP_DEBUG", raising=False)  # which would show the decoder's own messages
    path = tmp_path / "half.mp3"
    sf.write(str(path), tone(440, 4.0), 22050, format="MP3")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    probe(path)
    y, _ = load(path, 22050)
    assert len(y) > 0
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""  # libmpg123's "Note: Trying to resync..." stays hidden


def test_metadata_from_other_spreadsheet_exports(tmp_path: Path) -> None:
    import unicodedata

    from songmap.io.collection import scan_collection

    root = tmp_path / "songs"
    nfd = unicodedata.normalize("NFD", "Café.wav")  # how macOS writes accented names
    for name in (nfd, "Theme.wav", "theme.WAV", "Other.wav"):
        write_audio(root / name, tone(300, 0.5), 22050)
    sheet = tmp_path / "sheet.csv"
    # Excel's "Unicode text": UTF-16 with a BOM, tab-separated; composed accents; Windows line ends.
    sheet.write_bytes("filename\tcategory\r\nCafé.wav\tjazz\r\nTHEME.wav\tloops\r\nother.WAV\tfx\r\n".encode("utf-16"))
    plain = scan_collection(root, sheet)
    assert plain.category(root / nfd) == "jazz"
    assert plain.missing_in_folder == ["THEME.wav", "other.WAV"]
    assert plain.case_hints == {"other.WAV": "Other.wav"}  # THEME.wav could be either of two files: no hint
    assert sorted(plain.not_in_metadata) == ["Other.wav", "Theme.wav", "theme.WAV"]
    folded = scan_collection(root, sheet, ignore_case=True)
    assert folded.category(root / "Other.wav") == "fx"
    assert folded.missing_in_folder == ["THEME.wav"]  # ambiguous: never a guess
    assert folded.category(root / "Theme.wav") is None and folded.category(root / "theme.WAV") is None


def test_unreadable_input_folder_is_one_clear_line(tmp_path: Path) -> None:
    from songmap.io.collection import scan_collection

    root = tmp_path / "locked"
    write_audio(root / "a.wav", tone(300, 0.5), 22050)
    write_audio(root / "b.wav", tone(400, 0.5), 22050)
    root.chmod(0)
    try:
        with pytest.MonkeyPatch.context() as mp:
            _simulate_permissions(mp)
            result = CliRunner().invoke(app, ["map", str(root), "--out", str(tmp_path / "out"), *FAST_ARGS])
            with pytest.raises(ValueError, match="cannot read the input folder .* [(]Permission denied[)]"):
                scan_collection(root)
    finally:
        root.chmod(0o755)
    # The command line checks readability itself: a usage error (exit 2), one message, no traceback.
    assert result.exit_code == 2, result.output
    assert "is not readable" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
