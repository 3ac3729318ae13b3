// Which tracks are where: the point under the pointer, the tracks inside a lasso, the nearest
// shown tracks on the map.
import { buildGrid } from "../grid.js";
import { categoryOf, count, worldX, worldY } from "./page-data.js";
import { isInteractive, state } from "./state.js";
import { pointRadius, screenX, screenY } from "./draw.js";

const HIT_SLOP = 6;           // CSS px around a point that still count as on it

// The grid (grid.js) over the map positions, built on first use. Hit tests and the lasso look only
// at the cells their box covers (plus one cell of margin), not at every track.
let gridCells = null;
export const theGrid = () => gridCells || (gridCells = buildGrid(worldX, worldY, count));

// Calls visit(i) for every track in the cells that a screen box (of the last draw) touches.
function visitScreenBox(x0, y0, x1, y1, visit) {
  const { scale, ox, oy } = state.drawnView;
  const g = theGrid();
  const cell = (value, origin, size) => Math.floor((value - origin) / size);
  const cx0 = Math.max(0, cell((x0 - ox) / scale, g.minX, g.cellW) - 1);
  const cx1 = Math.min(g.side - 1, cell((x1 - ox) / scale, g.minX, g.cellW) + 1);
  const cy0 = Math.max(0, cell((oy - y1) / scale, g.minY, g.cellH) - 1);
  const cy1 = Math.min(g.side - 1, cell((oy - y0) / scale, g.minY, g.cellH) + 1);
  for (let cy = cy0; cy <= cy1; cy++) {
    for (let cx = cx0; cx <= cx1; cx++) {
      const c = cy * g.side + cx;
      for (let k = g.start[c]; k < g.start[c + 1]; k++) visit(g.items[k]);
    }
  }
}

export function nearestPoint(px, py, maxDistance) {
  let best = -1, bestDistance = maxDistance * maxDistance;
  // Of stacked points the one drawn last (on top, the highest index) wins.
  const consider = (i) => {
    const dx = screenX[i] - px, dy = screenY[i] - py;
    const d = dx * dx + dy * dy;
    if ((d < bestDistance || (d === bestDistance && i > best)) && isInteractive(i)) {
      best = i;
      bestDistance = d;
    }
  };
  if (Number.isFinite(maxDistance) && state.drawnView && state.drawnView.scale > 0) {
    visitScreenBox(px - maxDistance, py - maxDistance, px + maxDistance, py + maxDistance, consider);
  } else {
    for (let i = 0; i < count; i++) consider(i);
  }
  return best;
}

export function pointAt(point) {
  return nearestPoint(point.x, point.y, pointRadius() + HIT_SLOP);
}

export function nearestToCentre() {
  return nearestPoint(state.cssWidth / 2, state.cssHeight / 2, Infinity);
}

// The k nearest shown tracks on the map (ignoring the search, which is for finding a start
// point, not for limiting the neighbourhood).
export function nearestNeighbours(index, k, skipVisited) {
  const found = [];   // sorted [distance, index] pairs, at most k
  for (let i = 0; i < count; i++) {
    if (i === index || !state.shown[categoryOf[i]]) continue;
    if (skipVisited && state.visited[i]) continue;
    const dx = worldX[i] - worldX[index], dy = worldY[i] - worldY[index];
    const d = dx * dx + dy * dy;
    if (found.length === k && d >= found[k - 1][0]) continue;
    let at = found.length;
    while (at > 0 && found[at - 1][0] > d) at--;
    found.splice(at, 0, [d, i]);
    if (found.length > k) found.pop();
  }
  return found.map((pair) => pair[1]);
}

// Tracks inside a screen polygon (even-odd rule), among those shown and matching the filters.
export function tracksInPolygon(polygon) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const p of polygon) {
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y);
    maxY = Math.max(maxY, p.y);
  }
  const n = polygon.length, px = new Float64Array(n), py = new Float64Array(n);
  polygon.forEach((p, k) => {
    px[k] = p.x;
    py[k] = p.y;
  });
  const inside = [];
  const test = (i) => {
    const x = screenX[i], y = screenY[i];
    if (x < minX || x > maxX || y < minY || y > maxY || !isInteractive(i)) return;
    let odd = false;
    for (let a = 0, b = n - 1; a < n; b = a++) {
      if ((py[a] > y) !== (py[b] > y) && x < ((px[b] - px[a]) * (y - py[a])) / (py[b] - py[a]) + px[a]) odd = !odd;
    }
    if (odd) inside.push(i);
  };
  if (state.drawnView && state.drawnView.scale > 0) visitScreenBox(minX, minY, maxX, maxY, test);
  else for (let i = 0; i < count; i++) test(i);
  return Array.from(Int32Array.from(inside).sort());
}
