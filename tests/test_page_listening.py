"""The map page's payload of the listening keys (neighbours, clusters, trust, paths): compact, checked, optional (no browser)."""

from __future__ import annotations

import json
import re

from conftest import make_doc, track
from songmap.web.page import render_map_page
from songmap.web.page_wire import unpack_page_tracks


def payload(doc: dict) -> dict:
    html = render_map_page(doc, [f"/audio/{i}" for i in range(len(doc["tracks"]))])
    block = re.search(r'<script type="application/json" id="songmap-data">(.*?)</script>', html, re.S).group(1)
    data = json.loads(block)
    return {**data, "tracks": unpack_page_tracks(data), "raw": block}


def keyed_doc(tmp_path) -> dict:
    tracks = [
        track("a.ogg", 0.0, 0.0, neighbours=[1, 2], neighbour_distances=[0.5, 1.25], cluster=0, cluster_name="A family",
              trustworthiness=0.875, continuity=0.9, path=[[0.0, 0.0], [0.123456789, 1.0]]),
        track("b.ogg", 1.0, 0.0, neighbours=[0, 2], neighbour_distances=[0.5, 0.75], cluster=0, cluster_name="A family",
              trustworthiness=None, continuity=None),
        track("c.ogg", 2.0, 0.0, neighbours=[1, 0], neighbour_distances=[0.75, 1.25], cluster=-1, cluster_name=None,
              trustworthiness=1.0, continuity=1.0),
    ]
    doc = make_doc(tmp_path, tracks)
    doc["clusters"] = [{"id": 0, "name": "A family", "size": 2, "category": None, "centre": 1}]
    return doc


def test_the_new_keys_reach_the_page_under_short_names(tmp_path):
    data = payload(keyed_doc(tmp_path))
    first, second, third = data["tracks"]
    assert first["nb"] == [1, 2] and first["nd"] == [0.5, 1.25]
    assert (first["cl"], first["tw"], first["ct"]) == (0, 0.875, 0.9)
    assert first["path"] == [[0.0, 0.0], [0.1234568, 1.0]]
    assert "tw" not in second and "ct" not in second and "path" not in second   # None: left out
    assert third["cl"] == -1
    # The outline's corners: the cluster's two tracks (fewer than three points: the points).
    assert data["clusters"] == [{"id": 0, "name": "A family", "centre": 1, "hull": [[0.0, 0.0], [1.0, 0.0]]}]
    assert data["inputDir"] == str(tmp_path)
    for name in ("neighbours", "neighbour_distances", "cluster_name", "trustworthiness"):   # not sent at all
        assert f'"{name}"' not in data["raw"]


def test_an_old_document_gives_a_page_without_them(tmp_path):
    data = payload(make_doc(tmp_path, [track("a.ogg"), track("b.ogg", 1.0)]))
    assert data["clusters"] == []
    assert all(not {"nb", "nd", "cl", "tw", "ct", "path"} & set(entry) for entry in data["tracks"])


def test_malformed_keys_are_dropped_not_fatal(tmp_path):
    doc = keyed_doc(tmp_path)
    doc["tracks"][0].update(neighbours=[1, 7], trustworthiness=1.5, cluster=True, path=[[0, "x"]])
    doc["tracks"][1].update(neighbour_distances=[0.5])   # lengths differ
    doc["clusters"] = "not a list"
    first, second, _ = payload(doc)["tracks"]
    assert not {"nb", "nd", "tw", "cl", "path"} & set(first)
    assert "nb" not in second
    # The cluster's name still comes from the tracks' cluster_name.
    assert payload(doc)["clusters"] == [{"id": 0, "name": "A family", "centre": None, "hull": [[1.0, 0.0]]}]


def test_cluster_outlines_are_the_convex_hull_of_their_tracks(tmp_path):
    """The page draws each cluster's outline from corners page.py sends (scipy's ConvexHull)."""
    square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0), (1.0, 1.0), (0.5, 1.5), (2.0, 1.0)]
    tracks = [track(f"{i}.ogg", x, y, cluster=0) for i, (x, y) in enumerate(square)]
    tracks.append(track("far.ogg", 9.0, 9.0, cluster=1))
    hulls = {c["id"]: c["hull"] for c in payload(make_doc(tmp_path, tracks))["clusters"]}
    # Inner points and the one on an edge are not corners.
    assert sorted(map(tuple, hulls[0])) == [(0.0, 0.0), (0.0, 2.0), (2.0, 0.0), (2.0, 2.0)]
    assert hulls[1] == [[9.0, 9.0]]
