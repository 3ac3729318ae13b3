// The canvas: one draw() of the whole map (points, rings, labels, the tooltip), scheduled at most
// once a frame; the layers over the points are in layers.js, the many-points path in splat.js.
import { added, categories, categoryOf, categoryOfTrack, count, coverUrl, detailsOf, titles, trackOf, trajectories, worldX, worldY } from "./page-data.js";
import { isInteractive, pointedIndex, state } from "./state.js";
import { ctx, dom, formatDuration } from "./dom.js";
import { toScreenX, toScreenY, toWorldX, toWorldY } from "./view.js";
import { rgbOf, showSplatLayer, splatLayer, stampDiscs, stampTrustRings } from "./splat.js";
import { drawClusterLabels, drawHulls, drawLasso, drawPath, drawSelection, drawTrajectory, drawTrustRings } from "./layers.js";

const LABEL_ALL_LIMIT = 60;   // label every point in view when at most this many are
const LABEL_FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
const SPLAT_MIN = 5000;       // points in view from which they are stamped into pixels (splat.js)
const SPLAT_AREA = 1.0e6;     // CSS px² that the stamped points may cover in all (level of detail)
const FAINT_RGB = [141, 151, 168], FAINT_ALPHA = 0.16;   // tracks drawn as context only

// Screen positions of all tracks, recomputed from state.view by every draw().
export const screenX = new Float32Array(count);
export const screenY = new Float32Array(count);

// Drawings added on top of the map by other parts of the page (the placer's placed songs):
// overlay(ctx, {toScreenX, toScreenY, radius}) after the points and labels.
const overlays = [];

export function addOverlay(drawing) {
  overlays.push(drawing);
  requestDraw();
}

export function requestDraw() {
  if (state.drawScheduled) return;
  state.drawScheduled = true;
  requestAnimationFrame(() => {
    state.drawScheduled = false;
    draw();
  });
}

export function pointRadius() {
  // Smaller points on bigger maps (level of detail: 100 000 tracks overlap at any size).
  const base = count > 30000 ? 1.8 : count > 3000 ? 2.2 : count > 500 ? 3 : count > 60 ? 4.5 : 6.5;
  const zoom = state.view.scale / state.fitScale;
  return Math.min(base * Math.pow(Math.max(zoom, 1), 0.3), 9);
}

function niceStep(rough) {
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const fraction = rough / power;
  return (fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10) * power;
}

function drawGrid() {
  const { cssWidth, cssHeight } = state;
  const step = niceStep(110 / state.view.scale);
  ctx.beginPath();
  for (let x = Math.floor(toWorldX(0) / step) * step; toScreenX(x) <= cssWidth; x += step) {
    const sx = Math.round(toScreenX(x)) + 0.5;
    ctx.moveTo(sx, 0);
    ctx.lineTo(sx, cssHeight);
  }
  for (let y = Math.floor(toWorldY(cssHeight) / step) * step; toScreenY(y) >= 0; y += step) {
    const sy = Math.round(toScreenY(y)) + 0.5;
    ctx.moveTo(0, sy);
    ctx.lineTo(cssWidth, sy);
  }
  ctx.strokeStyle = "rgba(255,255,255,0.045)";
  ctx.lineWidth = 1;
  ctx.stroke();
}

export function ring(index, radius, colour, width) {
  ctx.beginPath();
  ctx.arc(screenX[index], screenY[index], radius, 0, 2 * Math.PI);
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.stroke();
}

export function draw() {
  const started = performance.now();
  const { view, cssWidth, cssHeight, searchMatch, clusterMatch, currentIndex } = state;
  ctx.setTransform(state.pixelRatio, 0, 0, state.pixelRatio, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);
  drawGrid();
  const drawn = { hulls: [], clusterLabels: [], trustRings: 0, selectionShown: 0, selectionRings: 0, pathVertices: 0, trajectoryVertices: 0 };
  state.lastDrawn = drawn;
  if (state.showClusters) drawHulls(drawn);

  const r = pointRadius();
  const ox = cssWidth / 2 - view.cx * view.scale, oy = cssHeight / 2 + view.cy * view.scale;
  const scale = view.scale;
  const minX = -r, minY = -r, maxX = cssWidth + r, maxY = cssHeight + r;
  const searching = state.searchQuery !== "";
  // While there is a selection, the other tracks are drawn as faint context (as many circles as
  // without one: stroking a ring round each of thousands of selected points would cost the
  // software rasteriser several times the whole map).
  const selecting = state.selection.length > 0, selected = state.selected;
  const filtering = searching || selecting || state.clusterShown.includes(false);
  state.drawnView = { scale: view.scale, ox, oy };

  // Search misses and tracks of dimmed clusters, of shown categories: faint context, drawn first;
  // then the others, one batch per category. Which tracks are in view is found first: with more
  // than SPLAT_MIN, the points are stamped into pixels (splat) instead of drawn as circles.
  // Index buffers reused by every draw: the tracks in view of each category, then the faint ones.
  const buffers = state.drawBuffers || (state.drawBuffers = { shown: new Int32Array(count), faint: new Int32Array(count) });
  const shownBuffer = buffers.shown, faintBuffer = buffers.faint;
  let shownCount = 0, faintCount = 0;
  const byCategory = [];
  for (let c = 0; c < categories.length; c++) {
    const first = shownCount, on = state.shown[c];
    const members = categories[c].members;
    // Every track's screen position (each is in one category), and which are in view.
    for (let m = 0; m < members.length; m++) {
      const j = members[m];
      const x = (screenX[j] = worldX[j] * scale + ox), y = (screenY[j] = oy - worldY[j] * scale);
      if (on) {
        if (x < minX || x > maxX || y < minY || y > maxY) continue;
        if (filtering && !(searchMatch[j] && clusterMatch[j] && (!selecting || selected[j]))) faintBuffer[faintCount++] = j;
        else shownBuffer[shownCount++] = j;
      }
    }
    byCategory.push(shownBuffer.subarray(first, shownCount));
  }
  const faint = faintBuffer.subarray(0, faintCount);
  const inView = shownBuffer.subarray(0, shownCount);
  const pointAlpha = count > 3000 ? 0.8 : 0.95;
  const splatting = faint.length + inView.length > SPLAT_MIN;
  drawn.splat = splatting;
  if (splatting) {
    // Level of detail: the points' total area is kept to about SPLAT_AREA px² (at full view of
    // 100 000 tracks, a radius of 1.3 px instead of 1.8); zoomed in, they grow as they would.
    const layer = splatLayer();
    const sr = Math.min(r, Math.sqrt(SPLAT_AREA / (Math.PI * (faint.length + inView.length))) - 0.5);
    stampDiscs(layer, faint, sr, FAINT_RGB, FAINT_ALPHA / pointAlpha);
    byCategory.forEach((batch, c) => stampDiscs(layer, batch, sr, rgbOf(categories[c].colour), 1));
    if (state.showTrust) stampTrustRings(layer, inView, r, drawn, pointAlpha);
    showSplatLayer(layer, pointAlpha);
  } else {
    if (faint.length > 0) {
      ctx.beginPath();
      for (const j of faint) {
        ctx.moveTo(screenX[j] + r, screenY[j]);
        ctx.arc(screenX[j], screenY[j], r, 0, 2 * Math.PI);
      }
      ctx.fillStyle = `rgba(${FAINT_RGB.join(",")},${FAINT_ALPHA})`;
      ctx.fill();
    }
    // One path per category: a few fill() calls instead of one per point.
    byCategory.forEach((batch, c) => {
      if (batch.length === 0) return;
      ctx.beginPath();
      for (const j of batch) {
        ctx.moveTo(screenX[j] + r, screenY[j]);
        ctx.arc(screenX[j], screenY[j], r, 0, 2 * Math.PI);
      }
      ctx.globalAlpha = pointAlpha;
      ctx.fillStyle = categories[c].colour;
      ctx.fill();
      ctx.globalAlpha = 1;
    });
  }

  if (selecting) drawSelection(r, drawn);
  if (state.showTrust && !splatting) drawTrustRings(inView, r, drawn);
  if (state.path.length > 1) drawPath(r, drawn);
  if (currentIndex >= 0 && Array.isArray(trajectories[currentIndex])) drawTrajectory(currentIndex, drawn);
  drawn.addedRings = 0;
  for (const index of added) {
    if (!isInteractive(index)) continue;
    ring(index, r + 2.5, "rgba(255,255,255,0.7)", 1);   // added by `songmap update` since training
    drawn.addedRings++;
  }
  if (state.pathStart >= 0) ring(state.pathStart, r + 4, "#7cc4ff", 2);
  if (state.pathEnd >= 0) ring(state.pathEnd, r + 4, "#7cc4ff", 2);

  if (searching && state.matchTotal <= 500) {
    for (const index of inView) ring(index, r + 2.5, "rgba(255,255,255,0.85)", 1.5);
  }
  for (const index of state.neighbours) {
    if (isInteractive(index)) ring(index, r + 3, "rgba(231,235,242,0.55)", 1.25);
  }
  if (currentIndex >= 0 && state.shown[categoryOf[currentIndex]]) {
    // The playing track: a soft halo, the point redrawn on top of its neighbours, and a
    // white ring with a dark edge that reads on any colour.
    const px = screenX[currentIndex], py = screenY[currentIndex];
    ctx.beginPath();
    ctx.arc(px, py, r + 12, 0, 2 * Math.PI);
    ctx.fillStyle = "rgba(255,255,255,0.10)";
    ctx.fill();
    ctx.beginPath();
    ctx.arc(px, py, r + 1.5, 0, 2 * Math.PI);
    ctx.fillStyle = categoryOfTrack(currentIndex).colour;
    ctx.fill();
    ring(currentIndex, r + 5, "rgba(14,17,23,0.9)", 4.5);
    ring(currentIndex, r + 5, "#ffffff", 2.5);
  }
  const pointed = pointedIndex();
  if (pointed >= 0 && pointed !== currentIndex && isInteractive(pointed)) ring(pointed, r + 3.5, "#ffffff", 2);

  // Cluster names first: the track labels then keep out of their way.
  const placed = state.showClusters ? drawClusterLabels(drawn) : [];
  drawLabels(inView, r, placed);
  if (state.lasso) drawLasso();
  for (const overlay of overlays) overlay(ctx, { toScreenX, toScreenY, radius: r });
  positionTooltip();

  state.drawTimes.push(performance.now() - started);
  if (state.drawTimes.length > 600) state.drawTimes.shift();
}


// Labels: the playing track, the pointed one and the neighbours always; every visible point
// once few enough are in view. Overlapping labels are skipped so the map never turns into a
// smear of text.
function drawLabels(inView, r, placed) {
  const { currentIndex, cssWidth, cssHeight } = state;
  const pointed = pointedIndex();
  let wanted = [];
  if (currentIndex >= 0 && isInteractive(currentIndex)) wanted.push(currentIndex);
  if (pointed >= 0 && isInteractive(pointed)) wanted.push(pointed);
  for (const index of state.neighbours) if (isInteractive(index)) wanted.push(index);
  if (state.path.length <= 40) for (const index of state.path) if (isInteractive(index)) wanted.push(index);
  if (inView.length <= LABEL_ALL_LIMIT || (state.searchQuery !== "" && state.matchTotal <= LABEL_ALL_LIMIT)) {
    wanted = wanted.concat(Array.from(inView));
  }

  ctx.font = LABEL_FONT;
  ctx.textBaseline = "middle";
  ctx.lineJoin = "round";
  const done = new Uint8Array(count);
  for (const index of wanted) {
    if (done[index]) continue;
    done[index] = 1;
    let text = titles[index];
    if (text.length > 42) text = text.slice(0, 40) + "…";
    const width = ctx.measureText(text).width;
    let x = screenX[index] + r + 6;
    const y = screenY[index];
    if (x + width > cssWidth - 4) x = screenX[index] - r - 6 - width;   // flip left at the edge
    const box = { x0: x - 3, y0: y - 9, x1: x + width + 3, y1: y + 9 };
    if (box.x0 < 0 || box.y0 < 0 || box.y1 > cssHeight) continue;
    const overlaps = placed.some((q) => box.x0 < q.x1 && box.x1 > q.x0 && box.y0 < q.y1 && box.y1 > q.y0);
    if (overlaps) continue;
    placed.push(box);
    const strong = index === currentIndex || index === pointed;
    ctx.lineWidth = 4;
    ctx.strokeStyle = "rgba(14,17,23,0.9)";
    ctx.strokeText(text, x, y);
    ctx.fillStyle = strong ? "#ffffff" : "rgba(231,235,242,0.82)";
    ctx.fillText(text, x, y);
  }
}

// The card's cover picture, loaded only when a served page's track is hovered; a track without
// one (404) hides it again.
function showCover(index) {
  const cover = dom.tooltipCover, url = coverUrl(index);
  cover.hidden = true;
  cover.onload = null;
  cover.onerror = null;
  if (url === null) return;
  cover.onload = () => { if (state.tooltipIndex === index) cover.hidden = false; };
  cover.onerror = () => { cover.hidden = true; };
  cover.src = url;
}

export function positionTooltip() {
  const tooltip = dom.tooltip;
  const index = pointedIndex();
  if (index < 0 || !isInteractive(index)) {
    tooltip.hidden = true;
    state.tooltipIndex = -1;
    return;
  }
  if (index !== state.tooltipIndex) {
    const track = trackOf(index), category = categoryOfTrack(index);
    dom.tooltipTitle.textContent = track.title;
    dom.tooltipCategory.textContent = category.label;
    dom.tooltipDot.style.background = category.colour;
    dom.tooltipDuration.textContent = formatDuration(track.duration);
    const details = detailsOf(index);
    dom.tooltipDetails.textContent = details.join(" · ");
    dom.tooltipDetails.hidden = details.length === 0;
    showCover(index);
    state.tooltipIndex = index;
  }
  tooltip.hidden = false;
  const x = toScreenX(worldX[index]), y = toScreenY(worldY[index]);
  const w = tooltip.offsetWidth, h = tooltip.offsetHeight;
  let left = x + 14, top = y - h - 12;
  if (left + w > state.cssWidth - 8) left = x - w - 14;
  if (top < 8) top = y + 14;
  tooltip.style.transform = `translate(${Math.max(8, Math.round(left))}px,${Math.round(top)}px)`;
}
