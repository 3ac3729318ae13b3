// The path and the selection saved as playlists (exports.js) or copied as file paths.
import { csv, filePaths, m3u8, playlistLocation } from "../exports.js";
import { clusterNameOf } from "../groups.js";
import { audioUrl, clusterList, clusterOf, data, files, titles, trackOf } from "./page-data.js";
import { state } from "./state.js";
import { el, setStatus } from "./dom.js";

export function m3u8Of(indices, name) {
  const locations = indices.map((index) => playlistLocation(audioUrl(index), document.baseURI));
  return m3u8(indices.map(trackOf), locations, name, data.version);
}

export const csvOf = (indices) => csv(indices.map((index) => ({ ...trackOf(index), cluster: clusterNameOf(clusterList, clusterOf, index) })));

export const filePathsOf = (indices) => filePaths(data.inputDir, indices.map((index) => files[index]));

export function playlistName(kind) {
  if (kind === "path") return `Path from ${titles[state.pathStart]} to ${titles[state.pathEnd]}`;
  return `Selection of ${state.selection.length} ${state.selection.length === 1 ? "track" : "tracks"}`;
}

export function download(filename, text, type) {
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
export function copyText(text) {
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
