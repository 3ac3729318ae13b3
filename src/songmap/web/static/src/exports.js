// The same playlists as songmap.report.playlists writes for `songmap path`/`playlist`, and the
// copied file paths. A track here is {title, file, category, duration, x, y, cluster} (duration
// and cluster null when unknown or none); tests/js/exports.test.mjs checks the text against Python.
import { pythonFloatText, roundHalfEven } from "./numbers.js";
import { quotePath } from "./wire.js";

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

// A POSIX path with "." and ".." resolved, as os.path.normpath does for an absolute one.
function pathParts(path) {
  const parts = [];
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "" && part !== ".") parts.push(part);
  }
  return parts;
}

const hasLoneSurrogate = (text) => displayText(text) !== text;

// Where a playlist whose paths are relative to the folder `base` finds `inputDir`/`file`, as
// songmap.report.playlists.m3u8_location writes it for `--relative-to` (a name that is not UTF-8 or
// holds a control character: an absolute file:// URI), or null for a file outside `base`.
export function relativeLocation(inputDir, file, base) {
  const target = pathParts(`${inputDir}/${file}`);
  const joined = target.join("/");
  if (hasLoneSurrogate(joined) || [...joined].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    return "file://" + quotePath("/" + joined);
  }
  const from = pathParts(base);
  let common = 0;
  while (common < from.length && common < target.length && from[common] === target[common]) common++;
  if (common < from.length) return null;
  const relative = target.slice(common).join("/") || ".";
  return relative.startsWith("#") ? "./" + relative : relative;
}

const xmlText = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

// XSPF as songmap.report.playlists.xspf_text writes it (ElementTree, indented by two spaces): per
// track its location (a relative path percent-encoded; a URI as it is), title, creator (artist),
// album and duration in milliseconds, those it has. A track here also has `artist` and `album`.
export function xspf(tracks, locations, name, version) {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<playlist xmlns="http://xspf.org/ns/0/" version="1">',
    `  <title>${xmlText(oneLine(name))}</title>`, `  <annotation># songmap ${version || ""} playlist</annotation>`];
  if (tracks.length === 0) lines.push("  <trackList />");
  else {
    lines.push("  <trackList>");
    tracks.forEach((track, k) => {
      const location = /^[a-z][a-z0-9+.-]*:/i.test(locations[k]) ? locations[k] : quotePath(locations[k]);
      lines.push("    <track>", `      <location>${xmlText(location)}</location>`, `      <title>${xmlText(oneLine(track.title))}</title>`);
      for (const [tag, value] of [["creator", track.artist], ["album", track.album]]) {
        if (typeof value === "string" && value.trim()) lines.push(`      <${tag}>${xmlText(oneLine(value))}</${tag}>`);
      }
      if (typeof track.duration === "number") lines.push(`      <duration>${roundHalfEven(track.duration * 1000)}</duration>`);
      lines.push("    </track>");
    });
    lines.push("  </trackList>");
  }
  lines.push("</playlist>");
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
