// The page's tracks, read once from its data block (read-only after start-up).
import { audioUrlOf, featureNeighbourLists, hasFeatureGraph, neighboursIn, readTracks, trackAt } from "../wire.js";
import { colourOfCategory, groupByCategory, groupByCluster } from "../groups.js";

export const data = JSON.parse(document.getElementById("songmap-data").textContent);
export const tracks = readTracks(data);
export const { count, titles, files, trustworthiness, trajectories } = tracks;
export const worldX = tracks.x;
export const worldY = tracks.y;
export const featureGraph = hasFeatureGraph(data, count);

export const { categories, categoryOf } = groupByCategory(tracks, (name) => colourOfCategory(data, name));
export const { clusterList, clusterOf } = groupByCluster(tracks, Array.isArray(data.clusters) ? data.clusters : []);

let titleLower = null;   // lower-case titles for the search, made on its first use

export function lowerTitle(i) {
  if (titleLower === null) titleLower = titles.map((t) => t.toLowerCase());
  return titleLower[i];
}

// Feature-space neighbours are decoded on first use (a play or a path), not before the first draw.
let featureLists = null;

// Track i's [neighbours, distances] in the features (nearest first), or null without them.
export function featureNeighboursOf(i) {
  if (featureLists === null) featureLists = featureNeighbourLists(data, count);
  return neighboursIn(featureLists, i);
}

export const audioUrl = (i) => audioUrlOf(data.audio, files, i);

export const trackOf = (i) => trackAt(tracks, i);

export function categoryOfTrack(index) { return categories[categoryOf[index]]; }
