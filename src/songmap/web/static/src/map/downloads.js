// The path and the selection saved as playlists (exports.js) or copied as file paths.
import { csv, filePaths, m3u8, playlistLocation, relativeLocation, xspf } from "../exports.js";
import { clusterNameOf } from "../groups.js";
import { audioUrl, clusterList, clusterOf, data, files, groupName, titles, trackOf } from "./page-data.js";
import { state } from "./state.js";
import { byId, el, setStatus } from "./dom.js";

// The playlist's locations: relative to the folder typed under "Playlist paths relative to" (for a
// media server that reads playlists found in its library), else the way this page plays the audio.
// null (and a status line) when that folder cannot hold them.
function locationsOf(indices) {
  const base = byId("export-relative-to").value.trim();
  if (!base) return indices.map((index) => playlistLocation(audioUrl(index), document.baseURI));
  if (!base.startsWith("/")) {
    setStatus("Write the folder the playlist's paths are relative to in full, from / (e.g. /home/me/Music).");
    return null;
  }
  if (!data.inputDir) {
    setStatus("This map does not say where its files are, so its playlists cannot name them relative to a folder.");
    return null;
  }
  const locations = indices.map((index) => relativeLocation(data.inputDir, files[index], base));
  // A file:// URI names a file whose name is not UTF-8: no relative path for it (the CLI refuses it too).
  const unnamed = locations.findIndex((location) => location !== null && location.startsWith("file:"));
  if (unnamed >= 0) {
    setStatus(`${files[indices[unnamed]]} cannot be named relative to a folder: its name is not UTF-8.`);
    return null;
  }
  const outside = locations.indexOf(null);
  if (outside >= 0) {
    const count = locations.filter((location) => location === null).length;
    setStatus(`${files[indices[outside]]} is not inside ${base} (${count} ${count === 1 ? "track is" : "tracks are"} not).`);
    return null;
  }
  return locations;
}

export function m3u8Of(indices, name) {
  const locations = locationsOf(indices);
  return locations === null ? null : m3u8(indices.map(trackOf), locations, name, data.version);
}

export function xspfOf(indices, name) {
  const locations = locationsOf(indices);
  if (locations === null) return null;
  const tracks = indices.map((index) => ({ ...trackOf(index), artist: groupName("artist", index), album: groupName("album", index) }));
  return xspf(tracks, locations, name, data.version);
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
