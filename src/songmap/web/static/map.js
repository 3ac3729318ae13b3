// The map page's script: inlined into map.html by songmap/web/page.py (the CSP allows it by hash).
//
// Sections, in order: constants, data (read-only after start-up), state (every piece of mutable
// UI state, in one object), DOM, view (world <-> screen transform, zoom, pan), render (canvas,
// labels, tooltip), hit tests, neighbours, player, track lists, search, legend, pointer input,
// keyboard input, start-up and the test API (window.songmap, see page.py's docstring).
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

  // ------------------------------------------------------------------ data --
  const data = JSON.parse(document.getElementById("songmap-data").textContent);
  const tracks = data.tracks;
  const count = tracks.length;

  // Colours come with the data, from the palette map.png uses (songmap.report.palette).
  const categoryColours = data.categoryColours || {};
  const uncategorisedColour = data.uncategorisedColour;

  function colourOf(name) {
    return name !== null && Object.hasOwn(categoryColours, name) ? categoryColours[name] : uncategorisedColour;
  }

  function isUncategorised(track) {
    return track.category === null || track.category === undefined;
  }

  // Hot loops (drawing, hit testing, neighbour search) run over typed arrays, with indexed
  // loops: the first draw runs before the JIT has warmed up, where iterators cost.
  const worldX = new Float64Array(count);
  const worldY = new Float64Array(count);
  const titleLower = new Array(count);
  for (let i = 0; i < count; i++) {
    worldX[i] = tracks[i].x;
    worldY[i] = tracks[i].y;
    titleLower[i] = String(tracks[i].title).toLowerCase();
  }

  // Categories: sorted names, then null ("uncategorised") last; categoryOf[i] is the index of
  // track i's category and category.members the tracks of each.
  const { categories, categoryOf } = groupByCategory();

  function groupByCategory() {
    const names = new Set();
    let hasNull = false;
    for (let i = 0; i < count; i++) {
      if (isUncategorised(tracks[i])) hasNull = true;
      else names.add(tracks[i].category);
    }
    const sorted = Array.from(names).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const list = sorted.map((name) => ({ name, label: name, colour: colourOf(name), members: [] }));
    if (hasNull) list.push({ name: null, label: UNCATEGORISED_LABEL, colour: uncategorisedColour, members: [] });
    const indexByName = new Map(sorted.map((name, index) => [name, index]));
    const of = new Uint16Array(count);
    for (let i = 0; i < count; i++) {
      const c = isUncategorised(tracks[i]) ? list.length - 1 : indexByName.get(tracks[i].category);
      of[i] = c;
      list[c].members.push(i);
    }
    for (const category of list) category.members = Int32Array.from(category.members);
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
    return state.shown[categoryOf[index]] && state.searchMatch[index] === 1;
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
    const base = count > 3000 ? 2.2 : count > 500 ? 3 : count > 60 ? 4.5 : 6.5;
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
    const { view, cssWidth, cssHeight, searchMatch, currentIndex } = state;
    ctx.setTransform(state.pixelRatio, 0, 0, state.pixelRatio, 0, 0);
    ctx.clearRect(0, 0, cssWidth, cssHeight);
    drawGrid();

    const r = pointRadius();
    const ox = cssWidth / 2 - view.cx * view.scale, oy = cssHeight / 2 + view.cy * view.scale;
    for (let i = 0; i < count; i++) {
      screenX[i] = worldX[i] * view.scale + ox;
      screenY[i] = oy - worldY[i] * view.scale;
    }
    const minX = -r, minY = -r, maxX = cssWidth + r, maxY = cssHeight + r;
    const searching = state.searchQuery !== "";
    const inView = [];

    // Search misses of shown categories: faint context, drawn first.
    if (searching) {
      ctx.beginPath();
      for (let c = 0; c < categories.length; c++) {
        if (!state.shown[c]) continue;
        const members = categories[c].members;
        for (let m = 0; m < members.length; m++) {
          const j = members[m];
          if (searchMatch[j]) continue;
          const x = screenX[j], y = screenY[j];
          if (x < minX || x > maxX || y < minY || y > maxY) continue;
          ctx.moveTo(x + r, y);
          ctx.arc(x, y, r, 0, 2 * Math.PI);
        }
      }
      ctx.fillStyle = "rgba(141,151,168,0.16)";
      ctx.fill();
    }

    // One path per category: a few fill() calls instead of one per point.
    for (let c = 0; c < categories.length; c++) {
      if (!state.shown[c]) continue;
      const members = categories[c].members;
      ctx.beginPath();
      for (let m = 0; m < members.length; m++) {
        const j = members[m];
        if (!searchMatch[j]) continue;
        const x = screenX[j], y = screenY[j];
        if (x < minX || x > maxX || y < minY || y > maxY) continue;
        ctx.moveTo(x + r, y);
        ctx.arc(x, y, r, 0, 2 * Math.PI);
        inView.push(j);
      }
      ctx.globalAlpha = count > 3000 ? 0.8 : 0.95;
      ctx.fillStyle = categories[c].colour;
      ctx.fill();
      ctx.globalAlpha = 1;
    }

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

    drawLabels(inView, r);
    for (const overlay of overlays) overlay(ctx, { toScreenX, toScreenY, radius: r });
    positionTooltip();

    state.drawTimes.push(performance.now() - started);
    if (state.drawTimes.length > 600) state.drawTimes.shift();
  }

  // Labels: the playing track, the pointed one and the neighbours always; every visible point
  // once few enough are in view. Overlapping labels are skipped so the map never turns into a
  // smear of text.
  function drawLabels(inView, r) {
    const { currentIndex, cssWidth, cssHeight } = state;
    const pointed = pointedIndex();
    let wanted = [];
    if (currentIndex >= 0 && isInteractive(currentIndex)) wanted.push(currentIndex);
    if (pointed >= 0 && isInteractive(pointed)) wanted.push(pointed);
    for (const index of state.neighbours) if (isInteractive(index)) wanted.push(index);
    if (inView.length <= LABEL_ALL_LIMIT || (state.searchQuery !== "" && state.matchTotal <= LABEL_ALL_LIMIT)) {
      wanted = wanted.concat(inView);
    }

    ctx.font = LABEL_FONT;
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    const placed = [];
    const done = new Uint8Array(count);
    for (const index of wanted) {
      if (done[index]) continue;
      done[index] = 1;
      let text = tracks[index].title;
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
      const track = tracks[index], category = categoryOfTrack(index);
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
  function nearestPoint(px, py, maxDistance) {
    let best = -1, bestDistance = maxDistance * maxDistance;
    for (let i = 0; i < count; i++) {
      const dx = screenX[i] - px, dy = screenY[i] - py;
      const d = dx * dx + dy * dy;
      // "<=" so that of stacked points the one drawn last (on top) wins.
      if (d <= bestDistance && isInteractive(i)) {
        best = i;
        bestDistance = d;
      }
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
    for (const index of state.neighbours) dom.neighbours.append(trackItem(index));
    dom.neighboursEmpty.hidden = state.neighbours.length > 0;
    if (current >= 0 && state.neighbours.length === 0) dom.neighboursEmpty.textContent = "No other shown tracks.";
  }

  // ---------------------------------------------------------------- player --
  function play(index, options) {
    const fromHistory = Boolean(options && options.fromHistory);
    if (!(index >= 0 && index < count)) return;
    if (index !== state.currentIndex) {
      if (!fromHistory) state.trail.push(index);
      state.currentIndex = index;
      dom.player.src = tracks[index].audio;
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
    const track = tracks[index], category = categoryOfTrack(index);
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

  dom.player.addEventListener("ended", () => { if (dom.autoplay.checked) playNext(); });
  dom.player.addEventListener("error", () => {
    if (state.currentIndex >= 0) setStatus("Could not load the audio of this track.");
  });
  byId("next").addEventListener("click", () => playNext());
  byId("back").addEventListener("click", () => playPrevious());

  // ----------------------------------------------------------- track lists --
  // A list entry (neighbours, search results) that plays its track; focusing it (keyboard) or
  // hovering it points the track out on the map with the tooltip.
  function trackItem(index) {
    const track = tracks[index];
    const button = el("button", "track-btn");
    button.type = "button";
    if (state.visited[index]) button.classList.add("visited");
    button.append(
      colourDot(categoryOfTrack(index).colour),
      el("span", "name", track.title),
      el("span", "sub", formatDuration(track.duration)),
    );
    button.title = track.title;
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
    button.addEventListener("click", () => play(index));
    button.addEventListener("focus", point);
    button.addEventListener("blur", unpoint);
    button.addEventListener("mouseenter", point);
    button.addEventListener("mouseleave", unpoint);
    const item = el("li");
    item.append(button);
    return item;
  }

  // ---------------------------------------------------------------- search --
  function applySearch(query) {
    const q = query.trim().toLowerCase();
    state.searchQuery = q;
    let total = 0;
    for (let i = 0; i < count; i++) {
      const match = q === "" || titleLower[i].includes(q);
      state.searchMatch[i] = match ? 1 : 0;
      if (match && state.shown[categoryOf[i]]) total++;
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

  function updateSummary() {
    const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
    const shown = categories.reduce((sum, category, c) => sum + (state.shown[c] ? category.members.length : 0), 0);
    let text = plural(count, "track", "tracks");
    if (shown !== count) text += ` (${shown} shown)`;
    text += ` · ${plural(categories.length, "category", "categories")}`;
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
    if (state.pointers.size === 1) {
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
    const wasClick = state.dragStart && !state.dragStart.moved && event.type === "pointerup";
    state.dragStart = null;
    if (!wasClick) return;
    const index = pointAt(localPoint(event));
    if (index >= 0) {
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
      clearSearchAndPointers(target, typing);
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
        if (target === canvas && state.focusIndex >= 0) play(state.focusIndex);
        break;
    }
  });

  // -------------------------------------------------------------- start-up --
  byId("collection").textContent = data.collection || "";
  if (data.collection) document.title = `${data.collection} · songmap`;
  byId("empty").hidden = count > 0;
  renderLegend();
  updateSummary();

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
    title: (index) => tracks[index].title,
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
    addOverlay(drawing) { overlays.push(drawing); requestDraw(); },
    redraw: requestDraw,
  };
  document.body.dataset.ready = "1";
})();
