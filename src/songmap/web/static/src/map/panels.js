// The side panels' lists: the neighbours of the playing track, the search results, the path and
// the selection, and the summary line; every entry is a trackItem.
import { categories, categoryOfTrack, clusterList, colourKey, count, data, featureNeighboursOf, titles, trackOf } from "./page-data.js";
import { isInteractive, state } from "./state.js";
import { byId, colourDot, dom, el, formatDuration } from "./dom.js";
import { requestDraw } from "./draw.js";
import { nearestNeighbours } from "./hits.js";
import { play, playQueue } from "./player.js";
import { pathGraph } from "./listening.js";

const NEIGHBOUR_COUNT = 8;
const RESULT_LIMIT = 50;
const LIST_LIMIT = 100;       // entries shown in the path and selection lists (all are played and exported)
const MAP_ONLY_TITLE = "Near on the map, but not among this track's nearest in the features: the map may mislead here";

export function updateNeighbours() {
  const current = state.currentIndex;
  state.neighbours = current >= 0 ? nearestNeighbours(current, NEIGHBOUR_COUNT, false) : [];
  dom.neighbours.textContent = "";
  const listed = current >= 0 ? featureNeighboursOf(current) : null;
  const featureNeighbours = listed !== null ? new Set(listed[0]) : null;
  for (const index of state.neighbours) {
    const mapOnly = featureNeighbours !== null && !featureNeighbours.has(index);
    dom.neighbours.append(trackItem(index, mapOnly ? { mark: "map-only", markTitle: MAP_ONLY_TITLE } : {}));
  }
  dom.neighboursEmpty.hidden = state.neighbours.length > 0;
  if (current >= 0 && state.neighbours.length === 0) dom.neighboursEmpty.textContent = "No other shown tracks.";
}

// A list entry (neighbours, search results) that plays its track; focusing it (keyboard) or
// hovering it points the track out on the map with the tooltip.
// options: mark (a short text shown after the title, e.g. "map-only") with markTitle, and
// onPlay (what a click does instead of playing the track alone).
export function trackItem(index, options) {
  const { mark, markTitle, onPlay } = options || {};
  const track = trackOf(index);
  const button = el("button", "track-btn");
  button.type = "button";
  if (state.visited[index]) button.classList.add("visited");
  button.append(colourDot(categoryOfTrack(index).colour), el("span", "name", track.title));
  if (mark) {
    const markNode = el("span", "mark", mark);
    if (markTitle) markNode.title = markTitle;
    button.append(markNode);
  }
  button.append(el("span", "sub", formatDuration(track.duration)));
  button.title = mark ? `${track.title} (${mark})` : track.title;
  button.dataset.index = String(index);
  const point = () => {
    state.focusIndex = index;
    requestDraw();
  };
  const unpoint = () => {
    if (state.focusIndex === index) {
      state.focusIndex = -1;
      requestDraw();
    }
  };
  button.addEventListener("click", () => (onPlay ? onPlay() : play(index)));
  button.addEventListener("focus", point);
  button.addEventListener("blur", unpoint);
  button.addEventListener("mouseenter", point);
  button.addEventListener("mouseleave", unpoint);
  const item = el("li");
  item.append(button);
  return item;
}

export function setButtons(prefix, enabled) {
  for (const name of ["play", "m3u", "xspf", "csv", "copy", "clear"]) {
    const button = byId(`${prefix}-${name}`);
    if (button) button.disabled = !enabled;
  }
}

// A list of tracks that plays from the clicked entry on, back to back.
export function renderQueueList(list, name, items) {
  list.textContent = "";
  const shown = Math.min(items.length, LIST_LIMIT);
  for (let k = 0; k < shown; k++) {
    list.append(trackItem(items[k], { onPlay: () => playQueue(name, items, k) }));
  }
  if (items.length > shown) list.append(el("li", "empty-note", `… and ${items.length - shown} more (all are played and exported)`));
  markQueued();
}

// The entry of the queue's playing track is highlighted in its list.
export function markQueued() {
  for (const [list, name] of [[dom.pathList, "path"], [dom.selectionList, "selection"]]) {
    const buttons = list.querySelectorAll(".track-btn");
    buttons.forEach((button, k) => {
      const on = state.queue !== null && state.queue.name === name && state.queue.position === k;
      button.classList.toggle("queued", on);
      if (on) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    });
  }
}

export function renderPathPanel(problem) {
  const { pathStart, pathEnd, path } = state;
  const ends = dom.pathEnds;
  ends.textContent = "";
  if (pathStart < 0 && pathEnd < 0) {
    ends.textContent = "Shift-click a start and an end on the map, or use “Path from here” / “Path to here”.";
  } else {
    const name = (index) => (index >= 0 ? el("b", "", titles[index]) : el("span", "", "(not chosen)"));
    ends.append("From ", name(pathStart), " to ", name(pathEnd));
    if (problem) ends.append(el("div", "", problem));
    else if (path.length > 0) {
      const source = pathGraph().source === "features" ? "through the features' neighbours" : "through map neighbours (this map has no feature neighbours)";
      ends.append(el("div", "", `${path.length} tracks, ${source}`));
    } else if (pathEnd < 0) ends.append(el("div", "", "Now shift-click the end (or play it and press “Path to here”)."));
    else ends.append(el("div", "", "Now shift-click the start (or play it and press “Path from here”)."));
  }
  renderQueueList(dom.pathList, "path", path);
  setButtons("path", path.length > 0);
  byId("path-clear").disabled = pathStart < 0 && pathEnd < 0;
}


export function renderResults() {
  const list = dom.results;
  list.textContent = "";
  dom.resultsSection.hidden = state.searchQuery === "";
  if (state.searchQuery === "") return;
  let shown = 0;
  for (let i = 0; i < count && shown < RESULT_LIMIT; i++) {
    if (isInteractive(i)) {
      list.append(trackItem(i));
      shown++;
    }
  }
  if (shown === 0) list.append(el("li", "empty-note", "No shown track matches."));
  else if (state.matchTotal > shown) list.append(el("li", "empty-note", `… and ${state.matchTotal - shown} more`));
}

export function updateSummary() {
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const shown = categories.reduce((sum, category, c) => sum + (state.shown[c] ? category.members.length : 0), 0);
  let text = plural(count, "track", "tracks");
  if (shown !== count) text += ` (${shown} shown)`;
  if (colourKey === "category") text += ` · ${plural(categories.length, "category", "categories")}`;
  const named = clusterList.filter((c) => c.id >= 0).length;
  if (named > 0) text += ` · ${plural(named, "cluster", "clusters")}`;
  if (data.skipped) text += ` · ${data.skipped} skipped`;
  dom.summary.textContent = text;
}
