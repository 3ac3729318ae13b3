// The page's paths (paths.js over the page's data block) are songmap.evaluation.listening.find_path's.
import assert from "node:assert/strict";
import test from "node:test";
import { featureNeighbourLists, hasFeatureGraph, neighboursIn, readTracks } from "../../src/songmap/web/static/src/wire.js";
import { buildPathGraph, findPath } from "../../src/songmap/web/static/src/paths.js";
import { fixture, skip } from "./fixtures.mjs";

const documents = fixture("paths") || {};

for (const [name, { data, cases }] of Object.entries(documents)) {
  test(`paths over the "${name}" document are Python's`, () => {
    const tracks = readTracks(data);
    const featureGraph = hasFeatureGraph(data, tracks.count);
    const lists = featureNeighbourLists(data, tracks.count);
    const graph = buildPathGraph(tracks, featureGraph ? (i) => neighboursIn(lists, i) : null);
    assert.equal(graph.source, name === "map" ? "map" : "features");
    for (const [start, end, length, expected] of cases) {
      assert.deepEqual(findPath(graph, tracks, start, end, length), expected, `${start} -> ${end}, ${length} tracks`);
    }
  });
}

test("a path needs two different tracks and a length that fits", { skip }, () => {
  const { data } = documents.features;
  const tracks = readTracks(data);
  const lists = featureNeighbourLists(data, tracks.count);
  const graph = buildPathGraph(tracks, (i) => neighboursIn(lists, i));
  assert.match(findPath(graph, tracks, 3, 3, null), /same track/);
  assert.match(findPath(graph, tracks, 0, 1, tracks.count + 1), /between 2 and/);
  assert.equal(findPath(graph, tracks, -1, 1, null), "Choose two tracks.");
});
