// The page's tracks, read once from its data block (read-only after start-up).
import { audioUrlOf, featureNeighbourLists, hasFeatureGraph, NO_CATEGORY, readTracks } from "../wire.js";
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

function lists() {
  if (featureLists === null) featureLists = featureNeighbourLists(data, count);
  return featureLists;
}

export function featureNeighboursOf(i) {
  const { index, start, has } = lists();
  return has[i] ? index.subarray(start[i], start[i + 1]) : null;
}

export function featureDistancesOf(i) {
  const { distance, start, has } = lists();
  return has[i] ? distance.subarray(start[i], start[i + 1]) : null;
}

export const audioUrl = (i) => audioUrlOf(data.audio, files, i);

// One track as the UI shows it (made on demand; hot loops use the columns above).
export function trackOf(i) {
  const code = tracks.categoryCode[i];
  const duration = tracks.durations[i];
  return {
    title: titles[i],
    file: files[i],
    category: code === NO_CATEGORY ? null : tracks.categoryNames[code],
    duration: Number.isNaN(duration) ? null : duration,
    x: worldX[i],
    y: worldY[i],
  };
}

export function categoryOfTrack(index) { return categories[categoryOf[index]]; }
