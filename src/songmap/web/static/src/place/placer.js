// Placing dropped songs on the map, in the page: the "Place a song…" button, dropping files on
// the map, the placed list and the placed songs drawn over the map (through the map's public
// interface). Nothing is uploaded: each file is placed by pipeline.js in this page.
import { bytesOf } from "../wire.js";
import { addOverlay, requestDraw, titles, worldX, worldY } from "../map/public.js";
import { decode } from "./audio.js";
import { modelWeights } from "./encoder.js";
import { nearestTracks, placeBytes, placeSignal, placeWindows, signalsOf } from "./pipeline.js";

const model = JSON.parse(document.getElementById("songmap-model").textContent);
const PAGE_MODEL_FORMAT = 1;
let weights = null;   // the model's tensors, decoded at start-up when the page can place songs

const PLACED_COLOUR = "#ffffff";
const placed = [];  // {file, title, x, y, nearest, url}
const dom = {
  button: document.getElementById("place-button"),
  input: document.getElementById("place-input"),
  note: document.getElementById("place-note"),
  list: document.getElementById("placed-list"),
  section: document.getElementById("placed-section"),
  wrap: document.getElementById("map-wrap"),
};

function stem(name) {
  const base = name.split(/[\\/]/).pop();
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

function item(className, file) {
  const li = document.createElement("li");
  li.className = className;
  li.dataset.file = file;
  return li;
}

function span(className, text) {
  const s = document.createElement("span");
  s.className = className;
  s.textContent = text;
  return s;
}

function showPlaced(song) {
  const li = item("placed-item", song.file);
  li.dataset.x = String(song.x);
  li.dataset.y = String(song.y);
  li.append(span("placed-marker", "◆"), span("placed-title", song.title),
    span("placed-xy", `(${song.x.toFixed(3)}, ${song.y.toFixed(3)})`),
    span("placed-near", `near ${song.nearest.join(" · ")}`));
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.preload = "none";
  audio.src = song.url;
  li.append(audio);
  dom.list.append(li);
}

function showFailure(file, message) {
  const li = item("placed-error", file);
  li.setAttribute("role", "alert");
  li.textContent = `${file}: ${message}`;
  dom.list.append(li);
}

async function placeFile(file) {
  let result;
  try {
    result = await placeBytes(model, weights, await file.arrayBuffer());
  } catch (error) {
    const decodeFailed = error && error.name === "EncodingError";
    showFailure(file.name, decodeFailed
      ? "this browser cannot decode this file (format or codec not supported), so it cannot be placed"
      : `cannot be placed: ${error && error.message ? error.message : error}`);
    return null;
  }
  const [x, y] = result.xy;
  const song = { file: file.name, title: stem(file.name), x, y, nearest: nearestTracks(worldX, worldY, x, y, 3).map((i) => titles[i]),
    url: URL.createObjectURL(file) };
  placed.push(song);
  showPlaced(song);
  requestDraw();
  return song;
}

async function placeFiles(files) {
  dom.section.hidden = false;
  dom.note.textContent = `Placing ${files.length} file${files.length === 1 ? "" : "s"}…`;
  for (const file of files) await placeFile(file);  // one at a time: each decode holds a whole file
  dom.note.textContent = "Placed in this page only: nothing is uploaded.";
  document.body.dataset.placing = "done";
}

// A diamond with a dark edge: no track is drawn as one.
function drawPlaced(ctx, view) {
  const r = view.radius + 4;
  ctx.font = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
  for (const song of placed) {
    const px = view.toScreenX(song.x), py = view.toScreenY(song.y);
    ctx.beginPath();
    ctx.moveTo(px, py - r); ctx.lineTo(px + r, py); ctx.lineTo(px, py + r); ctx.lineTo(px - r, py); ctx.closePath();
    ctx.fillStyle = PLACED_COLOUR;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "rgba(14,17,23,0.95)";
    ctx.stroke();
    ctx.fillStyle = "#ffffff";
    ctx.fillText(song.title, px + r + 4, py + 4);
  }
}

export function startPlacer() {
  if (model.unavailable || model.format !== PAGE_MODEL_FORMAT) {
    dom.button.disabled = true;
    dom.note.textContent = `Placing songs is unavailable: ${model.unavailable || "the page's model format is unknown"}.`;
  } else {
    weights = modelWeights(model);
    dom.button.addEventListener("click", () => dom.input.click());
    dom.input.addEventListener("change", () => {
      const files = Array.from(dom.input.files);
      dom.input.value = "";
      if (files.length) placeFiles(files);
    });
    dom.wrap.addEventListener("dragover", (event) => {
      if (event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files")) {
        event.preventDefault();
        dom.wrap.classList.add("dropping");
      }
    });
    dom.wrap.addEventListener("dragleave", () => dom.wrap.classList.remove("dropping"));
    dom.wrap.addEventListener("drop", (event) => {
      event.preventDefault();
      dom.wrap.classList.remove("dropping");
      const files = Array.from(event.dataTransfer.files);
      if (files.length) placeFiles(files);
    });
    addOverlay(drawPlaced);
  }
}

// The placer's part of the test API (window.songmap).
export function placerTestApi() {
  return {
    placeAvailable: !model.unavailable,
    // Intermediate features of a signal already at the model's rate (parity tests against Python).
    placeFeatures(samples, duration) {
      const out = placeSignal(model, weights, Float32Array.from(samples), duration);
      return { logMel: Array.from(out.logMel.data), frames: out.logMel.cols, input: Array.from(out.input.data),
        normalised: Array.from(out.normalised.data), xy: out.xy };
    },
    // The same for a songwise map: per-window signals already at the model's rate.
    placeWindowFeatures(windows, duration) {
      const out = placeWindows(model, weights, windows.map((w) => Float32Array.from(w)), duration);
      return { images: out.windows.images.map((image) => Array.from(image)), used: out.windows.used,
        input: Array.from(out.input.data), normalised: Array.from(out.normalised.data), xy: out.xy };
    },
    // The decoded, resampled signals of a file's bytes (base64) that the map reads (its crop, or its
    // windows), with their starts, to measure the decoding and resampling.
    async placeDecode(base64) {
      const bytes = bytesOf(base64);
      const decoded = await decode(bytes.buffer, model.featureParams.sample_rate);
      const { starts, signals } = signalsOf(model, decoded);
      return { y: Array.from(signals[0]), windows: signals.map((w) => Array.from(w)), starts,
        duration: decoded.duration, rate: decoded.rate };
    },
    placed: () => placed.map(({ file, title, x, y, nearest }) => ({ file, title, x, y, nearest })),
  };
}
