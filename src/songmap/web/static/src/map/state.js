// Every piece of mutable UI state, in one object, and the predicate most of the page asks of it.
import { categories, categoryOf, clusterList, count } from "./page-data.js";

export const state = {
  view: { cx: 0, cy: 0, scale: 1 },   // world point at the canvas centre; CSS px per world unit
  fitScale: 1,                        // view.scale of "fit all tracks"
  cssWidth: 0,
  cssHeight: 0,
  pixelRatio: 1,
  shown: categories.map(() => true),  // per category: shown (legend toggle)
  searchQuery: "",
  searchMatch: new Uint8Array(count).fill(1),
  matchTotal: count,
  currentIndex: -1,                   // playing (or last played) track
  hoverIndex: -1,                     // point under the mouse
  focusIndex: -1,                     // point shown for keyboard focus (list items, n/p)
  trail: [],                          // play history, for "back"
  visited: new Uint8Array(count),
  neighbours: [],
  tooltipIndex: -1,                   // track the tooltip's text was last filled in for
  drawScheduled: false,
  drawTimes: [],                      // recent redraw durations (ms), for the test API
  pointers: new Map(),                // pointerId -> {x, y} of pointers that are down
  dragStart: null,                    // {x, y, moved} while a pointer is down
  pinchDistance: 0,
  pendingHover: null,                 // pointer position waiting for the next frame's hit test
  clusterShown: clusterList.map(() => true),  // per cluster: shown (else dimmed), cluster filter
  clusterMatch: new Uint8Array(count).fill(1), // per track: its cluster is shown
  showClusters: true,                 // draw cluster outlines and names
  showTrust: false,                   // draw the "where the map is unsure" rings
  pathStart: -1,
  pathEnd: -1,
  path: [],                           // track indices from pathStart to pathEnd
  selection: [],                      // selected tracks, in listening order
  selected: new Uint8Array(count),
  queue: null,                        // {name, items, position} while a path or selection plays
  lassoMode: false,
  lasso: null,                        // screen points of the lasso being drawn
  graph: null,                        // the path graph (paths.js), built on first use
  lastDrawn: {},                      // what the last draw put on the canvas (test API)
  hullCache: [],                      // per cluster: its padded outline in screen px, last draw
  drawnView: null,                    // {scale, ox, oy}: the transform of screenX/Y (last draw)
  splat: null,                        // the pixel layer of many points (splat.js)
  drawBuffers: null,                  // index buffers of draw()
};

// A point can be hovered, clicked and navigated to only when its category is shown and it
// matches the search; other tracks of shown categories are drawn as faint context.
export function isInteractive(index) {
  return state.shown[categoryOf[index]] && state.searchMatch[index] === 1 && state.clusterMatch[index] === 1;
}

export function pointedIndex() {
  return state.hoverIndex >= 0 ? state.hoverIndex : state.focusIndex;
}
