// The map page's script, bundled by esbuild into static/map.js (make bundle-js), which
// songmap/web/page_template.py inlines into map.html (the CSP allows it by hash).
//
// map/: the map (page-data: the tracks of the data block; state; dom; view; draw, layers and
// splat: the canvas; hits; player; listening: path and selection; panels; filters: search and
// legends; downloads; input: pointer and keyboard; start; test-api; public: what the placer
// uses). place/: placing dropped songs (audio, spectrogram, shaping, tonal, windows, encoder,
// pipeline; placer: its panel). Pure logic shared by both and tested by node (tests/js/): wire
// (the data format), numbers, groups, grid, paths, exports.
import { startMap } from "./map/start.js";
import { mapTestApi } from "./map/test-api.js";
import { placerTestApi, startPlacer } from "./place/placer.js";

startMap();
window.songmap = mapTestApi();
startPlacer();
Object.assign(window.songmap, placerTestApi());
document.body.dataset.ready = "1";
