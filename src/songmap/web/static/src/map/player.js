// The player: playing a track, next (nearest unvisited neighbour) and back, and a path or a
// selection played back to back.
import { audioUrl, categoryOfTrack, count, trackOf } from "./page-data.js";
import { state } from "./state.js";
import { byId, colourDot, dom, el, formatDuration, setStatus } from "./dom.js";
import { requestDraw } from "./draw.js";
import { ensureOnScreen } from "./view.js";
import { nearestNeighbours, nearestToCentre } from "./hits.js";
import { markQueued, updateNeighbours } from "./panels.js";

export function play(index, options) {
  const fromHistory = Boolean(options && options.fromHistory);
  if (!(index >= 0 && index < count)) return;
  if (!(options && options.fromQueue)) state.queue = null;
  if (index !== state.currentIndex) {
    if (!fromHistory) state.trail.push(index);
    state.currentIndex = index;
    dom.player.src = audioUrl(index);
    showNowPlaying(index);
  }
  state.visited[index] = 1;
  setStatus("");
  const attempt = dom.player.play();
  if (attempt && attempt.catch) {
    attempt.catch((error) => {
      if (error && error.name === "NotAllowedError") setStatus("Press play to start (the browser blocked autoplay).");
      else if (error && error.name !== "AbortError") setStatus("Could not play this file.");
    });
  }
  updateNeighbours();
  ensureOnScreen(index);
  requestDraw();
}

function showNowPlaying(index) {
  const track = trackOf(index), category = categoryOfTrack(index);
  dom.nowTitle.textContent = track.title;
  dom.nowMeta.textContent = "";
  dom.nowMeta.append(
    colourDot(category.colour),
    el("span", "", category.label),
    el("span", "", "·"),
    el("span", "", formatDuration(track.duration)),
  );
  dom.nowFile.textContent = track.file;
}

export function playNext() {
  if (state.currentIndex < 0) {
    const start = nearestToCentre();
    if (start < 0) {
      setStatus("No tracks are shown.");
      return;
    }
    play(start);
  } else {
    const next = nearestNeighbours(state.currentIndex, 1, true);
    if (next.length === 0) {
      setStatus("Every shown track has been played.");
      return;
    }
    play(next[0]);
  }
  state.focusIndex = state.currentIndex;
  requestDraw();
}

export function playPrevious() {
  const trail = state.trail;
  if (trail.length < 2) {
    setStatus("Nothing to go back to.");
    return;
  }
  trail.pop();
  play(trail[trail.length - 1], { fromHistory: true });
  state.focusIndex = state.currentIndex;
  requestDraw();
}

export function togglePause() {
  if (state.currentIndex < 0) return;
  if (dom.player.paused) dom.player.play();
  else dom.player.pause();
}

// A path or a selection played back to back: queue.items from queue.position on.
export function playQueue(name, items, position) {
  if (items.length === 0) return;
  const at = Math.min(Math.max(position || 0, 0), items.length - 1);
  play(items[at], { fromQueue: true });
  state.queue = { name, items: items.slice(), position: at };
  setStatus(`Playing the ${name}: ${at + 1} of ${items.length}`);
  markQueued();
}

function advanceQueue() {
  const queue = state.queue;
  if (queue.position + 1 >= queue.items.length) {
    state.queue = null;
    setStatus(`End of the ${queue.name}.`);
    markQueued();
    return;
  }
  playQueue(queue.name, queue.items, queue.position + 1);
}

export function wirePlayer() {
  dom.player.addEventListener("ended", () => {
    if (state.queue) advanceQueue();
    else if (dom.autoplay.checked) playNext();
  });
  dom.player.addEventListener("error", () => {
    if (state.currentIndex >= 0) setStatus("Could not load the audio of this track.");
  });
  byId("next").addEventListener("click", () => playNext());
  byId("back").addEventListener("click", () => playPrevious());
}
