// The view: the world <-> screen transform, zoom, pan and fitting the map to the canvas.
import { bounds } from "../grid.js";
import { count, worldX, worldY } from "./page-data.js";
import { state } from "./state.js";
import { dom } from "./dom.js";
import { requestDraw } from "./draw.js";

function fitView() {
  if (count === 0 || state.cssWidth === 0) {
    state.view = { cx: 0, cy: 0, scale: 1 };
    state.fitScale = 1;
    return;
  }
  const b = bounds(worldX, worldY, count);
  const spanX = b.maxX - b.minX, spanY = b.maxY - b.minY;
  const margin = 48;
  const usableW = Math.max(state.cssWidth - 2 * margin, 40);
  const usableH = Math.max(state.cssHeight - 2 * margin, 40);
  let scale;
  if (spanX <= 0 && spanY <= 0) scale = 100;
  else if (spanX <= 0) scale = usableH / spanY;
  else if (spanY <= 0) scale = usableW / spanX;
  else scale = Math.min(usableW / spanX, usableH / spanY);
  state.view = { cx: (b.minX + b.maxX) / 2, cy: (b.minY + b.maxY) / 2, scale };
  state.fitScale = scale;
}

// World y grows upwards (like the model's plot); screen y grows downwards.
export function toScreenX(x) { return (x - state.view.cx) * state.view.scale + state.cssWidth / 2; }
export function toScreenY(y) { return (state.view.cy - y) * state.view.scale + state.cssHeight / 2; }
export function toWorldX(px) { return (px - state.cssWidth / 2) / state.view.scale + state.view.cx; }
export function toWorldY(py) { return state.view.cy - (py - state.cssHeight / 2) / state.view.scale; }

export function zoomAt(px, py, factor) {
  const view = state.view;
  const minScale = state.fitScale / 8, maxScale = state.fitScale * 5000;
  const newScale = Math.min(maxScale, Math.max(minScale, view.scale * factor));
  // Keep the world point under the cursor where it is.
  const wx = toWorldX(px), wy = toWorldY(py);
  view.scale = newScale;
  view.cx = wx - (px - state.cssWidth / 2) / newScale;
  view.cy = wy + (py - state.cssHeight / 2) / newScale;
  requestDraw();
}

export function panBy(dx, dy) {
  state.view.cx -= dx / state.view.scale;
  state.view.cy += dy / state.view.scale;
  requestDraw();
}

export function centreOn(index) {
  state.view.cx = worldX[index];
  state.view.cy = worldY[index];
  requestDraw();
}

export function ensureOnScreen(index) {
  const x = toScreenX(worldX[index]), y = toScreenY(worldY[index]);
  const pad = 40;
  if (x < pad || y < pad || x > state.cssWidth - pad || y > state.cssHeight - pad) centreOn(index);
}

export function resize() {
  const rect = dom.wrap.getBoundingClientRect();
  const oldW = state.cssWidth, oldH = state.cssHeight;
  state.cssWidth = Math.max(1, Math.round(rect.width));
  state.cssHeight = Math.max(1, Math.round(rect.height));
  state.pixelRatio = window.devicePixelRatio || 1;
  dom.canvas.width = Math.round(state.cssWidth * state.pixelRatio);
  dom.canvas.height = Math.round(state.cssHeight * state.pixelRatio);
  const sizeChanged = oldW !== state.cssWidth || oldH !== state.cssHeight;
  if (oldW === 0 || (state.view.scale === state.fitScale && sizeChanged)) fitView();
}

export function resetView() {
  fitView();
  requestDraw();
}
