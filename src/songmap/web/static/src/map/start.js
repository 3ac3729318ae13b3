// The map's start-up: the panels filled in, every control wired, the first draw.
import { clusterList, count, data } from "./page-data.js";
import { state } from "./state.js";
import { byId, dom } from "./dom.js";
import { draw, requestDraw } from "./draw.js";
import { resize } from "./view.js";
import { wirePlayer } from "./player.js";
import { renderPathPanel, updateSummary } from "./panels.js";
import { setSelection, wireListening } from "./listening.js";
import { renderCategoryLegend, renderClusterLegend, wireColourBy, wireSearch } from "./filters.js";
import { wireInput } from "./input.js";

export function startMap() {
  wirePlayer();
  wireListening();
  wireSearch();
  wireInput();
  byId("collection").textContent = data.collection || "";
  if (data.collection) document.title = `${data.collection} · songmap`;
  byId("empty").hidden = count > 0;
  wireColourBy();
  renderCategoryLegend();
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
}
