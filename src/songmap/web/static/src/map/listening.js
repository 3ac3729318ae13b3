// The listening tools on the map: the path between two tracks (paths.js) and the selection
// (lasso or "select in view"), in listening order.
import { buildPathGraph, findPath } from "../paths.js";
import { count, featureGraph, featureNeighboursOf, tracks, worldX, worldY } from "./page-data.js";
import { state } from "./state.js";
import { byId, dom, setStatus } from "./dom.js";
import { requestDraw } from "./draw.js";
import { toWorldX, toWorldY } from "./view.js";
import { theGrid, tracksInPolygon } from "./hits.js";
import { playQueue } from "./player.js";
import { renderPathPanel, renderQueueList, setButtons } from "./panels.js";
import { copyText, csvOf, download, filePathsOf, m3u8Of, playlistName, xspfOf } from "./downloads.js";

const CHAIN_LIMIT = 2000;     // a selection up to this size is ordered as a nearest-neighbour chain

// The path graph of this map, built on first use.
export function pathGraph() {
  if (!state.graph) {
    state.graph = featureGraph ? buildPathGraph(tracks, featureNeighboursOf) : buildPathGraph(tracks, null, theGrid());
  }
  return state.graph;
}

// The path from start to end of `length` tracks (null: the shortest), or a string saying why there is none.
export const pathBetween = (start, end, length) => findPath(pathGraph(), tracks, start, end, length);

function pathLength() {
  const value = Number.parseInt(dom.pathLength.value, 10);
  return Number.isFinite(value) && value >= 2 ? value : null;
}

export function setPathEnd(which, index) {
  if (!(index >= 0 && index < count)) return;
  if (which === "start") state.pathStart = index;
  else state.pathEnd = index;
  if (state.pathStart === state.pathEnd) {
    if (which === "start") state.pathEnd = -1;
    else state.pathStart = -1;
  }
  updatePath();
}

// Shift-click: the first pick is the start, the second the end; a third starts over.
export function pickPathTrack(index) {
  if (state.pathStart < 0 || state.pathEnd >= 0) {
    state.pathStart = index;
    state.pathEnd = -1;
    updatePath();
  } else {
    setPathEnd("end", index);
  }
}

function clearPath() {
  state.pathStart = -1;
  state.pathEnd = -1;
  updatePath();
}

function updatePath() {
  const { pathStart, pathEnd } = state;
  state.path = [];
  let problem = "";
  if (pathStart >= 0 && pathEnd >= 0) {
    const found = pathBetween(pathStart, pathEnd, pathLength());
    if (typeof found === "string") problem = found;
    else state.path = found;
  }
  if (state.queue && state.queue.name === "path") state.queue = null;
  renderPathPanel(problem);
  requestDraw();
}

export function setSelection(indices) {
  state.selected.fill(0);
  for (const index of indices) state.selected[index] = 1;
  state.selection = indices;
  if (state.queue && state.queue.name === "selection") state.queue = null;
  const n = indices.length;
  dom.selectionCount.textContent = n === 0 ? "Nothing selected." : `${n} ${n === 1 ? "track" : "tracks"} selected`;
  renderQueueList(dom.selectionList, "selection", indices);
  setButtons("selection", n > 0);
  requestDraw();
  announceSelection(indices);
}

// Embedded in a notebook (songmap.show), the page tells its parent what is selected, so Python
// can read it back; only row numbers leave the page, and only to the window that embeds it.
function announceSelection(indices) {
  if (window.parent !== window) window.parent.postMessage({ songmap: "selection", indices: Array.from(indices) }, "*");
}

// Listening order of a selection: a nearest-neighbour chain over map positions from the
// track nearest to `from` (the lasso's first point); past CHAIN_LIMIT tracks, by distance from it.
function listeningOrder(indices, from) {
  if (indices.length === 0) return indices;
  const fx = toWorldX(from.x), fy = toWorldY(from.y);
  const byDistance = (i) => (worldX[i] - fx) ** 2 + (worldY[i] - fy) ** 2;
  if (indices.length > CHAIN_LIMIT) {
    const distance = Float64Array.from(indices, byDistance);
    const order = Array.from(indices.keys()).sort((a, b) => distance[a] - distance[b] || indices[a] - indices[b]);
    return order.map((k) => indices[k]);
  }
  const left = indices.slice();
  let at = 0;
  for (let k = 1; k < left.length; k++) if (byDistance(left[k]) < byDistance(left[at])) at = k;
  const order = [];
  while (left.length > 0) {
    const current = left[at];
    order.push(current);
    left[at] = left[left.length - 1];
    left.pop();
    let best = -1, bestDistance = Infinity;
    for (let k = 0; k < left.length; k++) {
      const d = (worldX[left[k]] - worldX[current]) ** 2 + (worldY[left[k]] - worldY[current]) ** 2;
      if (d < bestDistance || (d === bestDistance && left[k] < left[best])) {
        best = k;
        bestDistance = d;
      }
    }
    at = best;
  }
  return order;
}


export function selectPolygon(polygon) {
  if (polygon.length < 3) return;
  const inside = tracksInPolygon(polygon);
  setSelection(listeningOrder(inside, polygon[0]));
  setStatus(inside.length === 0 ? "The lasso caught no shown track." : "");
}

function selectInView() {
  const corners = [
    { x: 0, y: 0 }, { x: state.cssWidth, y: 0 }, { x: state.cssWidth, y: state.cssHeight }, { x: 0, y: state.cssHeight },
  ];
  const inside = tracksInPolygon(corners);
  setSelection(listeningOrder(inside, { x: state.cssWidth / 2, y: state.cssHeight / 2 }));
}

export function setLassoMode(on) {
  state.lassoMode = on;
  state.lasso = null;
  dom.lasso.setAttribute("aria-pressed", String(on));
  dom.lassoNote.hidden = !on;
  dom.canvas.classList.toggle("lasso", on);
  requestDraw();
}

export function wireListening() {
  byId("path-from").addEventListener("click", () => {
    if (state.currentIndex < 0) setStatus("Play a track first: the path starts at the playing track.");
    else setPathEnd("start", state.currentIndex);
  });
  byId("path-to").addEventListener("click", () => {
    if (state.currentIndex < 0) setStatus("Play a track first: the path ends at the playing track.");
    else setPathEnd("end", state.currentIndex);
  });
  dom.pathLength.addEventListener("change", () => updatePath());
  byId("path-play").addEventListener("click", () => playQueue("path", state.path, 0));
  byId("path-clear").addEventListener("click", clearPath);
  byId("path-m3u").addEventListener("click", () => download("songmap-path.m3u8", m3u8Of(state.path, playlistName("path")), "audio/x-mpegurl"));
  byId("path-xspf").addEventListener("click", () => download("songmap-path.xspf", xspfOf(state.path, playlistName("path")), "application/xspf+xml"));
  byId("path-csv").addEventListener("click", () => download("songmap-path.csv", csvOf(state.path), "text/csv"));
  dom.lasso.addEventListener("click", () => setLassoMode(!state.lassoMode));
  byId("select-view").addEventListener("click", selectInView);
  byId("selection-play").addEventListener("click", () => playQueue("selection", state.selection, 0));
  byId("selection-clear").addEventListener("click", () => setSelection([]));
  byId("selection-m3u").addEventListener("click", () => download("songmap-selection.m3u8", m3u8Of(state.selection, playlistName("selection")), "audio/x-mpegurl"));
  byId("selection-xspf").addEventListener("click", () => download("songmap-selection.xspf", xspfOf(state.selection, playlistName("selection")), "application/xspf+xml"));
  byId("selection-csv").addEventListener("click", () => download("songmap-selection.csv", csvOf(state.selection), "text/csv"));
  byId("selection-copy").addEventListener("click", () => copyText(filePathsOf(state.selection)));
}
