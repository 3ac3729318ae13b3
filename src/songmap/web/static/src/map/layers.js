// What is drawn over (or, for cluster outlines, under) the points: cluster outlines and names,
// the "where the map is unsure" rings, the selection, the path, a track's trajectory, the lasso.
import { categoryOfTrack, clusterList, categoryOf, trajectories, trustworthiness } from "./page-data.js";
import { convexHull } from "../groups.js";
import { state } from "./state.js";
import { ctx } from "./dom.js";
import { screenX, screenY } from "./draw.js";
import { toScreenX, toScreenY } from "./view.js";

const CLUSTER_FONT = "600 12px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
const RING_LIMIT = 300;       // selected tracks in view that get a ring (more: only the rest is dimmed)
const HULL_PAD = 14;          // CSS px between a cluster's outermost points and its outline
export const TRUST_RGB = [255, 209, 102];                // "where the map is unsure" rings

// Cluster outlines: each cluster's convex hull, padded by HULL_PAD screen px (the hull of
// circles around its corners), filled and outlined faintly under the points.
function paddedHull(cluster) {
  const corners = [];
  for (const [x, y] of cluster.hull) {
    const sx = toScreenX(x), sy = toScreenY(y);
    for (let a = 0; a < 16; a++) {
      corners.push([sx + HULL_PAD * Math.cos(a * Math.PI / 8), sy + HULL_PAD * Math.sin(a * Math.PI / 8)]);
    }
  }
  return convexHull(corners);
}

function clusterIsDrawn(c) {
  return clusterList[c].id >= 0 && clusterList[c].members.length > 0;
}

export function drawHulls(drawn) {
  state.hullCache = [];
  for (let c = 0; c < clusterList.length; c++) {
    if (!clusterIsDrawn(c)) continue;
    const outline = paddedHull(clusterList[c]);
    state.hullCache[c] = outline;
    ctx.beginPath();
    outline.forEach(([x, y], k) => (k === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    ctx.closePath();
    const on = state.clusterShown[c];
    ctx.fillStyle = on ? "rgba(124,196,255,0.07)" : "rgba(141,151,168,0.03)";
    ctx.fill();
    ctx.setLineDash(on ? [] : [4, 4]);
    ctx.strokeStyle = on ? "rgba(124,196,255,0.38)" : "rgba(141,151,168,0.22)";
    ctx.lineWidth = 1.25;
    ctx.stroke();
    ctx.setLineDash([]);
    drawn.hulls.push(clusterList[c].name);
  }
}

// A cluster's name above its outline, where it does not overlap a name already placed.
// Returns the boxes of the names drawn.
export function drawClusterLabels(drawn) {
  ctx.font = CLUSTER_FONT;
  ctx.textBaseline = "bottom";
  const placed = [];
  for (let c = 0; c < clusterList.length; c++) {
    const outline = state.hullCache && state.hullCache[c];
    if (!outline || outline.length === 0) continue;
    let top = outline[0];
    let minX = Infinity, maxX = -Infinity;
    for (const p of outline) {
      if (p[1] < top[1]) top = p;
      minX = Math.min(minX, p[0]);
      maxX = Math.max(maxX, p[0]);
    }
    let text = clusterList[c].name;
    if (text.length > 40) text = text.slice(0, 38) + "…";
    const width = ctx.measureText(text).width;
    const x = Math.min(Math.max((minX + maxX) / 2 - width / 2, 4), state.cssWidth - width - 4);
    const y = Math.max(top[1] - 3, 16);
    const box = { x0: x - 2, y0: y - 15, x1: x + width + 2, y1: y + 1 };
    if (y > state.cssHeight || maxX < 0 || minX > state.cssWidth) continue;
    if (placed.some((q) => box.x0 < q.x1 && box.x1 > q.x0 && box.y0 < q.y1 && box.y1 > q.y0)) continue;
    placed.push(box);
    ctx.lineWidth = 4;
    ctx.lineJoin = "round";
    ctx.strokeStyle = "rgba(14,17,23,0.9)";
    ctx.strokeText(text, x, y);
    ctx.fillStyle = state.clusterShown[c] ? "rgba(168,214,255,0.95)" : "rgba(141,151,168,0.6)";
    ctx.fillText(text, x, y);
    drawn.clusterLabels.push(clusterList[c].name);
  }
  return placed;
}

// Where the map is unsure: a ring whose opacity grows as the track's trustworthiness falls
// (1 - tw, doubled, so 0.5 and below is a full ring); tracks are bucketed into five opacities
// so 10 000 rings are five strokes.
export function trustBuckets(inView) {
  const buckets = [[], [], [], [], []];
  for (const index of inView) {
    const trust = trustworthiness[index];
    if (Number.isNaN(trust)) continue;
    const doubt = Math.min(1, 2 * (1 - trust));
    if (doubt < 0.1) continue;
    buckets[Math.min(4, Math.floor(doubt * 5))].push(index);
  }
  return buckets;
}

export function drawTrustRings(inView, r, drawn) {
  trustBuckets(inView).forEach((members, b) => {
    if (members.length === 0) return;
    ctx.beginPath();
    for (const index of members) {
      const rr = r + 2.5 + b * 0.6;
      ctx.moveTo(screenX[index] + rr, screenY[index]);
      ctx.arc(screenX[index], screenY[index], rr, 0, 2 * Math.PI);
    }
    ctx.strokeStyle = `rgba(${TRUST_RGB.join(",")},${(0.4 + 0.15 * b).toFixed(2)})`;
    ctx.lineWidth = 2;
    ctx.stroke();
    drawn.trustRings += members.length;
  });
}

// Selected tracks are drawn in colour over the faint rest (in draw()); up to RING_LIMIT of
// them in view also get a white ring.
export function drawSelection(r, drawn) {
  const rr = r + 2;
  const minX = -rr, minY = -rr, maxX = state.cssWidth + rr, maxY = state.cssHeight + rr;
  const inView = [];
  for (const index of state.selection) {
    if (!state.shown[categoryOf[index]]) continue;
    const x = screenX[index], y = screenY[index];
    if (x >= minX && x <= maxX && y >= minY && y <= maxY) inView.push(index);
  }
  drawn.selectionShown = inView.length;
  if (inView.length > RING_LIMIT) return;
  ctx.beginPath();
  for (const index of inView) {
    ctx.moveTo(screenX[index] + rr, screenY[index]);
    ctx.arc(screenX[index], screenY[index], rr, 0, 2 * Math.PI);
  }
  ctx.strokeStyle = "rgba(255,255,255,0.9)";
  ctx.lineWidth = 1.5;
  ctx.stroke();
  drawn.selectionRings = inView.length;
}

function strokeLine(points, colour, width, dash) {
  ctx.beginPath();
  points.forEach(([x, y], k) => (k === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  ctx.setLineDash([]);
  ctx.strokeStyle = "rgba(14,17,23,0.85)";
  ctx.lineWidth = width + 3;
  ctx.stroke();
  ctx.setLineDash(dash || []);
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.stroke();
  ctx.setLineDash([]);
}

// The path: a line through its tracks, start to end.
export function drawPath(r, drawn) {
  const points = state.path.map((index) => [screenX[index], screenY[index]]);
  strokeLine(points, "#7cc4ff", 2.5);
  drawn.pathVertices = points.length;
}

// A track's trajectory of windows ([[x, y], ...] in map coordinates): a dashed line with a dot
// at each window, from the first window to the last.
export function drawTrajectory(index, drawn) {
  const points = trajectories[index].map(([x, y]) => [toScreenX(x), toScreenY(y)]);
  if (points.length === 0) return;
  const colour = categoryOfTrack(index).colour;
  strokeLine(points, colour, 2, [6, 4]);
  ctx.beginPath();
  for (const [x, y] of points) {
    ctx.moveTo(x + 2.5, y);
    ctx.arc(x, y, 2.5, 0, 2 * Math.PI);
  }
  ctx.fillStyle = colour;
  ctx.fill();
  drawn.trajectoryVertices = points.length;
}

export function drawLasso() {
  const points = state.lasso.map((p) => [p.x, p.y]);
  if (points.length < 2) return;
  ctx.beginPath();
  points.forEach(([x, y], k) => (k === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
  ctx.closePath();
  ctx.fillStyle = "rgba(255,209,102,0.08)";
  ctx.fill();
  ctx.setLineDash([5, 4]);
  ctx.strokeStyle = "#ffd166";
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.setLineDash([]);
}

// Labels: the playing track, the pointed one and the neighbours always; every visible point
// once few enough are in view. Overlapping labels are skipped so the map never turns into a
