// The page's wire format (songmap/web/page_wire.py, data format 2): the tracks travel column-wise,
// numbers as little-endian typed arrays in base64, strings as JSON arrays. The columns are
// decoded once into typed arrays; no per-track objects are made (a page may hold 100 000 tracks).
// The placer's model block (songmap/web/placing.py) uses the same base64 for its tensors.

export const NO_CATEGORY = 0xffff;   // category code of an uncategorised track
export const NO_CLUSTER = -2;        // cluster id of a track without one (-1 is "in no cluster")
const NO_UNIT = 0xffff;              // trustworthiness missing (values are stored x UNIT_SCALE)
const UNIT_SCALE = 10000;

// The bytes of a base64 text: the one decoder of the page.
export function bytesOf(text) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text || "");
  const binary = atob(text || "");
  const bytes = new Uint8Array(binary.length);
  for (let k = 0; k < binary.length; k++) bytes[k] = binary.charCodeAt(k);
  return bytes;
}

// A typed array (the page's byte order is little-endian, as every browser's is) over the bytes.
export function column(text, Type) {
  const bytes = bytesOf(text);
  return new Type(bytes.buffer, bytes.byteOffset, bytes.byteLength / Type.BYTES_PER_ELEMENT);
}

// A column of values in [0, 1] stored as uint16 x UNIT_SCALE; NaN where missing or not sent.
function unitColumn(data, key, count) {
  const values = new Float64Array(count).fill(NaN);
  const stored = data[key] ? column(data[key], Uint16Array) : new Uint16Array(0);
  for (let i = 0; i < stored.length; i++) if (stored[i] !== NO_UNIT) values[i] = stored[i] / UNIT_SCALE;
  return values;
}

// The track columns of a data block. Hot loops (drawing, hit testing, neighbour search) run over
// these typed arrays, with indexed loops: the first draw runs before the JIT has warmed up.
export function readTracks(data) {
  const count = data.count;
  const tracks = {
    count,
    titles: data.titles,   // strings (page_tracks.py makes every title a string)
    files: data.files,
    categoryNames: data.categoryNames,
    categoryCode: column(data.category, Uint16Array),   // index into categoryNames, NO_CATEGORY: none
    x: column(data.x, Float64Array),
    y: column(data.y, Float64Array),
    durations: column(data.duration, Float64Array),     // NaN: unknown
    clusterIds: data.cluster ? column(data.cluster, Int32Array) : new Int32Array(count).fill(NO_CLUSTER),
    trustworthiness: unitColumn(data, "tw", count),    // NaN: not in the document
    trajectories: data.paths || {},                     // track index -> [[x, y], ...] of its windows
    years: data.year ? column(data.year, Uint16Array) : null,   // 0: no year
  };
  tracks.colourings = readColourings(data, tracks);
  return tracks;
}

// The "Colour by" choices (songmap/web/page_wire.py pack_colourings): per key its group names,
// colours and each track's group code (NO_CATEGORY: none), sent or derived from the columns the
// page has (categories, clusters, duration and trust bins). A page made before the choices has only
// its categories, coloured by colourOfCategory.
function readColourings(data, tracks) {
  if (!Array.isArray(data.colourings)) {
    return [{
      key: "category", label: "Category", names: data.categoryNames, colours: null, noneLabel: "uncategorised",
      noneColour: data.uncategorisedColour, code: tracks.categoryCode,
    }];
  }
  return data.colourings.map((c) => ({ ...c, code: colouringCodes(c, data, tracks) }));
}

function colouringCodes(c, data, tracks) {
  if (c.from === "category") return tracks.categoryCode;
  const count = tracks.count, code = new Uint16Array(count).fill(NO_CATEGORY);
  if (c.from === "cluster") {
    const indexOfName = new Map(c.names.map((name, k) => [name, k]));
    const nameOfId = new Map((data.clusters || []).map((cluster) => [cluster.id, cluster.name]));
    for (let i = 0; i < count; i++) {
      const k = indexOfName.get(nameOfId.get(tracks.clusterIds[i]));
      if (k !== undefined) code[i] = k;
    }
  } else if (c.from === "duration" || c.from === "tw") {
    // Bin of v: the number of inner edges <= v (numpy's searchsorted(side="right"), as colouring.py).
    const values = c.from === "duration" ? tracks.durations : tracks.trustworthiness, edges = c.edges;
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (Number.isNaN(v)) continue;
      let k = 0;
      while (k < edges.length - 2 && edges[k + 1] <= v) k++;
      code[i] = k;
    }
  } else {
    return column(c.code, Uint16Array);
  }
  return code;
}

// Feature-space neighbours, nearest first, with distances: track i's are index/distance
// [start[i], start[i + 1]); has[i] is 0 for a track without them.
export function featureNeighbourLists(data, count) {
  const has = new Uint8Array(count).fill(data.nb ? 1 : 0);
  for (const i of data.nbMissing || []) has[i] = 0;
  return {
    index: data.nb ? column(data.nb, Int32Array) : new Int32Array(0),
    distance: data.nd ? column(data.nd, Float32Array) : new Float32Array(0),
    start: data.nbStart ? column(data.nbStart, Int32Array) : Int32Array.from({ length: count + 1 }, (_, i) => i * (data.nbK || 0)),
    has,
  };
}

// Track i's [neighbours, distances] in the lists of featureNeighbourLists, or null without them.
export function neighboursIn(lists, i) {
  const { index, distance, start, has } = lists;
  return has[i] ? [index.subarray(start[i], start[i + 1]), distance.subarray(start[i], start[i + 1])] : null;
}

// One track as the UI shows it (made on demand; hot loops use the columns).
export function trackAt(tracks, i) {
  const code = tracks.categoryCode[i];
  const duration = tracks.durations[i];
  return {
    title: tracks.titles[i],
    file: tracks.files[i],
    category: code === NO_CATEGORY ? null : tracks.categoryNames[code],
    duration: Number.isNaN(duration) ? null : duration,
    x: tracks.x[i],
    y: tracks.y[i],
  };
}

// Paths run over feature-space neighbours when the document has them for every track; otherwise
// over map-coordinate neighbours.
export function hasFeatureGraph(data, count) {
  return count > 0 && data.nb !== undefined && (data.nbMissing || []).length === 0;
}

// Python's urllib.parse.quote(text, safe="/"), as page.py writes audio URLs and playlists their
// locations; a lone surrogate \udcXX (byte XX of a name that is not UTF-8, as Python keeps it)
// becomes %XX, as quote() of the name's bytes does.
const LONE_SURROGATE = /([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/;
export const quotePath = (text) => String(text).split(LONE_SURROGATE).map((part, k) => (k % 2
  ? "%" + (part.charCodeAt(0) & 0xff).toString(16).toUpperCase().padStart(2, "0")
  : encodeURIComponent(part).replace(/%2F/g, "/").replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())))
  .join("");

// Track i's audio URL: a prefix and its index (served), or a prefix and its quoted file name
// unless the block lists a URL of its own for it.
export function audioUrlOf(audio, files, i) {
  if (audio.numbered) return audio.prefix + i;
  const url = audio.urls ? audio.urls[i] : 0;
  return url === 0 ? audio.prefix + quotePath(files[i]) : url;
}
