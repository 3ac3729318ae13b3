// What is shown: the search (titles, artists, albums), the "Colour by" choice and its legend, and
// the cluster legend.
import { categories, categoryOf, clusterList, clusterOf, colourings, colourKey, colourLabel, count, lowerTitle, setColourBy } from "./page-data.js";
import { isInteractive, state } from "./state.js";
import { colourDot, dom, el } from "./dom.js";
import { requestDraw } from "./draw.js";
import { centreOn } from "./view.js";
import { play } from "./player.js";
import { renderResults, updateNeighbours, updateSummary } from "./panels.js";

export function visibleCount() {
  let total = 0;
  for (let i = 0; i < count; i++) if (isInteractive(i)) total++;
  return total;
}

export function applySearch(query) {
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

function firstInteractive() {
  for (let i = 0; i < count; i++) if (isInteractive(i)) return i;
  return -1;
}

export function wireSearch() {
  dom.search.addEventListener("input", () => applySearch(dom.search.value));
  dom.search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    const first = firstInteractive();
    if (first >= 0) {
      play(first);
      centreOn(first);
    }
  });
}

// A legend in `list`: per entry ({label, count, colour (optional)}) a button, pressed while
// shown[index], with the label in data-<dataKey>. A click calls onToggle(index, alone): alone
// (shift- or alt-click) shows only that entry, else it is shown or hidden.
function renderLegend(list, entries, shown, dataKey, onToggle) {
  list.textContent = "";
  entries.forEach((entry, index) => {
    const button = el("button", "legend-btn");
    button.type = "button";
    button.setAttribute("aria-pressed", String(shown[index]));
    button.dataset[dataKey] = entry.label;
    if (entry.colour !== undefined) button.append(colourDot(entry.colour));
    button.append(el("span", "name", entry.label), el("span", "count", String(entry.count)));
    button.addEventListener("click", (event) => onToggle(index, event.shiftKey || event.altKey));
    list.append(button);
  });
}

export function renderCategoryLegend() {
  const entries = categories.map((c) => ({ label: c.label, colour: c.colour, count: c.members.length }));
  renderLegend(dom.legend, entries, state.shown, "category", (index, alone) => {
    if (alone) state.shown = categories.map((_, other) => other === index);
    else state.shown[index] = !state.shown[index];
    categoriesChanged();
  });
}

const legendHeading = () => (colourKey === "category" ? "Categories" : colourLabel);

// The "Colour by" list: every choice the data has; changing it regroups the legend (all shown).
export function wireColourBy() {
  const select = dom.colourBy;
  select.textContent = "";
  for (const c of colourings) {
    const option = el("option", "", c.label);
    option.value = c.key;
    select.append(option);
  }
  select.value = colourKey;
  select.disabled = colourings.length < 2;
  select.addEventListener("change", () => colourBy(select.value));
  dom.legendHeading.textContent = legendHeading();
}

// Colour the map by `key`; the legend's groups are all shown again. Returns whether it changed.
export function colourBy(key) {
  if (!setColourBy(key)) return false;
  dom.colourBy.value = key;
  state.shown = categories.map(() => true);
  dom.legendHeading.textContent = legendHeading();
  categoriesChanged();
  return true;
}

export function categoriesChanged() {
  renderCategoryLegend();
  if (state.hoverIndex >= 0 && !isInteractive(state.hoverIndex)) state.hoverIndex = -1;
  if (state.focusIndex >= 0 && !isInteractive(state.focusIndex)) state.focusIndex = -1;
  applySearch(dom.search.value);
  updateNeighbours();
  updateSummary();
}

// The cluster filter: a dimmed cluster's tracks are drawn faintly and cannot be picked.
export function renderClusterLegend() {
  const entries = clusterList.map((c) => ({ label: c.name, count: c.members.length }));
  renderLegend(dom.clusterLegend, entries, state.clusterShown, "cluster", (index, alone) => {
    if (alone) state.clusterShown = clusterList.map((_, other) => other === index);
    else state.clusterShown[index] = !state.clusterShown[index];
    clustersChanged();
  });
}

function clustersChanged() {
  for (let i = 0; i < count; i++) state.clusterMatch[i] = clusterList.length === 0 || state.clusterShown[clusterOf[i]] ? 1 : 0;
  renderClusterLegend();
  categoriesChanged();
}
