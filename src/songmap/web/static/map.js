// The map page's script: inlined into map.html by songmap/web/page.py (the CSP allows it by hash).
//
// Sections, in order: constants, data (read-only after start-up), state (every piece of mutable
// UI state, in one object), DOM, view (world <-> screen transform, zoom, pan), render (canvas,
// overlays, labels, tooltip), hit tests, neighbours, paths, player, track lists, path and
// selection panels, exports, search, legend and cluster filter, pointer input (lasso), keyboard
// input, start-up and the test API (window.songmap, see page.py's docstring).
// It is one file (longer than the ~400 lines a module aims for) because it is one classic script,
// inlined whole and allowed by one hash; the sections above keep it navigable.
//
// Untrusted text (titles, file names, categories) only ever reaches the DOM through textContent.
(() => {
  "use strict";

  // ------------------------------------------------------------- constants --
  const UNCATEGORISED_LABEL = "uncategorised";
  const NEIGHBOUR_COUNT = 8;
  const RESULT_LIMIT = 50;
  const LABEL_ALL_LIMIT = 60;   // label every point in view when at most this many are
  const HIT_SLOP = 6;           // CSS px around a point that still count as on it
  const LABEL_FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
  const CLUSTER_FONT = "600 12px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
  const GRAPH_K = 10;           // map-coordinate neighbours per track when the document has none
  const LIST_LIMIT = 100;       // entries shown in the path and selection lists (all are played and exported)
  const RING_LIMIT = 300;       // selected tracks in view that get a ring (more: only the rest is dimmed)
  const CHAIN_LIMIT = 2000;     // a selection up to this size is ordered as a nearest-neighbour chain
  const HULL_PAD = 14;          // CSS px between a cluster's outermost points and its outline
  const NO_CLUSTER_LABEL = "in no cluster";
  const SPLAT_MIN = 5000;       // points in view from which they are stamped into pixels (see "splat")
  const SPLAT_AREA = 1.0e6;     // CSS px² that the stamped points may cover in all (level of detail)
  const FAINT_RGB = [141, 151, 168], FAINT_ALPHA = 0.16;   // tracks drawn as context only
  const TRUST_RGB = [255, 209, 102];                       // "where the map is unsure" rings
  // The eight directions of a cluster hull's first pass (hullOf): x, x + y, y, -x + y, -x, ...
  const DIRECTION_X = Float64Array.of(1, 1, 0, -1, -1, -1, 0, 1), DIRECTION_Y = Float64Array.of(0, 1, 1, 1, 0, -1, -1, -1);
  const MAP_ONLY_TITLE = "Near on the map, but not among this track's nearest in the features: the map may mislead here";

  // ------------------------------------------------------------------ data --
  // The data block (songmap/web/page.py, format 2) holds the tracks column-wise: numbers as
  // little-endian typed arrays in base64, strings as JSON arrays. They are decoded once, here,
  // into typed arrays; no per-track objects are made (a page may hold 100 000 tracks).
  const data = JSON.parse(document.getElementById("songmap-data").textContent);
  const count = data.count;

  function bytesOf(text) {
    if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text || "");
    const binary = atob(text || "");
    const bytes = new Uint8Array(binary.length);
    for (let k = 0; k < binary.length; k++) bytes[k] = binary.charCodeAt(k);
    return bytes;
  }

  // A typed array (the page's byte order is little-endian, as every browser's is) over the bytes.
  function column(text, Type) {
    const bytes = bytesOf(text);
    return new Type(bytes.buffer, bytes.byteOffset, bytes.byteLength / Type.BYTES_PER_ELEMENT);
  }

  const NO_CATEGORY = 0xffff, NO_CLUSTER = -2, NO_UNIT = 0xffff, UNIT_SCALE = 10000;
  const titles = data.titles;   // strings (page.py makes every title a string)
  const files = data.files;
  const categoryNames = data.categoryNames;
  const categoryCode = column(data.category, Uint16Array);   // index into categoryNames, NO_CATEGORY: none
  // Hot loops (drawing, hit testing, neighbour search) run over typed arrays, with indexed
  // loops: the first draw runs before the JIT has warmed up, where iterators cost.
  const worldX = column(data.x, Float64Array);
  const worldY = column(data.y, Float64Array);
  const durations = column(data.duration, Float64Array);   // NaN: unknown
  const clusterIds = data.cluster ? column(data.cluster, Int32Array) : new Int32Array(count).fill(NO_CLUSTER);
  const unitColumn = (key) => {
    const values = new Float64Array(count).fill(NaN);
    const stored = data[key] ? column(data[key], Uint16Array) : new Uint16Array(0);
    for (let i = 0; i < stored.length; i++) if (stored[i] !== NO_UNIT) values[i] = stored[i] / UNIT_SCALE;
    return values;
  };
  const trustworthiness = unitColumn("tw");   // NaN: not in the document
  const trajectories = data.paths || {};       // track index -> [[x, y], ...] of its windows
  let titleLower = null;   // lower-case titles for the search, made on its first use

  // Feature-space neighbours, nearest first, with distances: track i's are index/distance
  // [start[i], start[i + 1]); has[i] is 0 for a track without them. Decoded on first use (a play
  // or a path), not before the first draw.
  let featureLists = null;

  function featureNeighbourLists() {
    if (featureLists === null) {
      const has = new Uint8Array(count).fill(data.nb ? 1 : 0);
      for (const i of data.nbMissing || []) has[i] = 0;
      featureLists = {
        index: data.nb ? column(data.nb, Int32Array) : new Int32Array(0),
        distance: data.nd ? column(data.nd, Float32Array) : new Float32Array(0),
        start: data.nbStart ? column(data.nbStart, Int32Array) : Int32Array.from({ length: count + 1 }, (_, i) => i * (data.nbK || 0)),
        has,
      };
    }
    return featureLists;
  }

  function featureNeighboursOf(i) {
    const { index, start, has } = featureNeighbourLists();
    return has[i] ? index.subarray(start[i], start[i + 1]) : null;
  }

  function featureDistancesOf(i) {
    const { distance, start, has } = featureNeighbourLists();
    return has[i] ? distance.subarray(start[i], start[i + 1]) : null;
  }

  // Python's urllib.parse.quote(text, safe="/"), as page.py writes audio URLs.
  const quotePath = (text) => encodeURIComponent(text).replace(/%2F/g, "/")
    .replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

  function audioUrl(i) {
    const audio = data.audio;
    if (audio.numbered) return audio.prefix + i;
    const url = audio.urls ? audio.urls[i] : 0;
    return url === 0 ? audio.prefix + quotePath(files[i]) : url;
  }

  function lowerTitle(i) {
    if (titleLower === null) titleLower = titles.map((t) => t.toLowerCase());
    return titleLower[i];
  }

  // One track as the UI shows it (made on demand; hot loops use the columns above).
  function trackOf(i) {
    const code = categoryCode[i];
    return {
      title: titles[i],
      file: files[i],
      category: code === NO_CATEGORY ? null : categoryNames[code],
      duration: Number.isNaN(durations[i]) ? null : durations[i],
      x: worldX[i],
      y: worldY[i],
    };
  }

  // Colours come with the data, from the palette map.png uses (songmap.report.palette).
  const categoryColours = data.categoryColours || {};
  const uncategorisedColour = data.uncategorisedColour;

  function colourOf(name) {
    return name !== null && Object.hasOwn(categoryColours, name) ? categoryColours[name] : uncategorisedColour;
  }

  // Feature-space neighbours when the document has them for every track; otherwise paths run
  // over map-coordinate neighbours.
  const hasFeatureGraph = count > 0 && data.nb !== undefined && (data.nbMissing || []).length === 0;

  // Clusters: data.clusters lists those with members ({id, name, centre}); clusterOf[i] is the
  // index into clusterList of track i's cluster, or the last entry ("in no cluster") for -1.
  const { clusterList, clusterOf } = groupByCluster();

  function groupByCluster() {
    const listed = Array.isArray(data.clusters) ? data.clusters : [];
    const list = listed.map((c) => ({ id: c.id, name: String(c.name), centre: c.centre, members: [], hull: [] }));
    const indexById = new Map(list.map((c, index) => [c.id, index]));
    const none = { id: -1, name: NO_CLUSTER_LABEL, centre: null, members: [], hull: [] };
    const of = new Int32Array(count).fill(-1);
    const sizes = new Int32Array(list.length + 1);
    for (let i = 0; i < count; i++) {
      const c = indexById.get(clusterIds[i]);
      of[i] = c === undefined ? -1 : c;
      sizes[c === undefined ? list.length : c]++;
    }
    list.forEach((cluster, c) => { cluster.members = new Int32Array(sizes[c]); });
    none.members = new Int32Array(sizes[list.length]);
    sizes.fill(0);
    for (let i = 0; i < count; i++) {
      const c = of[i], into = c < 0 ? none : list[c];
      into.members[sizes[c < 0 ? list.length : c]++] = i;
    }
    // The hull's corners come with the data (page.py); a page without them computes them.
    list.forEach((cluster, c) => {
      const given = listed[c].hull;
      cluster.hull = Array.isArray(given) ? convexHull(given) : hullOf(cluster.members);
    });
    if (list.length > 0 && none.members.length > 0) {
      for (const i of none.members) of[i] = list.length;
      list.push(none);
    }
    return { clusterList: list, clusterOf: of };
  }

  // The convex hull of tracks (their map positions), as convexHull gives it. Tracks strictly
  // inside the octagon of the extremes in eight directions cannot be corners and are dropped
  // first (Akl-Toussaint), so 100 000 tracks cost one pass and a sort of a few hundred.
  function hullOf(members) {
    const n = members.length;
    if (n === 0) return [];
    // Extremes along x, x + y, y, -x + y, -x, -x - y, -y, x - y: an octagon, counter-clockwise.
    const best = new Float64Array(8).fill(-Infinity), extreme = new Int32Array(8);
    for (let m = 0; m < n; m++) {
      const i = members[m], x = worldX[i], y = worldY[i];
      for (let d = 0; d < 8; d++) {
        const v = DIRECTION_X[d] * x + DIRECTION_Y[d] * y;
        if (v > best[d]) {
          best[d] = v;
          extreme[d] = i;
        }
      }
    }
    const ax = new Float64Array(8), ay = new Float64Array(8), ex = new Float64Array(8), ey = new Float64Array(8);
    for (let d = 0; d < 8; d++) {
      ax[d] = worldX[extreme[d]];
      ay[d] = worldY[extreme[d]];
    }
    for (let d = 0; d < 8; d++) {
      ex[d] = ax[(d + 1) % 8] - ax[d];
      ey[d] = ay[(d + 1) % 8] - ay[d];
    }
    const points = [];
    for (let m = 0; m < n; m++) {
      const i = members[m], x = worldX[i], y = worldY[i];
      let d = 0;
      while (d < 8 && ex[d] * (y - ay[d]) - ey[d] * (x - ax[d]) > 0) d++;
      if (d < 8) points.push([x, y]);
    }
    return convexHull(points);
  }

  // Andrew's monotone chain: the convex hull of [x, y] points, counter-clockwise.
  function convexHull(points) {
    const sorted = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    if (sorted.length < 3) return sorted;
    const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    const lower = [], upper = [];
    for (const p of sorted) {
      while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
      lower.push(p);
    }
    for (let i = sorted.length - 1; i >= 0; i--) {
      const p = sorted[i];
      while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
      upper.push(p);
    }
    return lower.slice(0, -1).concat(upper.slice(0, -1));
  }

  // Categories: sorted names, then null ("uncategorised") last; categoryOf[i] is the index of
  // track i's category and category.members the tracks of each.
  const { categories, categoryOf } = groupByCategory();

  function groupByCategory() {
    const used = new Uint8Array(categoryNames.length);
    let hasNull = false;
    for (let i = 0; i < count; i++) {
      if (categoryCode[i] === NO_CATEGORY) hasNull = true;
      else used[categoryCode[i]] = 1;
    }
    const names = categoryNames.filter((_, k) => used[k]);
    const sorted = names.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const list = sorted.map((name) => ({ name, label: name, colour: colourOf(name), members: [] }));
    if (hasNull) list.push({ name: null, label: UNCATEGORISED_LABEL, colour: uncategorisedColour, members: [] });
    const indexByName = new Map(sorted.map((name, index) => [name, index]));
    const listIndex = Int32Array.from(categoryNames, (name) => (indexByName.has(name) ? indexByName.get(name) : -1));
    const of = new Uint16Array(count);
    const sizes = new Int32Array(list.length);
    for (let i = 0; i < count; i++) {
      const c = categoryCode[i] === NO_CATEGORY ? list.length - 1 : listIndex[categoryCode[i]];
      of[i] = c;
      sizes[c]++;
    }
    list.forEach((category, c) => { category.members = new Int32Array(sizes[c]); });
    sizes.fill(0);
    for (let i = 0; i < count; i++) list[of[i]].members[sizes[of[i]]++] = i;
    return { categories: list, categoryOf: of };
  }

  // ----------------------------------------------------------------- state --
  const state = {
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
    graph: null,                        // {neighbours, distances} for paths, built on first use
    lastDrawn: {},                      // what the last draw put on the canvas (test API)
    hullCache: [],                      // per cluster: its padded outline in screen px, last draw
    drawnView: null,                    // {scale, ox, oy}: the transform of screenX/Y (last draw)
    splat: null,                        // the pixel layer of many points (see "splat")
    drawBuffers: null,                  // index buffers of draw()
  };

  // ------------------------------------------------------------------- DOM --
  const byId = (id) => document.getElementById(id);
  const dom = {
    canvas: byId("map"),
    wrap: byId("map-wrap"),
    tooltip: byId("tooltip"),
    player: byId("player"),
    search: byId("search"),
    searchCount: byId("search-count"),
    status: byId("status"),
    autoplay: byId("autoplay"),
    nowTitle: byId("now-title"),
    nowMeta: byId("now-meta"),
    nowFile: byId("now-file"),
    neighbours: byId("neighbours"),
    neighboursEmpty: byId("neighbours-empty"),
    resultsSection: byId("results-section"),
    results: byId("results"),
    legend: byId("legend"),
    summary: byId("summary"),
    pathEnds: byId("path-ends"),
    pathLength: byId("path-length"),
    pathList: byId("path-list"),
    selectionList: byId("selection-list"),
    selectionCount: byId("selection-count"),
    lasso: byId("lasso"),
    lassoNote: byId("lasso-note"),
    clustersSection: byId("clusters-section"),
    clusterLegend: byId("cluster-legend"),
    showClusters: byId("show-clusters"),
    showTrust: byId("show-trust"),
  };
  dom.tooltipTitle = dom.tooltip.querySelector(".tt-title");
  dom.tooltipDot = dom.tooltip.querySelector(".dot");
  dom.tooltipCategory = dom.tooltip.querySelector(".tt-category");
  dom.tooltipDuration = dom.tooltip.querySelector(".tt-duration");
  const ctx = dom.canvas.getContext("2d");

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function colourDot(colour) {
    const dot = el("span", "dot");
    dot.style.background = colour;
    return dot;
  }

  function formatDuration(seconds) {
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return "–:––";
    // Floor, like the <audio> control, so both show the same length.
    const total = Math.floor(seconds);
    const rest = total % 60;
    return `${Math.floor(total / 60)}:${rest < 10 ? "0" : ""}${rest}`;
  }

  function categoryOfTrack(index) { return categories[categoryOf[index]]; }

  function setStatus(text) { dom.status.textContent = text || ""; }

  // A point can be hovered, clicked and navigated to only when its category is shown and it
  // matches the search; other tracks of shown categories are drawn as faint context.
  function isInteractive(index) {
    return state.shown[categoryOf[index]] && state.searchMatch[index] === 1 && state.clusterMatch[index] === 1;
  }

  // ------------------------------------------------------------------ view --
  function bounds() {
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (let i = 0; i < count; i++) {
      if (worldX[i] < minX) minX = worldX[i];
      if (worldX[i] > maxX) maxX = worldX[i];
      if (worldY[i] < minY) minY = worldY[i];
      if (worldY[i] > maxY) maxY = worldY[i];
    }
    return { minX, minY, maxX, maxY };
  }

  function fitView() {
    if (count === 0 || state.cssWidth === 0) {
      state.view = { cx: 0, cy: 0, scale: 1 };
      state.fitScale = 1;
      return;
    }
    const b = bounds();
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
  function toScreenX(x) { return (x - state.view.cx) * state.view.scale + state.cssWidth / 2; }
  function toScreenY(y) { return (state.view.cy - y) * state.view.scale + state.cssHeight / 2; }
  function toWorldX(px) { return (px - state.cssWidth / 2) / state.view.scale + state.view.cx; }
  function toWorldY(py) { return state.view.cy - (py - state.cssHeight / 2) / state.view.scale; }

  function zoomAt(px, py, factor) {
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

  function panBy(dx, dy) {
    state.view.cx -= dx / state.view.scale;
    state.view.cy += dy / state.view.scale;
    requestDraw();
  }

  function centreOn(index) {
    state.view.cx = worldX[index];
    state.view.cy = worldY[index];
    requestDraw();
  }

  function ensureOnScreen(index) {
    const x = toScreenX(worldX[index]), y = toScreenY(worldY[index]);
    const pad = 40;
    if (x < pad || y < pad || x > state.cssWidth - pad || y > state.cssHeight - pad) centreOn(index);
  }

  function resize() {
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

  function resetView() {
    fitView();
    requestDraw();
  }

  // ---------------------------------------------------------------- render --
  // Screen positions of all tracks, recomputed from state.view by every draw().
  const screenX = new Float32Array(count);
  const screenY = new Float32Array(count);

  // Drawings added on top of the map by other scripts of the page (place.js's placed songs).
  const overlays = [];

  function requestDraw() {
    if (state.drawScheduled) return;
    state.drawScheduled = true;
    requestAnimationFrame(() => {
      state.drawScheduled = false;
      draw();
    });
  }

  function pointRadius() {
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

  function ring(index, radius, colour, width) {
    ctx.beginPath();
    ctx.arc(screenX[index], screenY[index], radius, 0, 2 * Math.PI);
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.stroke();
  }

  function pointedIndex() {
    return state.hoverIndex >= 0 ? state.hoverIndex : state.focusIndex;
  }

  function draw() {
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

  // ----------------------------------------------------------------- splat --
  // Many points (a map of 100 000 tracks): instead of one circle path per point, which the
  // software rasteriser of a headless or GPU-less browser fills at ~1 µs per pixel edge, each
  // point is stamped into an RGBA pixel buffer with an anti-aliased disc (or ring) mask, blended
  // "source-over" as the canvas would, and the buffer is drawn onto the map in one drawImage.
  // Masks are made per radius for 4 x 4 sub-pixel offsets, so a stamp is a table walk.
  function splatLayer() {
    const width = dom.canvas.width, height = dom.canvas.height;
    let layer = state.splat;
    if (!layer || layer.width !== width || layer.height !== height) {
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const image = new ImageData(width, height);
      layer = { width, height, canvas, context: canvas.getContext("2d"), image,
        words: new Uint32Array(image.data.buffer), masks: new Map() };
      state.splat = layer;
    }
    layer.words.fill(0);
    return layer;
  }

  function showSplatLayer(layer, alpha) {
    layer.context.putImageData(layer.image, 0, 0);
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = alpha;
    ctx.drawImage(layer.canvas, 0, 0);
    ctx.restore();
  }

  const SUBPIXEL = 4;

  // Coverage masks of a disc of radius `radius` (device px) or, with `width`, of a ring of that
  // radius and line width: per sub-pixel offset of the centre, the pixels it covers as (u, v)
  // offsets from the centre pixel, their offset in the layer's pixels and their coverage.
  function masksFor(layer, radius, width) {
    const key = `${radius.toFixed(3)}/${width || 0}`;
    let set = layer.masks.get(key);
    if (set) return set;
    if (layer.masks.size > 32) layer.masks.clear();   // zooming makes a new radius per frame
    const half = Math.ceil(radius + (width ? width / 2 : 0) + 0.5);
    const masks = [];
    for (let qy = 0; qy < SUBPIXEL; qy++) {
      for (let qx = 0; qx < SUBPIXEL; qx++) {
        const fx = (qx + 0.5) / SUBPIXEL, fy = (qy + 0.5) / SUBPIXEL;   // centre within its pixel
        const us = [], vs = [], covers = [];
        for (let v = -half; v <= half; v++) {
          for (let u = -half; u <= half; u++) {
            const d = Math.hypot(u + 0.5 - fx, v + 0.5 - fy);
            const cover = Math.min(1, width ? width / 2 + 0.5 - Math.abs(d - radius) : radius + 0.5 - d);
            if (cover <= 0) continue;
            us.push(u);
            vs.push(v);
            covers.push(cover);
          }
        }
        const offsets = Int32Array.from(us, (u, e) => vs[e] * layer.width + u);
        masks.push({ us: Int32Array.from(us), vs: Int32Array.from(vs), offsets, covers: Float32Array.from(covers) });
      }
    }
    set = { masks, half };
    layer.masks.set(key, set);
    return set;
  }

  // Stamps each point of `indices` with the masks of `set` in colour rgb at opacity `alpha` (of
  // the layer, which is drawn at the points' opacity), one 32-bit word (r, g, b, a bytes,
  // little-endian) per pixel. Where a point covers a pixel fully it replaces it, as circles of one
  // path do in a canvas fill; an anti-aliased edge is blended "source-over" (straight colour, as
  // ImageData holds it), over an opaque pixel two channels at a time.
  function stamp(layer, set, indices, rgb, alpha) {
    const { words, width, height } = layer;
    const { masks, half } = set;
    const pr = state.pixelRatio;
    const [red, green, blue] = rgb;
    const colour = ((blue << 16) | (green << 8) | red) >>> 0;
    const colourRB = colour & 0x00ff00ff, colourG = green << 8;
    const opacity = masks.map((mask) => Uint8Array.from(mask.covers, (cover) => Math.round(alpha * cover * 255)));
    for (let k = 0; k < indices.length; k++) {
      const j = indices[k];
      const dx = screenX[j] * pr, dy = screenY[j] * pr;
      const px = Math.floor(dx), py = Math.floor(dy);
      const q = Math.min(SUBPIXEL - 1, Math.floor((dy - py) * SUBPIXEL)) * SUBPIXEL
        + Math.min(SUBPIXEL - 1, Math.floor((dx - px) * SUBPIXEL));
      const { offsets, us, vs } = masks[q];
      const alphas = opacity[q];
      const inside = px >= half && py >= half && px + half < width && py + half < height;
      const centre = py * width + px;
      for (let e = 0; e < offsets.length; e++) {
        if (!inside) {
          const x = px + us[e], y = py + vs[e];
          if (x < 0 || y < 0 || x >= width || y >= height) continue;
        }
        const at = centre + offsets[e], sa = alphas[e];
        if (sa === 255) {
          words[at] = (colour | 0xff000000) >>> 0;
          continue;
        }
        if (sa === 0) continue;
        const d = words[at], da = d >>> 24;
        if (da === 0) {
          words[at] = (colour | (sa << 24)) >>> 0;
        } else if (da === 255) {
          const keep = 255 - sa;
          const rb = ((colourRB * sa + (d & 0x00ff00ff) * keep) >>> 8) & 0x00ff00ff;
          const g = ((colourG * sa + (d & 0x0000ff00) * keep) >>> 8) & 0x0000ff00;
          words[at] = (0xff000000 | rb | g) >>> 0;
        } else {
          const s = sa / 255, keep = (da / 255) * (1 - s), oa = s + keep;
          const ks = s / oa, kd = keep / oa;
          const r = (red * ks + (d & 255) * kd + 0.5) | 0;
          const g = (green * ks + ((d >>> 8) & 255) * kd + 0.5) | 0;
          const b = (blue * ks + ((d >>> 16) & 255) * kd + 0.5) | 0;
          words[at] = (((oa * 255 + 0.5) << 24) | (b << 16) | (g << 8) | r) >>> 0;
        }
      }
    }
  }

  function stampDiscs(layer, indices, r, rgb, alpha) {
    if (indices.length > 0) stamp(layer, masksFor(layer, r * state.pixelRatio, 0), indices, rgb, alpha);
  }

  // drawTrustRings' five buckets, stamped as rings.
  function stampTrustRings(layer, inView, r, drawn, layerAlpha) {
    trustBuckets(inView).forEach((members, b) => {
      if (members.length === 0) return;
      const pr = state.pixelRatio;
      stamp(layer, masksFor(layer, (r + 2.5 + b * 0.6) * pr, 2 * pr), members, TRUST_RGB, Math.min(1, (0.4 + 0.15 * b) / layerAlpha));
      drawn.trustRings += members.length;
    });
  }

  // "#rrggbb" (the palette's form; anything else reads as grey) -> [r, g, b].
  function rgbOf(colour) {
    const match = /^#([0-9a-f]{6})$/i.exec(String(colour));
    if (!match) return [141, 151, 168];
    const value = Number.parseInt(match[1], 16);
    return [value >> 16, (value >> 8) & 255, value & 255];
  }

  // ---------------------------------------------------------------- overlays --
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

  function drawHulls(drawn) {
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
  function drawClusterLabels(drawn) {
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
  function trustBuckets(inView) {
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

  function drawTrustRings(inView, r, drawn) {
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
  function drawSelection(r, drawn) {
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
  function drawPath(r, drawn) {
    const points = state.path.map((index) => [screenX[index], screenY[index]]);
    strokeLine(points, "#7cc4ff", 2.5);
    drawn.pathVertices = points.length;
  }

  // A track's trajectory of windows ([[x, y], ...] in map coordinates): a dashed line with a dot
  // at each window, from the first window to the last.
  function drawTrajectory(index, drawn) {
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

  function drawLasso() {
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

  function positionTooltip() {
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

  // ------------------------------------------------------------- hit tests --
  // A uniform grid over the map positions, built on first use: tracks of cell c are
  // gridItems[gridStart[c], gridStart[c + 1]), in index order. Hit tests and the lasso look only
  // at the cells their box covers (plus one cell of margin), not at every track.
  let gridCells = null;
  const theGrid = () => gridCells || (gridCells = buildGrid());

  function buildGrid() {
    const b = count > 0 ? bounds() : { minX: 0, minY: 0, maxX: 1, maxY: 1 };
    const side = Math.max(1, Math.ceil(Math.sqrt(count / 8)));
    const cellW = (b.maxX - b.minX) / side || 1, cellH = (b.maxY - b.minY) / side || 1;
    const cellOf = new Int32Array(count);
    const start = new Int32Array(side * side + 1);
    for (let i = 0; i < count; i++) {
      const cx = Math.min(side - 1, Math.floor((worldX[i] - b.minX) / cellW));
      const cy = Math.min(side - 1, Math.floor((worldY[i] - b.minY) / cellH));
      cellOf[i] = cy * side + cx;
      start[cellOf[i] + 1]++;
    }
    for (let c = 0; c < side * side; c++) start[c + 1] += start[c];
    const items = new Int32Array(count), filled = start.slice(0, side * side);
    for (let i = 0; i < count; i++) items[filled[cellOf[i]]++] = i;
    return { minX: b.minX, minY: b.minY, cellW, cellH, side, start, items };
  }

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

  function nearestPoint(px, py, maxDistance) {
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

  function pointAt(point) {
    return nearestPoint(point.x, point.y, pointRadius() + HIT_SLOP);
  }

  function nearestToCentre() {
    return nearestPoint(state.cssWidth / 2, state.cssHeight / 2, Infinity);
  }

  // ------------------------------------------------------------ neighbours --
  // The k nearest shown tracks on the map (ignoring the search, which is for finding a start
  // point, not for limiting the neighbourhood).
  function nearestNeighbours(index, k, skipVisited) {
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

  function updateNeighbours() {
    const current = state.currentIndex;
    state.neighbours = current >= 0 ? nearestNeighbours(current, NEIGHBOUR_COUNT, false) : [];
    dom.neighbours.textContent = "";
    const listed = current >= 0 ? featureNeighboursOf(current) : null;
    const featureNeighbours = listed !== null ? new Set(listed) : null;
    for (const index of state.neighbours) {
      const mapOnly = featureNeighbours !== null && !featureNeighbours.has(index);
      dom.neighbours.append(trackItem(index, mapOnly ? { mark: "map-only", markTitle: MAP_ONLY_TITLE } : {}));
    }
    dom.neighboursEmpty.hidden = state.neighbours.length > 0;
    if (current >= 0 && state.neighbours.length === 0) dom.neighboursEmpty.textContent = "No other shown tracks.";
  }

  // ----------------------------------------------------------------- paths --
  // A port of songmap.evaluation.listening (find_path; its module docstring defines the
  // algorithm, and a browser test checks both give the same tracks). The graph: each track's
  // feature-space neighbours (nb, nd) from the document, or, for documents without them, its
  // min(10, n - 1) nearest tracks on the map (as listening.feature_neighbours of the map
  // coordinates: distances rounded to 4 decimals, ties by index). Undirected: i and j are joined
  // when either lists the other, at the smaller listed distance. Built on first use.
  function pathGraph() {
    if (state.graph) return state.graph;
    const lists = new Array(count);
    if (hasFeatureGraph) {
      for (let i = 0; i < count; i++) lists[i] = [featureNeighboursOf(i), featureDistancesOf(i)];
    } else {
      const k = Math.min(GRAPH_K, count - 1);
      for (let i = 0; i < count; i++) lists[i] = mapNeighbours(i, k);
    }
    const joined = Array.from({ length: count }, () => new Map());
    let widest = -Infinity;
    for (let i = 0; i < count; i++) {
      const [nb, nd] = lists[i];
      for (let m = 0; m < nb.length; m++) {
        const j = nb[m], w = nd[m];
        if (j === i || !(j >= 0 && j < count)) continue;
        const weight = joined[i].has(j) ? Math.min(joined[i].get(j), w) : w;
        joined[i].set(j, weight);
        joined[j].set(i, weight);
      }
    }
    // Per track: its joined tracks in index order (the walk back takes the lowest index) and weights.
    const adjacency = joined.map((map) => {
      const others = Int32Array.from(map.keys()).sort();
      const weights = Float64Array.from(others, (j) => map.get(j));
      for (const w of weights) widest = Math.max(widest, w);
      return { others, weights };
    });
    state.graph = { adjacency, widest: widest === -Infinity ? 1 : widest, source: hasFeatureGraph ? "features" : "map" };
    return state.graph;
  }

  // Track i's k nearest tracks on the map, as listening.feature_neighbours of the map
  // coordinates gives them: the k nearest, then their distances rounded to 4 decimals and
  // ordered by those, ties by the lower index. Searched band by band of grid cells around i's
  // cell, until no track further out can be among them.
  function mapNeighbours(i, k) {
    const g = theGrid();
    const cx = Math.min(g.side - 1, Math.floor((worldX[i] - g.minX) / g.cellW));
    const cy = Math.min(g.side - 1, Math.floor((worldY[i] - g.minY) / g.cellH));
    const found = [];   // sorted [distance, index] pairs, at most k
    const consider = (j) => {
      if (j === i) return;
      const d = Math.hypot(worldX[j] - worldX[i], worldY[j] - worldY[i]);
      const last = found[found.length - 1];
      if (found.length === k && (d > last[0] || (d === last[0] && j > last[1]))) return;
      let at = found.length;
      while (at > 0 && (found[at - 1][0] > d || (found[at - 1][0] === d && found[at - 1][1] > j))) at--;
      found.splice(at, 0, [d, j]);
      if (found.length > k) found.pop();
    };
    const cellSize = Math.min(g.cellW, g.cellH);
    for (let band = 0; band < g.side; band++) {
      for (let y = cy - band; y <= cy + band; y++) {
        if (y < 0 || y >= g.side) continue;
        const edge = y === cy - band || y === cy + band;
        for (let x = cx - band; x <= cx + band; x += edge ? 1 : 2 * band) {
          if (x < 0 || x >= g.side) continue;
          const c = y * g.side + x;
          for (let m = g.start[c]; m < g.start[c + 1]; m++) consider(g.items[m]);
        }
      }
      // Every track in a further band of cells is at least band * cellSize away.
      if (found.length === k && band * cellSize > found[k - 1][0]) break;
    }
    const rounded = found.map(([d, j]) => [Math.round(d * 1e4) / 1e4, j]).sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    return [rounded.map((pair) => pair[1]), rounded.map((pair) => pair[0])];
  }

  const HOP_COST = 1e-4;       // listening.HOP_COST: added to every step's distance
  const PATH_TOLERANCE = 1e-6;

  // Step 1: shortest distances from source, each step costing its distance + HOP_COST
  // (Infinity: unreachable). Dijkstra over a binary heap of [distance, index].
  function distancesFrom(source) {
    const { adjacency } = pathGraph();
    const distance = new Float64Array(count).fill(Infinity);
    const done = new Uint8Array(count);
    const heap = [[0, source]];
    distance[source] = 0;
    const less = (a, b) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
    while (heap.length > 0) {
      const top = heap[0], last = heap.pop();
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && less(heap[l], heap[m])) m = l;
          if (r < heap.length && less(heap[r], heap[m])) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m], heap[i]];
          i = m;
        }
      }
      const [d, v] = top;
      if (done[v]) continue;
      done[v] = 1;
      const { others, weights } = adjacency[v];
      for (let m = 0; m < others.length; m++) {
        const j = others[m], next = d + (weights[m] + HOP_COST);
        if (done[j] || next >= distance[j]) continue;
        distance[j] = next;
        heap.push([next, j]);
        for (let i = heap.length - 1; i > 0;) {
          const parent = (i - 1) >> 1;
          if (!less(heap[i], heap[parent])) break;
          [heap[i], heap[parent]] = [heap[parent], heap[i]];
          i = parent;
        }
      }
    }
    return distance;
  }

  // Step 2: walk back from target; the predecessor of v is its lowest-index joined track u
  // with |d[u] + w(u, v) + HOP_COST - d[v]| <= 1e-6.
  function routeTo(source, target, d) {
    const { adjacency } = pathGraph();
    const route = [target];
    for (let v = target; v !== source;) {
      const { others, weights } = adjacency[v];
      let u = -1;
      for (let m = 0; m < others.length && u < 0; m++) {
        if (Math.abs(d[others[m]] + weights[m] + HOP_COST - d[v]) <= PATH_TOLERANCE) u = others[m];
      }
      v = u;
      route.push(v);
    }
    return route.reverse();
  }

  // w'(a, b): the distance of joined tracks, else (a bridge too) the graph's widest edge W.
  function stepWeight(a, b) {
    const { adjacency, widest } = pathGraph();
    const { others, weights } = adjacency[a];
    for (let m = 0; m < others.length; m++) if (others[m] === b) return weights[m];
    return widest;
  }

  // The path from start to end, length tracks (2 <= length <= n) or the shortest route (null).
  // Returns the track indices, or a string saying why there is none.
  function findPath(start, end, length) {
    if (!(start >= 0 && start < count && end >= 0 && end < count)) return "Choose two tracks.";
    if (start === end) return "The start and the end are the same track: choose two different tracks.";
    if (length !== null && !(length >= 2 && length <= count)) return `The length must be between 2 and the map's ${count} tracks.`;
    const d = distancesFrom(start);
    let route;
    if (Number.isFinite(d[end])) route = routeTo(start, end, d);
    else {
      // Step 3: bridge the two parts of the graph where they come closest on the map.
      const dEnd = distancesFrom(end);
      let best = Infinity, u = -1, v = -1;
      for (let a = 0; a < count; a++) {
        if (!Number.isFinite(d[a])) continue;
        for (let b = 0; b < count; b++) {
          if (!Number.isFinite(dEnd[b])) continue;
          const gap = Math.hypot(worldX[a] - worldX[b], worldY[a] - worldY[b]);
          if (gap < best) {
            best = gap;
            u = a;
            v = b;
          }
        }
      }
      route = routeTo(start, u, d).concat(routeTo(v, end, distancesFrom(v)));
    }
    if (length === null || length === route.length) return route;
    return length < route.length ? spacedPath(route, length) : lengthenedPath(route, length);
  }

  // Step 4, N < m + 1: keep the ends and, for each j, the track nearest to L * j / (N - 1) along the route.
  function spacedPath(route, length) {
    const m = route.length - 1;
    const cumulative = [0];
    for (let t = 1; t <= m; t++) cumulative.push(cumulative[t - 1] + stepWeight(route[t - 1], route[t]));
    const total = cumulative[m];
    const kept = [0];
    for (let j = 1; j < length - 1; j++) {
      const target = (total * j) / (length - 1);
      let best = -1;
      for (let i = kept[kept.length - 1] + 1; i <= m - (length - 1 - j); i++) {
        if (best < 0 || Math.abs(cumulative[i] - target) < Math.abs(cumulative[best] - target)) best = i;
      }
      kept.push(best);
    }
    kept.push(m);
    return kept.map((i) => route[i]);
  }

  // Step 4, N > m + 1: insert the cheapest detour x between P_t and P_t+1 until there are N
  // tracks: least w'(P_t, x) + w'(x, P_t+1) - w'(P_t, P_t+1), ties the lowest t, then the lowest x.
  function lengthenedPath(route, length) {
    const { adjacency, widest } = pathGraph();
    const rows = new Map();
    const row = (a) => {
      if (!rows.has(a)) {
        const values = new Float64Array(count).fill(widest);
        const { others, weights } = adjacency[a];
        for (let m = 0; m < others.length; m++) values[others[m]] = weights[m];
        rows.set(a, values);
      }
      return rows.get(a);
    };
    const list = route.slice();
    const steps = [];
    for (let t = 0; t + 1 < list.length; t++) steps.push(stepWeight(list[t], list[t + 1]));
    const inList = new Uint8Array(count);
    for (const i of list) inList[i] = 1;
    while (list.length < length) {
      let best = Infinity, bestT = -1, bestX = -1;
      for (let t = 0; t + 1 < list.length; t++) {
        const ra = row(list[t]), rb = row(list[t + 1]), s = steps[t];
        for (let x = 0; x < count; x++) {
          if (inList[x]) continue;
          const cost = ra[x] + rb[x] - s;
          if (cost < best) {
            best = cost;
            bestT = t;
            bestX = x;
          }
        }
      }
      const a = list[bestT], b = list[bestT + 1];
      list.splice(bestT + 1, 0, bestX);
      inList[bestX] = 1;
      steps.splice(bestT, 1, row(a)[bestX], row(b)[bestX]);
    }
    return list;
  }

  function pathLength() {
    const value = Number.parseInt(dom.pathLength.value, 10);
    return Number.isFinite(value) && value >= 2 ? value : null;
  }

  function setPathEnd(which, index) {
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
  function pickPathTrack(index) {
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
      const found = findPath(pathStart, pathEnd, pathLength());
      if (typeof found === "string") problem = found;
      else state.path = found;
    }
    if (state.queue && state.queue.name === "path") state.queue = null;
    renderPathPanel(problem);
    requestDraw();
  }

  // ---------------------------------------------------------------- player --
  function play(index, options) {
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

  function playNext() {
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

  function playPrevious() {
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

  function togglePause() {
    if (state.currentIndex < 0) return;
    if (dom.player.paused) dom.player.play();
    else dom.player.pause();
  }

  // A path or a selection played back to back: queue.items from queue.position on.
  function playQueue(name, items, position) {
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

  dom.player.addEventListener("ended", () => {
    if (state.queue) advanceQueue();
    else if (dom.autoplay.checked) playNext();
  });
  dom.player.addEventListener("error", () => {
    if (state.currentIndex >= 0) setStatus("Could not load the audio of this track.");
  });
  byId("next").addEventListener("click", () => playNext());
  byId("back").addEventListener("click", () => playPrevious());

  // ----------------------------------------------------------- track lists --
  // A list entry (neighbours, search results) that plays its track; focusing it (keyboard) or
  // hovering it points the track out on the map with the tooltip.
  // options: mark (a short text shown after the title, e.g. "map-only") with markTitle, and
  // onPlay (what a click does instead of playing the track alone).
  function trackItem(index, options) {
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

  // ---------------------------------------------- path and selection panels --
  function setButtons(prefix, enabled) {
    for (const name of ["play", "m3u", "csv", "copy", "clear"]) {
      const button = byId(`${prefix}-${name}`);
      if (button) button.disabled = !enabled;
    }
  }

  // A list of tracks that plays from the clicked entry on, back to back.
  function renderQueueList(list, name, items) {
    list.textContent = "";
    const shown = Math.min(items.length, LIST_LIMIT);
    for (let k = 0; k < shown; k++) {
      list.append(trackItem(items[k], { onPlay: () => playQueue(name, items, k) }));
    }
    if (items.length > shown) list.append(el("li", "empty-note", `… and ${items.length - shown} more (all are played and exported)`));
    markQueued();
  }

  // The entry of the queue's playing track is highlighted in its list.
  function markQueued() {
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

  function renderPathPanel(problem) {
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

  // Selecting: the tracks, in listening order; drawn with a white ring and listed.
  function setSelection(indices) {
    state.selected.fill(0);
    for (const index of indices) state.selected[index] = 1;
    state.selection = indices;
    if (state.queue && state.queue.name === "selection") state.queue = null;
    const n = indices.length;
    dom.selectionCount.textContent = n === 0 ? "Nothing selected." : `${n} ${n === 1 ? "track" : "tracks"} selected`;
    renderQueueList(dom.selectionList, "selection", indices);
    setButtons("selection", n > 0);
    requestDraw();
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

  // Tracks inside a screen polygon (even-odd rule), among those shown and matching the filters.
  function tracksInPolygon(polygon) {
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

  function selectPolygon(polygon) {
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

  function setLassoMode(on) {
    state.lassoMode = on;
    state.lasso = null;
    dom.lasso.setAttribute("aria-pressed", String(on));
    dom.lassoNote.hidden = !on;
    dom.canvas.classList.toggle("lasso", on);
    requestDraw();
  }

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
  byId("path-m3u").addEventListener("click", () => download("songmap-path.m3u8", m3u8(state.path, playlistName("path")), "audio/x-mpegurl"));
  byId("path-csv").addEventListener("click", () => download("songmap-path.csv", csv(state.path), "text/csv"));
  dom.lasso.addEventListener("click", () => setLassoMode(!state.lassoMode));
  byId("select-view").addEventListener("click", selectInView);
  byId("selection-play").addEventListener("click", () => playQueue("selection", state.selection, 0));
  byId("selection-clear").addEventListener("click", () => setSelection([]));
  byId("selection-m3u").addEventListener("click", () => download("songmap-selection.m3u8", m3u8(state.selection, playlistName("selection")), "audio/x-mpegurl"));
  byId("selection-csv").addEventListener("click", () => download("songmap-selection.csv", csv(state.selection), "text/csv"));
  byId("selection-copy").addEventListener("click", () => copyText(filePaths(state.selection)));

  // --------------------------------------------------------------- exports --
  // The same playlists as songmap.report.playlists writes for `songmap path`/`playlist`. Entries
  // point at the audio the way the page does: for a page opened from disk, the path relative to
  // map.html (decoded from the page's URL; "./" before a leading "#"), so a playlist saved next
  // to map.html finds the files, and a name that is not UTF-8 or holds a control character as an
  // absolute file:// URI with its bytes percent-encoded; for a served page, the server's URL.
  function playlistLocation(index) {
    const url = audioUrl(index);
    let absolute;
    try {
      absolute = new URL(url, document.baseURI);
    } catch {
      return url;
    }
    if (absolute.protocol !== "file:" || /^[a-z][a-z0-9+.-]*:/i.test(url)) return absolute.href;
    let path;
    try {
      path = decodeURIComponent(url);
    } catch {
      return absolute.href;   // not UTF-8
    }
    for (let k = 0; k < path.length; k++) {
      const code = path.charCodeAt(k);
      if (code < 0x20 || code === 0x7f) return absolute.href;   // a line break would end the entry
    }
    return path.startsWith("#") ? "./" + path : path;
  }

  // Bytes of a name that were not UTF-8 (lone surrogates here) become U+FFFD, as
  // songmap.io.text.display_text does; oneLine also turns runs of white space into one space.
  const displayText = (text) => String(text).replace(/[\ud800-\udfff]/g, (c, at, all) => {
    const code = c.charCodeAt(0), next = all.charCodeAt(at + 1), previous = all.charCodeAt(at - 1);
    const paired = code < 0xdc00 ? next >= 0xdc00 && next <= 0xdfff : previous >= 0xd800 && previous < 0xdc00;
    return paired ? c : "\ufffd";
  });
  const oneLine = (text) => displayText(text).split(/\s+/).filter(Boolean).join(" ");

  // Python's round(): halves to the even neighbour.
  function roundHalfEven(value) {
    const floor = Math.floor(value), rest = value - floor;
    if (rest !== 0.5) return Math.round(value);
    return floor % 2 === 0 ? floor : floor + 1;
  }

  // M3U8: #EXTM3U, #PLAYLIST:<name>, songmap's marker comment, then per track
  // #EXTINF:<whole seconds, -1 if unknown>,<title> and its location.
  function m3u8(indices, name) {
    const lines = ["#EXTM3U", `#PLAYLIST:${oneLine(name)}`, `# songmap ${data.version || ""} playlist`];
    for (const index of indices) {
      const track = trackOf(index);
      const seconds = typeof track.duration === "number" ? roundHalfEven(track.duration) : -1;
      lines.push(`#EXTINF:${seconds},${oneLine(track.title)}`, playlistLocation(index));
    }
    return lines.join("\n") + "\n";
  }

  function playlistName(kind) {
    if (kind === "path") return `Path from ${titles[state.pathStart]} to ${titles[state.pathEnd]}`;
    return `Selection of ${state.selection.length} ${state.selection.length === 1 ? "track" : "tracks"}`;
  }

  // A cell that starts with = + - @ (or tab/CR) is run as a formula by spreadsheets: prefix "'",
  // as embeddings.csv does. Text cells are quoted when they hold a comma, quote or line break.
  function csvCell(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") return String(value);
    let text = displayText(value);
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  const CSV_COLUMNS = ["order", "file", "title", "category", "duration_s", "x", "y", "cluster_name"];

  function csv(indices) {
    const rows = [CSV_COLUMNS.join(",")];
    indices.forEach((index, k) => {
      const track = trackOf(index);
      const cluster = clusterList.length > 0 && clusterList[clusterOf[index]].id >= 0 ? clusterList[clusterOf[index]].name : null;
      const cells = [k + 1, track.file, track.title, track.category, track.duration, track.x, track.y, cluster];
      rows.push(cells.map(csvCell).join(","));
    });
    return rows.join("\n") + "\n";
  }

  function filePaths(indices) {
    const base = data.inputDir ? String(data.inputDir).replace(/\/+$/, "") + "/" : "";
    return indices.map((index) => base + files[index]).join("\n") + "\n";
  }

  function download(filename, text, type) {
    if (text === null) return;
    const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
    const link = el("a");
    link.href = url;
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setStatus(`Saved ${filename}`);
  }

  // The clipboard API where the page may use it, else a hidden textarea and execCommand("copy").
  function copyText(text) {
    const lines = text.split("\n").length - 1;
    const done = () => setStatus(`Copied ${lines} ${lines === 1 ? "path" : "paths"}.`);
    const fallback = () => {
      const area = el("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.append(area);
      area.select();
      let ok = false;
      try {
        ok = document.execCommand("copy");
      } catch {
        ok = false;
      }
      area.remove();
      if (ok) done();
      else setStatus("Could not copy: the browser refused the clipboard.");
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
  }

  // ---------------------------------------------------------------- search --
  function applySearch(query) {
    const q = query.trim().toLowerCase();
    state.searchQuery = q;
    let total = 0;
    for (let i = 0; i < count; i++) {
      const match = q === "" || lowerTitle(i).includes(q);
      state.searchMatch[i] = match ? 1 : 0;
      if (match && state.shown[categoryOf[i]] && state.clusterMatch[i]) total++;
    }
    state.matchTotal = q === "" ? visibleCount() : total;
    dom.searchCount.textContent = q === "" ? "" : `${state.matchTotal} ${state.matchTotal === 1 ? "match" : "matches"}`;
    renderResults();
    if (state.hoverIndex >= 0 && !isInteractive(state.hoverIndex)) state.hoverIndex = -1;
    requestDraw();
  }

  function renderResults() {
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

  function firstInteractive() {
    for (let i = 0; i < count; i++) if (isInteractive(i)) return i;
    return -1;
  }

  dom.search.addEventListener("input", () => applySearch(dom.search.value));
  dom.search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    const first = firstInteractive();
    if (first >= 0) {
      play(first);
      centreOn(first);
    }
  });

  // ---------------------------------------------------------------- legend --
  function visibleCount() {
    let total = 0;
    for (let i = 0; i < count; i++) if (isInteractive(i)) total++;
    return total;
  }

  function renderLegend() {
    dom.legend.textContent = "";
    categories.forEach((category, index) => {
      const button = el("button", "legend-btn");
      button.type = "button";
      button.setAttribute("aria-pressed", String(state.shown[index]));
      button.dataset.category = category.label;
      button.append(
        colourDot(category.colour),
        el("span", "name", category.label),
        el("span", "count", String(category.members.length)),
      );
      button.addEventListener("click", (event) => {
        if (event.shiftKey || event.altKey) state.shown = categories.map((_, other) => other === index);
        else state.shown[index] = !state.shown[index];
        categoriesChanged();
      });
      dom.legend.append(button);
    });
  }

  function categoriesChanged() {
    renderLegend();
    if (state.hoverIndex >= 0 && !isInteractive(state.hoverIndex)) state.hoverIndex = -1;
    if (state.focusIndex >= 0 && !isInteractive(state.focusIndex)) state.focusIndex = -1;
    applySearch(dom.search.value);
    updateNeighbours();
    updateSummary();
  }

  // The cluster filter: a dimmed cluster's tracks are drawn faintly and cannot be picked.
  function renderClusterLegend() {
    dom.clusterLegend.textContent = "";
    clusterList.forEach((cluster, index) => {
      const button = el("button", "legend-btn");
      button.type = "button";
      button.setAttribute("aria-pressed", String(state.clusterShown[index]));
      button.dataset.cluster = cluster.name;
      button.append(el("span", "name", cluster.name), el("span", "count", String(cluster.members.length)));
      button.addEventListener("click", (event) => {
        if (event.shiftKey || event.altKey) state.clusterShown = clusterList.map((_, other) => other === index);
        else state.clusterShown[index] = !state.clusterShown[index];
        clustersChanged();
      });
      dom.clusterLegend.append(button);
    });
  }

  function clustersChanged() {
    for (let i = 0; i < count; i++) state.clusterMatch[i] = clusterList.length === 0 || state.clusterShown[clusterOf[i]] ? 1 : 0;
    renderClusterLegend();
    categoriesChanged();
  }

  function updateSummary() {
    const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
    const shown = categories.reduce((sum, category, c) => sum + (state.shown[c] ? category.members.length : 0), 0);
    let text = plural(count, "track", "tracks");
    if (shown !== count) text += ` (${shown} shown)`;
    text += ` · ${plural(categories.length, "category", "categories")}`;
    const named = clusterList.filter((c) => c.id >= 0).length;
    if (named > 0) text += ` · ${plural(named, "cluster", "clusters")}`;
    if (data.skipped) text += ` · ${data.skipped} skipped`;
    dom.summary.textContent = text;
  }

  // --------------------------------------------------------- pointer input --
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
  canvas.addEventListener("pointercancel", endPointer);
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

  // -------------------------------------------------------- keyboard input --
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

  // -------------------------------------------------------------- start-up --
  byId("collection").textContent = data.collection || "";
  if (data.collection) document.title = `${data.collection} · songmap`;
  byId("empty").hidden = count > 0;
  renderLegend();
  updateSummary();
  dom.clustersSection.hidden = clusterList.length === 0;
  state.showClusters = clusterList.length > 0 && dom.showClusters.checked;
  renderClusterLegend();
  dom.showClusters.addEventListener("change", () => {
    state.showClusters = dom.showClusters.checked;
    requestDraw();
  });
  const hasTrust = data.tw !== undefined;
  dom.showTrust.disabled = !hasTrust;
  if (!hasTrust) byId("trust-note").textContent = "This map was made without per-track trustworthiness (map it again with this songmap to see it).";
  state.showTrust = hasTrust && dom.showTrust.checked;
  dom.showTrust.addEventListener("change", () => {
    state.showTrust = dom.showTrust.checked;
    requestDraw();
  });
  renderPathPanel("");
  setSelection([]);

  new ResizeObserver(() => {
    resize();
    requestDraw();
  }).observe(dom.wrap);
  resize();
  draw();

  // -------------------------------------------------------------- test API --
  // For tests and benchmarks; positions are in page (CSS) pixels, ready for page.mouse.move().
  window.songmap = {
    points: count,
    renderMs: performance.now(),   // navigation start -> end of the first full draw
    drawTimes: state.drawTimes,
    visibleCount,
    screenPosition(index) {
      if (!(index >= 0 && index < count)) return null;
      const rect = canvas.getBoundingClientRect();
      const x = toScreenX(worldX[index]), y = toScreenY(worldY[index]);
      return {
        x: rect.left + window.scrollX + x,
        y: rect.top + window.scrollY + y,
        onScreen: x >= 0 && y >= 0 && x <= state.cssWidth && y <= state.cssHeight,
      };
    },
    title: (index) => titles[index],
    positions: () => ({ x: worldX, y: worldY }),   // every track's map position (place.js reads them)
    categories: () => categories.map((c, index) => ({
      label: c.label, colour: c.colour, visible: state.shown[index], count: c.members.length,
    })),
    setCategoryVisible(label, visible) {
      categories.forEach((c, index) => { if (c.label === label) state.shown[index] = Boolean(visible); });
      categoriesChanged();
    },
    search(query) {
      dom.search.value = query;
      applySearch(query);
      return state.matchTotal;
    },
    play,
    next: playNext,
    back: playPrevious,
    current: () => state.currentIndex,
    hovered: () => state.hoverIndex,
    neighbours: () => state.neighbours.slice(),
    resetView,
    zoom: () => state.view.scale / state.fitScale,
    worldPosition(x, y) {
      const rect = canvas.getBoundingClientRect();
      return { x: rect.left + window.scrollX + toScreenX(x), y: rect.top + window.scrollY + toScreenY(y) };
    },
    findPath: (start, end, length) => findPath(start, end, length || null),
    pathSource: () => pathGraph().source,
    path: () => state.path.slice(),
    pathEnds: () => [state.pathStart, state.pathEnd],
    selection: () => state.selection.slice(),
    queue: () => (state.queue ? { name: state.queue.name, items: state.queue.items.slice(), position: state.queue.position } : null),
    clusters: () => clusterList.map((c, index) => ({ name: c.name, visible: state.clusterShown[index], count: c.members.length })),
    drawn: () => JSON.parse(JSON.stringify(state.lastDrawn)),
    addOverlay(drawing) { overlays.push(drawing); requestDraw(); },
    redraw: requestDraw,
  };
  document.body.dataset.ready = "1";
})();
