// The page's wire format decodes to what songmap.web.page.unpack_page_tracks reads, and its
// playlists are the text songmap.report.playlists writes next to map.html.
import assert from "node:assert/strict";
import test from "node:test";
import { audioUrlOf, NO_CLUSTER, readTracks, trackAt } from "../../src/songmap/web/static/src/wire.js";
import { clusterNameOf, groupByCluster } from "../../src/songmap/web/static/src/groups.js";
import { csv, filePaths, m3u8, playlistLocation, relativeLocation, xspf } from "../../src/songmap/web/static/src/exports.js";
import { fixture, skip } from "./fixtures.mjs";

const exports = fixture("exports");
// A page track with the artist and album the page's colourings give it.
const withTags = (tracks, i) => ({ ...trackAt(tracks, i), artist: exports.artists[i], album: exports.albums[i] });

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
  for (const { indices, name, m3u8: expectedM3u8, xspf: expectedXspf, csv: expectedCsv } of cases) {
    const locations = indices.map((i) => playlistLocation(audioUrlOf(data.audio, tracks.files, i), baseURI));
    assert.equal(m3u8(indices.map((i) => trackAt(tracks, i)), locations, name, data.version), expectedM3u8);
    assert.equal(xspf(indices.map((i) => withTags(tracks, i)), locations, name, data.version), expectedXspf);
    const rows = indices.map((i) => ({ ...trackAt(tracks, i), cluster: clusterNameOf(clusterList, clusterOf, i) }));
    assert.equal(csv(rows), expectedCsv);
  }
});

test("playlists relative to a folder are songmap's --relative-to, and refused for a folder missing tracks", { skip }, () => {
  const { data, relative, inputDir, files } = exports;
  const tracks = readTracks(data);
  for (const { base, indices, expected } of relative) {
    const locations = indices.map((i) => relativeLocation(inputDir, files[i], base));
    // Python refuses a track outside the folder and one that only a file:// URI can name.
    const refused = locations.some((location) => location === null || location.startsWith("file:"));
    assert.equal(refused, expected === null, base);
    if (refused) continue;
    assert.equal(m3u8(indices.map((i) => trackAt(tracks, i)), locations, "Mix", data.version), expected.m3u8);
    assert.equal(xspf(indices.map((i) => withTags(tracks, i)), locations, "Mix", data.version), expected.xspf);
  }
  assert.equal(relativeLocation("/music/in", "a.wav", "/music/"), "in/a.wav");
  assert.equal(relativeLocation("/music/in", "a.wav", "/music/in/../in"), "a.wav");
  assert.equal(relativeLocation("/music/in", "a.wav", "/musicals"), null);
  assert.equal(relativeLocation("/music", "caf\udce9.ogg", "/"), "file:///music/caf%E9.ogg");
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
