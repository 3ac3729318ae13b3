// The same playlists as songmap.report.playlists writes for `songmap path`/`playlist`, and the
// copied file paths. A track here is {title, file, category, duration, x, y, cluster} (duration
// and cluster null when unknown or none); tests/js/exports.test.mjs checks the text against Python.
import { pythonFloatText, roundHalfEven } from "./numbers.js";

// Where a playlist entry points at a track's audio, the way the page does (`url`, against the
// page's `baseURI`): for a page opened from disk, the path relative to map.html (decoded from the
// page's URL; "./" before a leading "#"), so a playlist saved next to map.html finds the files, and
// a name that is not UTF-8 or holds a control character as an absolute file:// URI with its bytes
// percent-encoded; for a served page, the server's URL.
export function playlistLocation(url, baseURI) {
  let absolute;
  try {
    absolute = new URL(url, baseURI);
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

// M3U8: #EXTM3U, #PLAYLIST:<name>, songmap's marker comment, then per track
// #EXTINF:<whole seconds, -1 if unknown>,<title> and its location (locations[k] for tracks[k]).
export function m3u8(tracks, locations, name, version) {
  const lines = ["#EXTM3U", `#PLAYLIST:${oneLine(name)}`, `# songmap ${version || ""} playlist`];
  tracks.forEach((track, k) => {
    const seconds = typeof track.duration === "number" ? roundHalfEven(track.duration) : -1;
    lines.push(`#EXTINF:${seconds},${oneLine(track.title)}`, locations[k]);
  });
  return lines.join("\n") + "\n";
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
// Python writes these as floats: a whole 30 s is "30.0", a tiny x "5e-05".
const FLOAT_COLUMNS = new Set(["duration_s", "x", "y"]);

export function csv(tracks) {
  const rows = [CSV_COLUMNS.join(",")];
  tracks.forEach((track, k) => {
    const cells = [k + 1, track.file, track.title, track.category, track.duration, track.x, track.y, track.cluster];
    rows.push(cells.map((value, c) => (typeof value === "number" && FLOAT_COLUMNS.has(CSV_COLUMNS[c])
      ? pythonFloatText(value) : csvCell(value))).join(","));
  });
  return rows.join("\n") + "\n";
}

// The tracks' files under the input folder, one per line.
export function filePaths(inputDir, files) {
  const base = inputDir ? String(inputDir).replace(/\/+$/, "") + "/" : "";
  return files.map((file) => base + file).join("\n") + "\n";
}
