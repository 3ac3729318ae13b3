// Pointer input (click to play, shift-click for the path, drag to pan, wheel and pinch to zoom,
// the lasso) and the keyboard.
import { state } from "./state.js";
import { byId, dom, setStatus } from "./dom.js";
import { positionTooltip, requestDraw } from "./draw.js";
import { centreOn, panBy, resetView, zoomAt } from "./view.js";
import { nearestToCentre, pointAt } from "./hits.js";
import { play, playNext, playPrevious, togglePause } from "./player.js";
import { pickPathTrack, selectPolygon, setLassoMode } from "./listening.js";
import { applySearch } from "./filters.js";

const canvas = dom.canvas;

function localPoint(event) {
  const rect = canvas.getBoundingClientRect();
  return { x: event.clientX - rect.left, y: event.clientY - rect.top };
}

function hoverAt(point) {
  // Hit testing runs at most once per frame however fast the mouse moves.
  const first = state.pendingHover === null;
  state.pendingHover = point;
  if (!first) return;
  requestAnimationFrame(() => {
    const p = state.pendingHover;
    state.pendingHover = null;
    if (p === null) return;
    const index = pointAt(p);
    canvas.classList.toggle("over-point", index >= 0);
    if (index !== state.hoverIndex) {
      state.hoverIndex = index;
      positionTooltip();   // now, not a frame later with the rings
      requestDraw();
    }
  });
}

function pinchSpan() {
  const p = Array.from(state.pointers.values());
  return p.length < 2 ? 0 : Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y);
}

function pinchCentre() {
  const p = Array.from(state.pointers.values());
  return { x: (p[0].x + p[1].x) / 2, y: (p[0].y + p[1].y) / 2 };
}

function endPointer(event) {
  if (!state.pointers.has(event.pointerId)) return;
  state.pointers.delete(event.pointerId);
  if (state.pointers.size > 0) return;
  canvas.classList.remove("dragging");
  if (state.lasso) {
    const polygon = state.lasso;
    state.lasso = null;
    if (event.type === "pointerup") selectPolygon(polygon);
    requestDraw();
    return;
  }
  const wasClick = state.dragStart && !state.dragStart.moved && event.type === "pointerup";
  state.dragStart = null;
  if (!wasClick) return;
  const index = pointAt(localPoint(event));
  if (index >= 0 && event.shiftKey) pickPathTrack(index);
  else if (index >= 0) {
    state.focusIndex = -1;
    play(index);
  }
}

canvas.addEventListener("pointerup", endPointer);

function clearSearchAndPointers(target, typing) {
  const search = dom.search;
  const hadSomething = search.value !== "" || state.focusIndex >= 0 || state.hoverIndex >= 0;
  if (search.value !== "") {
    search.value = "";
    applySearch("");
  }
  state.focusIndex = -1;
  state.hoverIndex = -1;
  if (typing) target.blur();
  if (!hadSomething) setStatus("");
  requestDraw();
}

export function wireInput() {
  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    try {
      canvas.setPointerCapture(event.pointerId);
    } catch {
      // A synthetic pointer cannot be captured.
    }
    const point = localPoint(event);
    state.pointers.set(event.pointerId, point);
    if (state.pointers.size === 1 && state.lassoMode) {
      state.lasso = [point];
      state.dragStart = null;
    } else if (state.pointers.size === 1) {
      state.dragStart = { x: point.x, y: point.y, moved: false };
    } else if (state.pointers.size === 2) {
      state.pinchDistance = pinchSpan();
      if (state.dragStart) state.dragStart.moved = true;
    }
  });

  canvas.addEventListener("pointermove", (event) => {
    const point = localPoint(event);
    const pointers = state.pointers;
    if (!pointers.has(event.pointerId)) {
      hoverAt(point);
      return;
    }
    const last = pointers.get(event.pointerId);
    pointers.set(event.pointerId, point);
    if (state.lasso) {
      const end = state.lasso[state.lasso.length - 1];
      if (Math.hypot(point.x - end.x, point.y - end.y) >= 2) {
        state.lasso.push(point);
        requestDraw();
      }
      return;
    }
    if (pointers.size === 2) {
      const span = pinchSpan();
      if (state.pinchDistance > 0 && span > 0) {
        const centre = pinchCentre();
        zoomAt(centre.x, centre.y, span / state.pinchDistance);
      }
      state.pinchDistance = span;
      return;
    }
    const drag = state.dragStart;
    if (drag && !drag.moved && Math.hypot(point.x - drag.x, point.y - drag.y) > 4) {
      drag.moved = true;
      canvas.classList.add("dragging");
      state.hoverIndex = -1;
    }
    if (drag && drag.moved) panBy(point.x - last.x, point.y - last.y);
  });

  canvas.addEventListener("pointerleave", () => {
    if (state.pointers.size === 0 && state.hoverIndex >= 0) {
      state.hoverIndex = -1;
      requestDraw();
    }
    state.pendingHover = null;
    canvas.classList.remove("over-point");
  });

  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const point = localPoint(event);
    // Line- and page-mode wheels (Firefox) report far smaller deltas.
    const delta = event.deltaY * (event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? state.cssHeight : 1);
    zoomAt(point.x, point.y, Math.exp(-delta * 0.0015));
  }, { passive: false });

  canvas.addEventListener("focus", () => {
    if (state.hoverIndex >= 0) return;
    state.focusIndex = state.currentIndex >= 0 ? state.currentIndex : nearestToCentre();
    requestDraw();
  });
  canvas.addEventListener("blur", () => {
    state.focusIndex = -1;
    requestDraw();
  });

  byId("reset-view").addEventListener("click", resetView);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target.closest && target.closest("input, textarea, select, audio");
    if (event.key === "Escape") {
      if (state.lassoMode) setLassoMode(false);
      else clearSearchAndPointers(target, typing);
      return;
    }
    if (typing) return;
    const middle = [state.cssWidth / 2, state.cssHeight / 2];
    switch (event.key) {
      case "/":
        event.preventDefault();
        dom.search.focus();
        dom.search.select();
        break;
      case "n":
      case "ArrowRight":
        event.preventDefault();
        playNext();
        break;
      case "p":
      case "ArrowLeft":
        event.preventDefault();
        playPrevious();
        break;
      case "c":
        if (state.currentIndex >= 0) centreOn(state.currentIndex);
        break;
      case "f":
        byId("path-from").click();
        break;
      case "t":
        byId("path-to").click();
        break;
      case "l":
        setLassoMode(!state.lassoMode);
        break;
      case "+":
      case "=":
        zoomAt(...middle, 1.5);
        break;
      case "-":
      case "_":
        zoomAt(...middle, 1 / 1.5);
        break;
      case "0":
        resetView();
        break;
      case " ":
        // Space on a button presses it; only take it over for the map and page.
        if (target !== document.body && target !== canvas) return;
        event.preventDefault();
        togglePause();
        break;
      case "Enter":
        if (target === canvas && state.focusIndex >= 0 && event.shiftKey) pickPathTrack(state.focusIndex);
        else if (target === canvas && state.focusIndex >= 0) play(state.focusIndex);
        break;
    }
  });
}
