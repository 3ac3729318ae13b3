// The page's elements and the small helpers that build list entries. Untrusted text (titles,
// file names, categories) only ever reaches the DOM through textContent.
export const byId = (id) => document.getElementById(id);

export const dom = {
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
  legendHeading: byId("legend-heading"),
  colourBy: byId("colour-by"),
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
dom.tooltipDetails = dom.tooltip.querySelector(".tt-details");
dom.tooltipCover = dom.tooltip.querySelector(".tt-cover");
export const ctx = dom.canvas.getContext("2d");

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function colourDot(colour) {
  const dot = el("span", "dot");
  dot.style.background = colour;
  return dot;
}

export function formatDuration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return "–:––";
  // Floor, like the <audio> control, so both show the same length.
  const total = Math.floor(seconds);
  const rest = total % 60;
  return `${Math.floor(total / 60)}:${rest < 10 ? "0" : ""}${rest}`;
}

export function setStatus(text) { dom.status.textContent = text || ""; }
