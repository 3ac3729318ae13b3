// The tracks grouped as the legends show them: by what they are coloured by and by cluster, with
// each cluster's outline (its convex hull on the map).
import { NO_CATEGORY } from "./wire.js";

const NO_CLUSTER_LABEL = "in no cluster";
// The eight directions of a cluster hull's first pass (hullOf): x, x + y, y, -x + y, -x, ...
const DIRECTION_X = Float64Array.of(1, 1, 0, -1, -1, -1, 0, 1), DIRECTION_Y = Float64Array.of(0, 1, 1, 1, 0, -1, -1, -1);

// A category's colour: from the palette map.png uses (songmap.report.palette), sent with the data.
export function colourOfCategory(data, name) {
  const colours = data.categoryColours || {};
  return name !== null && Object.hasOwn(colours, name) ? colours[name] : data.uncategorisedColour;
}

// The groups of one "Colour by" choice (wire.js readColourings): its names in the order sent
// (sorted names, or bins from low to high) with their colours, then its "none" entry. A page made
// before the choices existed sends only category colours (colourOfCategory), and its names are sorted here.
export function groupByColouring(count, colouring, data) {
  const given = colouring.colours;
  const colourByName = given ? new Map(colouring.names.map((name, k) => [name, given[k]])) : null;
  const colourOf = given
    ? (name) => (name === null ? colouring.noneColour : colourByName.get(name))
    : (name) => colourOfCategory(data, name);
  return groupByCode(count, colouring.names, colouring.code, colourOf, colouring.noneLabel, !given);
}

// Tracks grouped by a code column (index into names, NO_CATEGORY: none), names sorted first when
// `sort` is true, then the "none" entry last; categoryOf[i] is the index of track i's group and
// group.members the tracks of each.
function groupByCode(count, categoryNames, categoryCode, colourOf, noneLabel, sort = true) {
  const used = new Uint8Array(categoryNames.length);
  let hasNull = false;
  for (let i = 0; i < count; i++) {
    if (categoryCode[i] === NO_CATEGORY) hasNull = true;
    else used[categoryCode[i]] = 1;
  }
  const names = categoryNames.filter((_, k) => used[k]);
  const sorted = sort ? names.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : names;
  const list = sorted.map((name) => ({ name, label: name, colour: colourOf(name), members: [] }));
  if (hasNull) list.push({ name: null, label: noneLabel, colour: colourOf(null), members: [] });
  const indexByName = new Map(sorted.map((name, index) => [name, index]));
  const listIndex = Int32Array.from(categoryNames, (name) => (indexByName.has(name) ? indexByName.get(name) : -1));
  const of = new Uint16Array(count);
  const sizes = new Int32Array(list.length);
  for (let i = 0; i < count; i++) {
    const c = categoryCode[i] === NO_CATEGORY ? list.length - 1 : listIndex[categoryCode[i]];
    of[i] = c;
    sizes[c]++;
  }
  list.forEach((category, c) => { category.members = new Int32Array(sizes[c]); });
  sizes.fill(0);
  for (let i = 0; i < count; i++) list[of[i]].members[sizes[of[i]]++] = i;
  return { categories: list, categoryOf: of };
}

// Clusters: `listed` (the data's clusters, {id, name, centre, hull}) that have members;
// clusterOf[i] is the index into clusterList of track i's cluster, or the last entry
// ("in no cluster") for -1.
export function groupByCluster(tracks, listed) {
  const { count, clusterIds } = tracks;
  const list = listed.map((c) => ({ id: c.id, name: String(c.name), centre: c.centre, members: [], hull: [] }));
  const indexById = new Map(list.map((c, index) => [c.id, index]));
  const none = { id: -1, name: NO_CLUSTER_LABEL, centre: null, members: [], hull: [] };
  const of = new Int32Array(count).fill(-1);
  const sizes = new Int32Array(list.length + 1);
  for (let i = 0; i < count; i++) {
    const c = indexById.get(clusterIds[i]);
    of[i] = c === undefined ? -1 : c;
    sizes[c === undefined ? list.length : c]++;
  }
  list.forEach((cluster, c) => { cluster.members = new Int32Array(sizes[c]); });
  none.members = new Int32Array(sizes[list.length]);
  sizes.fill(0);
  for (let i = 0; i < count; i++) {
    const c = of[i], into = c < 0 ? none : list[c];
    into.members[sizes[c < 0 ? list.length : c]++] = i;
  }
  // The hull's corners come with the data (songmap/web/page_tracks.py); a page without them computes them.
  list.forEach((cluster, c) => {
    const given = listed[c].hull;
    cluster.hull = Array.isArray(given) ? convexHull(given) : hullOf(cluster.members, tracks.x, tracks.y);
  });
  if (list.length > 0 && none.members.length > 0) {
    for (const i of none.members) of[i] = list.length;
    list.push(none);
  }
  return { clusterList: list, clusterOf: of };
}

// The convex hull of tracks (their map positions xs, ys), as convexHull gives it. Tracks strictly
// inside the octagon of the extremes in eight directions cannot be corners and are dropped
// first (Akl-Toussaint), so 100 000 tracks cost one pass and a sort of a few hundred.
function hullOf(members, xs, ys) {
  const n = members.length;
  if (n === 0) return [];
  // Extremes along x, x + y, y, -x + y, -x, -x - y, -y, x - y: an octagon, counter-clockwise.
  const best = new Float64Array(8).fill(-Infinity), extreme = new Int32Array(8);
  for (let m = 0; m < n; m++) {
    const i = members[m], x = xs[i], y = ys[i];
    for (let d = 0; d < 8; d++) {
      const v = DIRECTION_X[d] * x + DIRECTION_Y[d] * y;
      if (v > best[d]) {
        best[d] = v;
        extreme[d] = i;
      }
    }
  }
  const ax = new Float64Array(8), ay = new Float64Array(8), ex = new Float64Array(8), ey = new Float64Array(8);
  for (let d = 0; d < 8; d++) {
    ax[d] = xs[extreme[d]];
    ay[d] = ys[extreme[d]];
  }
  for (let d = 0; d < 8; d++) {
    ex[d] = ax[(d + 1) % 8] - ax[d];
    ey[d] = ay[(d + 1) % 8] - ay[d];
  }
  const points = [];
  for (let m = 0; m < n; m++) {
    const i = members[m], x = xs[i], y = ys[i];
    let d = 0;
    while (d < 8 && ex[d] * (y - ay[d]) - ey[d] * (x - ax[d]) > 0) d++;
    if (d < 8) points.push([x, y]);
  }
  return convexHull(points);
}

// Andrew's monotone chain: the convex hull of [x, y] points, counter-clockwise.
export function convexHull(points) {
  const sorted = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (sorted.length < 3) return sorted;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [], upper = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

// The name of track `index`'s cluster, or null in none (as the playlists' cluster_name).
export function clusterNameOf(clusterList, clusterOf, index) {
  return clusterList.length > 0 && clusterList[clusterOf[index]].id >= 0 ? clusterList[clusterOf[index]].name : null;
}
