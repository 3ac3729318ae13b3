// The page's tracks, read once from its data block (read-only after start-up), and what they are
// coloured by: `categories`/`categoryOf` are the groups of the chosen "Colour by" key (live
// bindings: setColourBy replaces them, and every module sees the new groups).
import { audioUrlOf, featureNeighbourLists, hasFeatureGraph, neighboursIn, readTracks, trackAt } from "../wire.js";
import { groupByCluster, groupByColouring } from "../groups.js";

export const data = JSON.parse(document.getElementById("songmap-data").textContent);
export const tracks = readTracks(data);
export const { count, titles, files, trustworthiness, trajectories } = tracks;
export const worldX = tracks.x;
export const worldY = tracks.y;
export const featureGraph = hasFeatureGraph(data, count);
export const colourings = tracks.colourings;

export let colourKey = null;
export let colourLabel = "";
export let categories = [];
export let categoryOf = new Uint16Array(count);

// Colour the map by `key` (one of colourings' keys); an unknown key is ignored. Returns whether it changed.
export function setColourBy(key) {
  const chosen = colourings.find((c) => c.key === key);
  if (!chosen || key === colourKey) return false;
  ({ categories, categoryOf } = groupByColouring(count, chosen, data));
  colourKey = key;
  colourLabel = chosen.label;
  return true;
}
setColourBy(colourings.some((c) => c.key === data.colourBy) ? data.colourBy : colourings[0].key);

export const { clusterList, clusterOf } = groupByCluster(tracks, Array.isArray(data.clusters) ? data.clusters : []);

// Track i's name under a colouring key ("artist", "album", ...), or null.
export function groupName(key, i) {
  const c = colourings.find((entry) => entry.key === key);
  if (!c) return null;
  const code = c.code[i];
  return code < c.names.length ? c.names[code] : null;
}

// Tracks `songmap update` placed since the map was trained (marked on the map and in the card).
export const added = Int32Array.from(Array.isArray(data.added) ? data.added : []);
const isAdded = new Uint8Array(count);
for (const i of added) if (i >= 0 && i < count) isAdded[i] = 1;

// What the hover card shows under the title: artist, album and year, those the track has, and
// whether it was added after the map was trained.
export function detailsOf(i) {
  const year = tracks.years ? tracks.years[i] : 0;
  const details = [groupName("artist", i), groupName("album", i), year > 0 ? String(year) : null];
  if (isAdded[i]) details.push("added after training");
  return details.filter((v) => v !== null);
}

let searchText = null;   // lower-case title, artist and album for the search, made on its first use

export function lowerTitle(i) {
  if (searchText === null) {
    searchText = titles.map((t, k) => [t, groupName("artist", k), groupName("album", k)].filter((v) => v !== null).join("\n").toLowerCase());
  }
  return searchText[i];
}

// Feature-space neighbours are decoded on first use (a play or a path), not before the first draw.
let featureLists = null;

// Track i's [neighbours, distances] in the features (nearest first), or null without them.
export function featureNeighboursOf(i) {
  if (featureLists === null) featureLists = featureNeighbourLists(data, count);
  return neighboursIn(featureLists, i);
}

export const audioUrl = (i) => audioUrlOf(data.audio, files, i);

// Track i's cover picture URL on a served page, or null (a page opened from disk has none).
export const coverUrl = (i) => (typeof data.coverPrefix === "string" ? data.coverPrefix + i : null);

export const trackOf = (i) => trackAt(tracks, i);

export function categoryOfTrack(index) { return categories[categoryOf[index]]; }
