// The map's public interface for the other parts of the page (the placer): the tracks' map
// positions and titles, and drawing over the map.
export { count, titles, worldX, worldY } from "./page-data.js";
export { addOverlay, requestDraw } from "./draw.js";
