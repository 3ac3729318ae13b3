// A port of songmap.evaluation.listening (find_path; its module docstring defines the
// algorithm, and tests/js/paths.test.mjs checks both give the same tracks). The graph: each
// track's feature-space neighbours (nb, nd) from the document, or, for documents without them,
// its min(10, n - 1) nearest tracks on the map (as listening.feature_neighbours of the map
// coordinates: distances rounded to 4 decimals, ties by index). Undirected: i and j are joined
// when either lists the other, at the smaller listed distance.
//
// `tracks` is {count, x, y}: the track count and map positions.
import { buildGrid } from "./grid.js";

const GRAPH_K = 10;          // map-coordinate neighbours per track when the document has none
const HOP_COST = 1e-4;       // listening.HOP_COST: added to every step's distance
const PATH_TOLERANCE = 1e-6;

// The path graph: {adjacency, widest, source}. neighbourLists(i) gives track i's [neighbours,
// distances] in the features, or is null for a map without them (then map neighbours are used,
// found through `grid`, the positions' grid.js grid, made here when not given).
export function buildPathGraph(tracks, neighbourLists, grid) {
  const { count } = tracks;
  const lists = new Array(count);
  if (neighbourLists !== null) {
    for (let i = 0; i < count; i++) lists[i] = neighbourLists(i);
  } else {
    const cells = grid || buildGrid(tracks.x, tracks.y, count);
    const k = Math.min(GRAPH_K, count - 1);
    for (let i = 0; i < count; i++) lists[i] = mapNeighbours(tracks, cells, i, k);
  }
  const joined = Array.from({ length: count }, () => new Map());
  let widest = -Infinity;
  for (let i = 0; i < count; i++) {
    const [nb, nd] = lists[i];
    for (let m = 0; m < nb.length; m++) {
      const j = nb[m], w = nd[m];
      if (j === i || !(j >= 0 && j < count)) continue;
      const weight = joined[i].has(j) ? Math.min(joined[i].get(j), w) : w;
      joined[i].set(j, weight);
      joined[j].set(i, weight);
    }
  }
  // Per track: its joined tracks in index order (the walk back takes the lowest index) and weights.
  const adjacency = joined.map((map) => {
    const others = Int32Array.from(map.keys()).sort();
    const weights = Float64Array.from(others, (j) => map.get(j));
    for (const w of weights) widest = Math.max(widest, w);
    return { others, weights };
  });
  return { adjacency, widest: widest === -Infinity ? 1 : widest, source: neighbourLists !== null ? "features" : "map" };
}

// Track i's k nearest tracks on the map, as listening.feature_neighbours of the map
// coordinates gives them: the k nearest, then their distances rounded to 4 decimals and
// ordered by those, ties by the lower index. Searched band by band of grid cells around i's
// cell, until no track further out can be among them.
function mapNeighbours(tracks, g, i, k) {
  const { x: worldX, y: worldY } = tracks;
  const cx = Math.min(g.side - 1, Math.floor((worldX[i] - g.minX) / g.cellW));
  const cy = Math.min(g.side - 1, Math.floor((worldY[i] - g.minY) / g.cellH));
  const found = [];   // sorted [distance, index] pairs, at most k
  const consider = (j) => {
    if (j === i) return;
    const d = Math.hypot(worldX[j] - worldX[i], worldY[j] - worldY[i]);
    const last = found[found.length - 1];
    if (found.length === k && (d > last[0] || (d === last[0] && j > last[1]))) return;
    let at = found.length;
    while (at > 0 && (found[at - 1][0] > d || (found[at - 1][0] === d && found[at - 1][1] > j))) at--;
    found.splice(at, 0, [d, j]);
    if (found.length > k) found.pop();
  };
  const cellSize = Math.min(g.cellW, g.cellH);
  for (let band = 0; band < g.side; band++) {
    for (let y = cy - band; y <= cy + band; y++) {
      if (y < 0 || y >= g.side) continue;
      const edge = y === cy - band || y === cy + band;
      for (let x = cx - band; x <= cx + band; x += edge ? 1 : 2 * band) {
        if (x < 0 || x >= g.side) continue;
        const c = y * g.side + x;
        for (let m = g.start[c]; m < g.start[c + 1]; m++) consider(g.items[m]);
      }
    }
    // Every track in a further band of cells is at least band * cellSize away.
    if (found.length === k && band * cellSize > found[k - 1][0]) break;
  }
  const rounded = found.map(([d, j]) => [Math.round(d * 1e4) / 1e4, j]).sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  return [rounded.map((pair) => pair[1]), rounded.map((pair) => pair[0])];
}

// Step 1: shortest distances from source, each step costing its distance + HOP_COST
// (Infinity: unreachable). Dijkstra over a binary heap of [distance, index].
function distancesFrom(graph, count, source) {
  const { adjacency } = graph;
  const distance = new Float64Array(count).fill(Infinity);
  const done = new Uint8Array(count);
  const heap = [[0, source]];
  distance[source] = 0;
  const less = (a, b) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  while (heap.length > 0) {
    const top = heap[0], last = heap.pop();
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    const [d, v] = top;
    if (done[v]) continue;
    done[v] = 1;
    const { others, weights } = adjacency[v];
    for (let m = 0; m < others.length; m++) {
      const j = others[m], next = d + (weights[m] + HOP_COST);
      if (done[j] || next >= distance[j]) continue;
      distance[j] = next;
      heap.push([next, j]);
      for (let i = heap.length - 1; i > 0;) {
        const parent = (i - 1) >> 1;
        if (!less(heap[i], heap[parent])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    }
  }
  return distance;
}

// Step 2: walk back from target; the predecessor of v is its lowest-index joined track u
// with |d[u] + w(u, v) + HOP_COST - d[v]| <= 1e-6.
function routeTo(graph, source, target, d) {
  const { adjacency } = graph;
  const route = [target];
  for (let v = target; v !== source;) {
    const { others, weights } = adjacency[v];
    let u = -1;
    for (let m = 0; m < others.length && u < 0; m++) {
      if (Math.abs(d[others[m]] + weights[m] + HOP_COST - d[v]) <= PATH_TOLERANCE) u = others[m];
    }
    v = u;
    route.push(v);
  }
  return route.reverse();
}

// w'(a, b): the distance of joined tracks, else (a bridge too) the graph's widest edge W.
function stepWeight(graph, a, b) {
  const { adjacency, widest } = graph;
  const { others, weights } = adjacency[a];
  for (let m = 0; m < others.length; m++) if (others[m] === b) return weights[m];
  return widest;
}

// The path from start to end over `graph`, length tracks (2 <= length <= n) or the shortest
// route (null). Returns the track indices, or a string saying why there is none.
export function findPath(graph, tracks, start, end, length) {
  const { count, x: worldX, y: worldY } = tracks;
  if (!(start >= 0 && start < count && end >= 0 && end < count)) return "Choose two tracks.";
  if (start === end) return "The start and the end are the same track: choose two different tracks.";
  if (length !== null && !(length >= 2 && length <= count)) return `The length must be between 2 and the map's ${count} tracks.`;
  const d = distancesFrom(graph, count, start);
  let route;
  if (Number.isFinite(d[end])) route = routeTo(graph, start, end, d);
  else {
    // Step 3: bridge the two parts of the graph where they come closest on the map.
    const dEnd = distancesFrom(graph, count, end);
    let best = Infinity, u = -1, v = -1;
    for (let a = 0; a < count; a++) {
      if (!Number.isFinite(d[a])) continue;
      for (let b = 0; b < count; b++) {
        if (!Number.isFinite(dEnd[b])) continue;
        const gap = Math.hypot(worldX[a] - worldX[b], worldY[a] - worldY[b]);
        if (gap < best) {
          best = gap;
          u = a;
          v = b;
        }
      }
    }
    route = routeTo(graph, start, u, d).concat(routeTo(graph, v, end, distancesFrom(graph, count, v)));
  }
  if (length === null || length === route.length) return route;
  return length < route.length ? spacedPath(graph, route, length) : lengthenedPath(graph, count, route, length);
}

// Step 4, N < m + 1: keep the ends and, for each j, the track nearest to L * j / (N - 1) along the route.
function spacedPath(graph, route, length) {
  const m = route.length - 1;
  const cumulative = [0];
  for (let t = 1; t <= m; t++) cumulative.push(cumulative[t - 1] + stepWeight(graph, route[t - 1], route[t]));
  const total = cumulative[m];
  const kept = [0];
  for (let j = 1; j < length - 1; j++) {
    const target = (total * j) / (length - 1);
    let best = -1;
    for (let i = kept[kept.length - 1] + 1; i <= m - (length - 1 - j); i++) {
      if (best < 0 || Math.abs(cumulative[i] - target) < Math.abs(cumulative[best] - target)) best = i;
    }
    kept.push(best);
  }
  kept.push(m);
  return kept.map((i) => route[i]);
}

// Step 4, N > m + 1: insert the cheapest detour x between P_t and P_t+1 until there are N
// tracks: least w'(P_t, x) + w'(x, P_t+1) - w'(P_t, P_t+1), ties the lowest t, then the lowest x.
function lengthenedPath(graph, count, route, length) {
  const { adjacency, widest } = graph;
  const rows = new Map();
  const row = (a) => {
    if (!rows.has(a)) {
      const values = new Float64Array(count).fill(widest);
      const { others, weights } = adjacency[a];
      for (let m = 0; m < others.length; m++) values[others[m]] = weights[m];
      rows.set(a, values);
    }
    return rows.get(a);
  };
  const list = route.slice();
  const steps = [];
  for (let t = 0; t + 1 < list.length; t++) steps.push(stepWeight(graph, list[t], list[t + 1]));
  const inList = new Uint8Array(count);
  for (const i of list) inList[i] = 1;
  while (list.length < length) {
    let best = Infinity, bestT = -1, bestX = -1;
    for (let t = 0; t + 1 < list.length; t++) {
      const ra = row(list[t]), rb = row(list[t + 1]), s = steps[t];
      for (let x = 0; x < count; x++) {
        if (inList[x]) continue;
        const cost = ra[x] + rb[x] - s;
        if (cost < best) {
          best = cost;
          bestT = t;
          bestX = x;
        }
      }
    }
    const a = list[bestT], b = list[bestT + 1];
    list.splice(bestT + 1, 0, bestX);
    inList[bestX] = 1;
    steps.splice(bestT, 1, row(a)[bestX], row(b)[bestX]);
  }
  return list;
}
