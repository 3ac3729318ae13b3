// The map's part of the test API, window.songmap (see songmap/web/page.py's docstring): for tests
// and benchmarks; positions are in page (CSS) pixels, ready for page.mouse.move().
import { categories, clusterList, colourings, colourKey, count, detailsOf, titles, worldX, worldY } from "./page-data.js";
import { state } from "./state.js";
import { dom } from "./dom.js";
import { addOverlay, requestDraw } from "./draw.js";
import { resetView, toScreenX, toScreenY } from "./view.js";
import { play, playNext, playPrevious } from "./player.js";
import { pathBetween, pathGraph } from "./listening.js";
import { applySearch, categoriesChanged, colourBy, visibleCount } from "./filters.js";

export function mapTestApi() {
  const canvas = dom.canvas;
  return {
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
    positions: () => ({ x: worldX, y: worldY }),   // every track's map position
    categories: () => categories.map((c, index) => ({
      label: c.label, colour: c.colour, visible: state.shown[index], count: c.members.length,
    })),
    colourKeys: () => colourings.map((c) => c.key),
    colourKey: () => colourKey,
    colourBy,
    details: (index) => detailsOf(index),
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
    findPath: (start, end, length) => pathBetween(start, end, length || null),
    pathSource: () => pathGraph().source,
    path: () => state.path.slice(),
    pathEnds: () => [state.pathStart, state.pathEnd],
    selection: () => state.selection.slice(),
    queue: () => (state.queue ? { name: state.queue.name, items: state.queue.items.slice(), position: state.queue.position } : null),
    clusters: () => clusterList.map((c, index) => ({ name: c.name, visible: state.clusterShown[index], count: c.members.length })),
    drawn: () => JSON.parse(JSON.stringify(state.lastDrawn)),
    addOverlay,
    redraw: requestDraw,
  };
}
