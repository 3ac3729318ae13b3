// The page's wire format decodes to what songmap.web.page.unpack_page_tracks reads, and its
// playlists are the text songmap.report.playlists writes next to map.html.
import assert from "node:assert/strict";
import test from "node:test";
import { audioUrlOf, NO_CLUSTER, readTracks, trackAt } from "../../src/songmap/web/static/src/wire.js";
import { clusterNameOf, groupByCluster } from "../../src/songmap/web/static/src/groups.js";
import { csv, filePaths, m3u8, playlistLocation } from "../../src/songmap/web/static/src/exports.js";
import { fixture, skip } from "./fixtures.mjs";

const exports = fixture("exports");

test("the data block's columns are the tracks page.py packed", { skip }, () => {
  const { data, tracks: expected } = exports;
  const tracks = readTracks(data);
  assert.equal(tracks.count, expected.length);
  expected.forEach((want, i) => {
    const got = trackAt(tracks, i);
    for (const key of ["title", "file", "category", "duration", "x", "y"]) assert.equal(got[key], want[key], `${key} of ${i}`);
    assert.equal(audioUrlOf(data.audio, tracks.files, i), want.audio);
    assert.equal(tracks.clusterIds[i] === NO_CLUSTER ? undefined : tracks.clusterIds[i], want.cl);
  });
});

test("M3U8 and CSV playlists are songmap's", { skip }, () => {
  const { data, baseURI, cases } = exports;
  const tracks = readTracks(data);
  const { clusterList, clusterOf } = groupByCluster(tracks, data.clusters);
  for (const { indices, name, m3u8: expectedM3u8, csv: expectedCsv } of cases) {
    const locations = indices.map((i) => playlistLocation(audioUrlOf(data.audio, tracks.files, i), baseURI));
    assert.equal(m3u8(indices.map((i) => trackAt(tracks, i)), locations, name, data.version), expectedM3u8);
    const rows = indices.map((i) => ({ ...trackAt(tracks, i), cluster: clusterNameOf(clusterList, clusterOf, i) }));
    assert.equal(csv(rows), expectedCsv);
  }
});

test("copied paths are the input folder's files, one per line", { skip }, () => {
  assert.equal(filePaths("/music/", ["a.wav", "b/c.flac"]), "/music/a.wav\n/music/b/c.flac\n");
  assert.equal(filePaths("", ["a.wav"]), "a.wav\n");
});

test("a served page's playlist points at the server's URLs", () => {
  assert.equal(playlistLocation("/audio/3", "http://127.0.0.1:8000/"), "http://127.0.0.1:8000/audio/3");
  assert.equal(playlistLocation("%23one.wav", "file:///out/map.html"), "./#one.wav");
  assert.equal(playlistLocation("bad%FF.wav", "file:///out/map.html"), "file:///out/bad%FF.wav");
});
