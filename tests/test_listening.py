"""Paths, playlists, clusters and per-track trust: the library, the M3U8/CSV writers and the CLI."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from conftest import FAST_ARGS, make_doc, tone, track, write_audio
from songmap.app.cli import app
from songmap.evaluation.clusters import find_clusters, name_clusters
from songmap.evaluation.listening import (
    HOP_COST,
    feature_neighbours,
    find_path,
    listening_keys,
    neighbour_graph,
    similar_tracks,
)
from songmap.evaluation.quality import continuity_at, trustworthiness_at
from songmap.evaluation.trust import track_continuity, track_trustworthiness, trust_k
from songmap.report.playlists import (
    PLAYLIST_COLUMNS,
    is_songmap_playlist,
    m3u8_location,
    read_m3u8,
    write_m3u8,
    write_playlist,
    write_playlist_csv,
)

runner = CliRunner()


def songmap(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def blobs(sizes=(20, 20, 20), dim=10, spread=0.3, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Well separated Gaussian blobs in ``dim`` dimensions, and each point's blob."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(len(sizes), dim))
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return centres[labels] + rng.normal(scale=spread, size=(len(labels), dim)), labels


def graph_of(features: np.ndarray, k: int = 5):
    neighbours, distances = feature_neighbours(features, k=k)
    return neighbours, distances, features[:, :2]


# -- neighbours and paths ----------------------------------------------------------------------


def test_feature_neighbours_are_the_nearest_in_order() -> None:
    features, _ = blobs()
    neighbours, distances = feature_neighbours(features, k=7)
    full = np.linalg.norm(features[:, None] - features[None], axis=2)
    np.fill_diagonal(full, np.inf)
    assert np.array_equal(neighbours, np.argsort(full, axis=1)[:, :7])
    assert np.allclose(distances, np.sort(full, axis=1)[:, :7], atol=1e-4)
    assert np.all(np.diff(distances, axis=1) >= 0)


@pytest.mark.parametrize("length", [None, 2, 3, 5, 12, 40, 60])
def test_path_reaches_the_end_without_repeats_with_the_length_asked(length) -> None:
    features, _ = blobs(seed=1)
    neighbours, distances, points = graph_of(features, k=8)
    for start, end in [(0, 59), (3, 17), (45, 21)]:
        found = find_path(neighbours=neighbours, distances=distances, points=points, start=start, end=end, length=length)
        again = find_path(neighbours=neighbours, distances=distances, points=points, start=start, end=end, length=length)
        assert found.tracks == again.tracks, "paths are deterministic"
        assert found.tracks[0] == start and found.tracks[-1] == end
        assert len(set(found.tracks)) == len(found.tracks), "no track twice"
        assert len(found.tracks) == (len(found.route) if length is None else length)
        if length is not None and length >= len(found.route):
            # Lengthening only inserts detours: the route stays in order inside the list.
            positions = [found.tracks.index(t) for t in found.route]
            assert positions == sorted(positions)
        elif length is not None:
            assert set(found.tracks) <= set(found.route), "a shorter list is a subsample of the route"


def test_route_is_a_shortest_path_through_the_graph() -> None:
    features, _ = blobs(sizes=(40,), seed=2)
    neighbours, distances, points = graph_of(features, k=6)
    graph, _ = neighbour_graph(neighbours, distances)
    cost = graph.copy()
    cost.data += HOP_COST
    best = dijkstra(cost, indices=0)
    for end in (5, 17, 39):
        route = find_path(neighbours=neighbours, distances=distances, points=points, start=0, end=end).route
        steps = [graph[a, b] for a, b in zip(route, route[1:])]
        assert all(s > 0 for s in steps), "every step is an edge of the graph"
        assert sum(steps) + HOP_COST * len(steps) == pytest.approx(best[end])


def test_subsampled_path_is_evenly_spaced_along_a_chain() -> None:
    # 30 tracks on a line, each joined to its nearest: the route from one end to the other is every track.
    features = np.c_[np.arange(30.0), np.zeros(30)]
    neighbours, distances = feature_neighbours(features, k=1)
    found = find_path(neighbours=neighbours, distances=distances, points=features, start=0, end=29, length=7)
    assert found.route == list(range(30))
    gaps = np.diff(found.tracks)
    assert gaps.max() - gaps.min() <= 1 and gaps.sum() == 29


def test_unreachable_end_jumps_once_across_the_smallest_map_gap() -> None:
    features, labels = blobs(sizes=(12, 12), seed=3)
    neighbours, distances = feature_neighbours(features, k=3)  # two separate parts of the graph
    points = np.random.default_rng(4).normal(size=(24, 2))
    start, end = 0, 23
    assert labels[start] != labels[end]
    found = find_path(neighbours=neighbours, distances=distances, points=points, start=start, end=end, length=None)
    u, v = found.bridge
    assert labels[u] == labels[start] and labels[v] == labels[end]
    gaps = np.linalg.norm(points[labels == 0][:, None] - points[labels == 1][None], axis=2)
    assert np.linalg.norm(points[u] - points[v]) == pytest.approx(gaps.min())
    assert found.tracks[found.tracks.index(u) + 1] == v
    assert found.tracks[0] == start and found.tracks[-1] == end and len(set(found.tracks)) == len(found.tracks)
    longer = find_path(neighbours=neighbours, distances=distances, points=points, start=start, end=end, length=24)
    assert sorted(longer.tracks) == list(range(24)), "exactly N whenever the map has N tracks"


def test_bad_path_requests_are_one_line_errors() -> None:
    features, _ = blobs(sizes=(10,))
    neighbours, distances, points = graph_of(features, k=3)
    with pytest.raises(ValueError, match="same track"):
        find_path(neighbours=neighbours, distances=distances, points=points, start=2, end=2)
    with pytest.raises(ValueError, match="between 2 and the map's 10"):
        find_path(neighbours=neighbours, distances=distances, points=points, start=0, end=1, length=11)


def test_more_like_this_starts_at_the_seed_with_its_nearest() -> None:
    features, _ = blobs(seed=5)
    neighbours, distances, points = graph_of(features, k=8)
    playlist = similar_tracks(neighbours=neighbours, distances=distances, points=points, seed=7, length=6)
    assert playlist[0] == 7 and len(playlist) == 6 and len(set(playlist)) == 6
    assert set(playlist[1:]) == set(neighbours[7][:5]), "within k, the nearest by graph are the nearest in the features"
    everything = similar_tracks(neighbours=neighbours, distances=distances, points=points, seed=7, length=60)
    assert sorted(everything) == list(range(60))
    assert everything == similar_tracks(neighbours=neighbours, distances=distances, points=points, seed=7, length=60)


# -- per-track trust and clusters --------------------------------------------------------------


@pytest.mark.parametrize("k", [3, 10])
def test_per_track_trust_averages_to_the_collection_figures(k) -> None:
    rng = np.random.default_rng(6)
    features = rng.normal(size=(70, 12))
    points = features[:, :2] + 0.5 * rng.normal(size=(70, 2))
    trust, cont = track_trustworthiness(features, points, k=k), track_continuity(features, points, k=k)
    assert trust.shape == cont.shape == (70,)
    assert np.all((trust >= 0) & (trust <= 1)) and np.all((cont >= 0) & (cont <= 1))
    assert trust.mean() == pytest.approx(trustworthiness_at(features, points, k))
    assert cont.mean() == pytest.approx(continuity_at(features, points, k))


def test_a_track_misplaced_on_the_map_is_the_least_trusted() -> None:
    features, _ = blobs(seed=7)
    points = features[:, :2].copy()
    points[4] = points[45]  # put a track of blob 0 in the middle of blob 2
    trust = track_trustworthiness(features, points, k=5)
    cont = track_continuity(features, points, k=5)
    assert int(np.argmin(trust)) == 4 and int(np.argmin(cont)) == 4
    assert trust_k(8) == 3 and track_trustworthiness(features[:6], points[:6], k=3) is None


def test_clusters_find_the_blobs_and_are_named_after_their_centre() -> None:
    features, truth = blobs(sizes=(15, 20, 25), seed=8)
    features = np.vstack([features, np.full((1, 10), 100.0)])  # one track far from every blob
    labels = find_clusters(features)
    assert labels[-1] == -1
    assert adjusted_rand_score(truth, labels[:-1]) == 1.0
    assert [int(np.sum(labels == c)) for c in range(3)] == [25, 20, 15], "numbered by size"
    titles = [f"T{i}" for i in range(61)]
    categories = ["drums" if i < 15 or i == 3 + 15 else "pads" for i in range(61)]
    clusters = name_clusters(features, labels, titles=titles, categories=categories)
    for cluster in clusters:
        members = np.flatnonzero(labels == cluster["id"])
        summed = np.linalg.norm(features[members][:, None] - features[members][None], axis=2).sum(axis=1)
        assert cluster["centre"] == members[np.argmin(summed)]
        assert cluster["name"] == f"T{cluster['centre']} · {cluster['category']}"
    assert {c["size"]: c["category"] for c in clusters} == {25: "pads", 20: "pads", 15: "drums"}
    untitled = name_clusters(features, labels, titles=titles, categories=[None] * 61)
    assert all(c["category"] is None and c["name"] == f"T{c['centre']}" for c in untitled)


def test_listening_keys_leave_tracks_without_features_out() -> None:
    features, _ = blobs(sizes=(12, 12), seed=9)
    features[5] = np.nan
    keys, clusters = listening_keys(features=features, points=features[:, :2], titles=[str(i) for i in range(24)],
                                    categories=[None] * 24)
    assert keys[5]["neighbours"] == [] and keys[5]["cluster"] == -1 and keys[5]["trustworthiness"] is None
    assert all(5 not in k["neighbours"] and len(k["neighbours"]) == 10 for i, k in enumerate(keys) if i != 5)
    assert {k["cluster_name"] for k in keys if k["cluster"] >= 0} == {c["name"] for c in clusters}


# -- M3U8 and CSV ------------------------------------------------------------------------------

NAMES = ["plain.wav", "with space.wav", "sub dir/#1 hash.wav", "#top.wav", "🎵 emoji é.wav", "50% off, [x].wav"]
NOT_UTF8 = os.fsdecode(b"caf\xe9.wav")


@pytest.fixture
def odd_names(tmp_path: Path) -> tuple[Path, list[dict]]:
    """Audio files with awkward names, one of them not valid UTF-8, and their track entries."""
    root = tmp_path / "music"
    tracks = []
    for i, name in enumerate([*NAMES, NOT_UTF8]):
        # libsndfile cannot open a name that is not UTF-8: write it under another name, then rename it.
        written = write_audio(root / f"tmp{i}.wav", tone(220 + 50 * i, 1.0 + i), 22050)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.rename(written, root / name)
        tracks.append({"file": name, "title": f"Title {i}, part #{i}", "category": "demo", "duration_s": 1.0 + i + 0.4,
                       "x": float(i), "y": -1.5, "cluster_name": "=cluster"})
    return root, tracks


def test_m3u8_names_every_file_so_it_opens(odd_names, tmp_path: Path) -> None:
    root, tracks = odd_names
    playlist = tmp_path / "lists" / "my path.m3u8"
    playlist.parent.mkdir()
    write_m3u8(playlist, tracks, input_dir=root, name="Path from A to B")
    raw = playlist.read_bytes()
    text = raw.decode("utf-8")  # valid UTF-8 whatever the names
    lines = text.split("\n")
    assert lines[:3] == ["#EXTM3U", "#PLAYLIST:Path from A to B", lines[2]] and lines[2].startswith("# songmap ")
    assert lines[3] == "#EXTINF:1,Title 0, part #0" and lines[4] == "../music/plain.wav"
    assert "../music/sub dir/#1 hash.wav" in lines and "../music/🎵 emoji é.wav" in lines
    assert "\r" not in text and not raw.startswith(b"\xef\xbb\xbf")
    assert [line for line in lines if line.startswith("file://")] == ["file://" + str(root).replace(" ", "%20") + "/caf%E9.wav"]
    entries = read_m3u8(playlist)
    assert [e[0] for e in entries] == [round(t["duration_s"]) for t in tracks]
    assert [e[1] for e in entries] == [t["title"] for t in tracks]
    for (_, _, file), t in zip(entries, tracks):
        assert os.path.samefile(file, root / t["file"]), file
    # Beside the music, a name starting with # must not become a comment.
    beside = root / "here.m3u8"
    write_m3u8(beside, tracks, input_dir=root, name="x")
    assert "./#top.wav" in beside.read_text(encoding="utf-8").split("\n")
    assert len(read_m3u8(beside)) == len(tracks)
    assert m3u8_location(root / "a\nb.wav", tmp_path).startswith("file://")


def _ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        if os.environ.get("SONGMAP_REQUIRE_BROWSER"):
            pytest.fail("ffmpeg is required here (SONGMAP_REQUIRE_BROWSER is set): `make browser-deps` installs it")
        pytest.skip("ffmpeg not installed (Debian package ffmpeg; `make browser-deps` installs it)")
    return found


def test_ffmpeg_opens_every_entry_of_the_m3u8(odd_names, tmp_path: Path) -> None:
    ffmpeg = _ffmpeg()
    root, tracks = odd_names
    playlist = tmp_path / "lists" / "p.m3u8"
    playlist.parent.mkdir()
    write_m3u8(playlist, tracks, input_dir=root, name="check")
    # ffmpeg reads an extended M3U with its HLS parser: it resolves each entry against the playlist's folder
    # and opens it. From the first entry (live_start_index 0), any file extension, reloads kept short.
    run = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-v", "debug", "-f", "hls", "-extension_picky", "0", "-live_start_index", "0",
         "-m3u8_hold_counters", "2", "-i", str(playlist), "-f", "null", "-"],
        capture_output=True, text=True, errors="replace", timeout=120, check=False,
    )
    opened = re.findall(r"\[hls @ [^\]]+\] Opening '(.+)' for reading", run.stderr)
    failed = re.findall(r"Failed to open segment (\d+)", run.stderr)
    wanted = [line for line in playlist.read_text(encoding="utf-8").split("\n")[4::2] if line]
    assert [o for o in opened if not o.endswith("p.m3u8")] == [str(playlist.parent / w) if not w.startswith("file:") else w
                                                                for w in wanted]
    # Only the file:// line of the name that is not UTF-8 fails: ffmpeg does not decode percent escapes (VLC and mpv do).
    assert failed == [str(len(tracks) - 1)], run.stderr[-2000:]


def test_xspf_locates_every_file_and_relative_to_writes_library_paths(odd_names, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET
    from urllib.parse import unquote_to_bytes

    root, tracks = odd_names
    tracks = [{**t, "artist": "AC/DC", "album": "Live"} if i == 0 else t for i, t in enumerate(tracks)]
    playlist = tmp_path / "lists" / "path.xspf"
    playlist.parent.mkdir()
    assert write_playlist(playlist, tracks, input_dir=root, name="Path & more") == "xspf"
    ns = {"x": "http://xspf.org/ns/0/"}
    tree = ET.parse(playlist).getroot()
    assert tree.get("version") == "1" and tree.find("x:title", ns).text == "Path & more"
    entries = tree.findall("x:trackList/x:track", ns)
    assert len(entries) == len(tracks)
    for entry, t in zip(entries, tracks):
        location = entry.find("x:location", ns).text
        # A URI: percent-decoded, relative to the playlist's folder (or file://), it is the file.
        raw = unquote_to_bytes(location.removeprefix("file://"))
        path = Path(os.fsdecode(raw)) if location.startswith("file://") else playlist.parent / os.fsdecode(raw)
        assert path.resolve() == (root / t["file"]).resolve() and path.is_file(), location
        assert entry.find("x:title", ns).text == t["title"]
        assert entry.find("x:duration", ns).text == str(round(t["duration_s"] * 1000))
    assert [entries[0].find(f"x:{tag}", ns).text for tag in ("creator", "album")] == ["AC/DC", "Live"]
    assert entries[1].find("x:creator", ns) is None
    assert is_songmap_playlist(playlist)

    # Relative to the library (a media server's root), not to the playlist's folder.
    library_list = tmp_path / "elsewhere" / "lib.m3u8"
    library_list.parent.mkdir()
    utf8 = tracks[:-1]  # the name that is not UTF-8 is written as an absolute URI, outside any library
    write_playlist(library_list, utf8, input_dir=root, name="n", relative_to=root.parent)
    locations = [line for line in library_list.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert locations[:3] == ["music/plain.wav", "music/with space.wav", "music/sub dir/#1 hash.wav"]
    assert all((root.parent / loc.removeprefix("./")).is_file() for loc in locations)
    with pytest.raises(ValueError, match="is not inside --relative-to"):
        write_playlist(library_list, utf8, input_dir=root, name="n", relative_to=root / "sub dir")


def test_playlist_csv_columns_and_rows(odd_names, tmp_path: Path) -> None:
    _, tracks = odd_names
    path = tmp_path / "p.csv"
    write_playlist_csv(path, tracks)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == PLAYLIST_COLUMNS
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(1, len(tracks) + 1)]
    assert [r[1] for r in rows[1:-1]] == NAMES and rows[-1][1] == "caf\ufffd.wav"
    assert rows[1][7] == "'=cluster", "a cell a spreadsheet would run is quoted"
    assert is_songmap_playlist(path)
    mine = tmp_path / "mine.csv"
    mine.write_text("a,b\n1,2\n", encoding="utf-8")
    assert not is_songmap_playlist(mine)


# -- jobs and CLI ------------------------------------------------------------------------------


def test_path_and_playlist_commands_on_a_mapped_collection(small_collection: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert songmap("map", small_collection, "--out", out, *FAST_ARGS).exit_code == 0
    doc = json.loads((out / "embeddings.json").read_text(encoding="utf-8"))
    n = len(doc["tracks"])
    for i, t in enumerate(doc["tracks"]):
        assert len(t["neighbours"]) == len(t["neighbour_distances"]) == min(10, n - 1)
        assert i not in t["neighbours"] and len(set(t["neighbours"])) == n - 1
        assert t["neighbour_distances"] == sorted(t["neighbour_distances"])
        assert 0 <= t["trustworthiness"] <= 1 and 0 <= t["continuity"] <= 1
        assert isinstance(t["cluster"], int) and (t["cluster_name"] is None) == (t["cluster"] == -1)
    assert isinstance(doc["clusters"], list)
    with open(out / "embeddings.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header[6:10] == ["cluster", "cluster_name", "trustworthiness", "continuity"]

    shown = songmap("path", out, "--from", "low drone", "--to", "effects/Blip.wav")
    assert shown.exit_code == 0, shown.output
    assert "Low Drone" in shown.output and "effects/Blip.wav" in shown.output

    playlist = tmp_path / "lists" / "path.m3u8"
    written = songmap("path", out, "--from", small_collection / "Low Drone.wav", "--to", "Blip", "--length", "5",
                      "--output", playlist)
    assert written.exit_code == 0, written.output
    entries = read_m3u8(playlist)
    assert len(entries) == 5 and len({e[2] for e in entries}) == 5
    assert entries[0][2].resolve() == (small_collection / "Low Drone.wav").resolve()
    assert entries[-1][2].resolve() == (small_collection / "effects" / "Blip.wav").resolve()
    assert all(e[2].is_file() for e in entries)
    # The same request again replaces songmap's own playlist; a file of the user's is refused without --force.
    assert songmap("path", out, "--from", "Low Drone", "--to", "Blip", "--output", playlist).exit_code == 0
    mine = tmp_path / "mine.csv"
    mine.write_text("my,notes\n", encoding="utf-8")
    refused = songmap("playlist", out, "--seed-track", "Mid Hum", "--length", "3", "--output", mine)
    assert refused.exit_code == 1 and "use --force" in refused.output and mine.read_text() == "my,notes\n"
    forced = songmap("playlist", out, "--seed-track", "Mid Hum", "--length", "3", "--output", mine, "--force")
    assert forced.exit_code == 0, forced.output
    with open(mine, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["order"] for r in rows] == ["1", "2", "3"] and rows[0]["file"] == "Mid Hum.flac"
    bad = songmap("path", out, "--from", "Low Drone", "--to", "Blip", "--output", tmp_path / "p.txt")
    assert bad.exit_code == 1 and ".m3u8" in bad.output
    served = tmp_path / "navidrome.xspf"
    written = songmap("playlist", out, "--seed-track", "Mid Hum", "--length", "3", "--output", served,
                      "--relative-to", small_collection)
    assert written.exit_code == 0, written.output
    assert "<location>Mid%20Hum.flac</location>" in served.read_text(encoding="utf-8")
    lonely = songmap("playlist", out, "--seed-track", "Mid Hum", "--relative-to", small_collection)
    assert lonely.exit_code == 1 and "give --output too" in lonely.output


def test_titles_must_be_unambiguous_and_old_maps_fall_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    tracks = [track(f"{name}.ogg", x=float(i), y=0.0) for i, name in enumerate(["a/Theme", "b/Theme", "Boss", "Rain", "Wind"])]
    (out / "embeddings.json").write_text(json.dumps(make_doc(tmp_path / "in", tracks)), encoding="utf-8")
    ambiguous = songmap("path", out, "--from", "theme", "--to", "Boss")
    assert ambiguous.exit_code == 1
    assert "'theme' matches 2 tracks (a/Theme.ogg, b/Theme.ogg)" in ambiguous.output and "Traceback" not in ambiguous.output
    unknown = songmap("playlist", out, "--seed-track", "Nope", "--length", "2")
    assert unknown.exit_code == 1 and "no track 'Nope'" in unknown.output
    # An old map has no neighbours: the path runs over the map's own neighbours, and says so.
    old = songmap("path", out, "--from", "a/Theme.ogg", "--to", "Wind", "--length", "4")
    assert old.exit_code == 0, old.output
    assert "using neighbours on the map" in old.output
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in old.output.splitlines() if line.startswith("│")]
    # On a line every detour costs the same: the lowest step, then the lowest track, is inserted each time.
    assert [row[-1] for row in rows] == ["a/Theme.ogg", "b/Theme.ogg", "Boss.ogg", "Wind.ogg"]
