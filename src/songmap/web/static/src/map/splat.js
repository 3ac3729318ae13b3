// Many points (a map of 100 000 tracks): instead of one circle path per point, which the
// software rasteriser of a headless or GPU-less browser fills at ~1 µs per pixel edge, each
// point is stamped into an RGBA pixel buffer with an anti-aliased disc (or ring) mask, blended
// "source-over" as the canvas would, and the buffer is drawn onto the map in one drawImage.
// Masks are made per radius for 4 x 4 sub-pixel offsets, so a stamp is a table walk.
import { state } from "./state.js";
import { ctx, dom } from "./dom.js";
import { screenX, screenY } from "./draw.js";
import { TRUST_RGB, trustBuckets } from "./layers.js";

export function splatLayer() {
  const width = dom.canvas.width, height = dom.canvas.height;
  let layer = state.splat;
  if (!layer || layer.width !== width || layer.height !== height) {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const image = new ImageData(width, height);
    layer = { width, height, canvas, context: canvas.getContext("2d"), image,
      words: new Uint32Array(image.data.buffer), masks: new Map() };
    state.splat = layer;
  }
  layer.words.fill(0);
  return layer;
}

export function showSplatLayer(layer, alpha) {
  layer.context.putImageData(layer.image, 0, 0);
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.globalAlpha = alpha;
  ctx.drawImage(layer.canvas, 0, 0);
  ctx.restore();
}

const SUBPIXEL = 4;

// Coverage masks of a disc of radius `radius` (device px) or, with `width`, of a ring of that
// radius and line width: per sub-pixel offset of the centre, the pixels it covers as (u, v)
// offsets from the centre pixel, their offset in the layer's pixels and their coverage.
function masksFor(layer, radius, width) {
  const key = `${radius.toFixed(3)}/${width || 0}`;
  let set = layer.masks.get(key);
  if (set) return set;
  if (layer.masks.size > 32) layer.masks.clear();   // zooming makes a new radius per frame
  const half = Math.ceil(radius + (width ? width / 2 : 0) + 0.5);
  const masks = [];
  for (let qy = 0; qy < SUBPIXEL; qy++) {
    for (let qx = 0; qx < SUBPIXEL; qx++) {
      const fx = (qx + 0.5) / SUBPIXEL, fy = (qy + 0.5) / SUBPIXEL;   // centre within its pixel
      const us = [], vs = [], covers = [];
      for (let v = -half; v <= half; v++) {
        for (let u = -half; u <= half; u++) {
          const d = Math.hypot(u + 0.5 - fx, v + 0.5 - fy);
          const cover = Math.min(1, width ? width / 2 + 0.5 - Math.abs(d - radius) : radius + 0.5 - d);
          if (cover <= 0) continue;
          us.push(u);
          vs.push(v);
          covers.push(cover);
        }
      }
      const offsets = Int32Array.from(us, (u, e) => vs[e] * layer.width + u);
      masks.push({ us: Int32Array.from(us), vs: Int32Array.from(vs), offsets, covers: Float32Array.from(covers) });
    }
  }
  set = { masks, half };
  layer.masks.set(key, set);
  return set;
}

// Stamps each point of `indices` with the masks of `set` in colour rgb at opacity `alpha` (of
// the layer, which is drawn at the points' opacity), one 32-bit word (r, g, b, a bytes,
// little-endian) per pixel. Where a point covers a pixel fully it replaces it, as circles of one
// path do in a canvas fill; an anti-aliased edge is blended "source-over" (straight colour, as
// ImageData holds it), over an opaque pixel two channels at a time.
function stamp(layer, set, indices, rgb, alpha) {
  const { words, width, height } = layer;
  const { masks, half } = set;
  const pr = state.pixelRatio;
  const [red, green, blue] = rgb;
  const colour = ((blue << 16) | (green << 8) | red) >>> 0;
  const colourRB = colour & 0x00ff00ff, colourG = green << 8;
  const opacity = masks.map((mask) => Uint8Array.from(mask.covers, (cover) => Math.round(alpha * cover * 255)));
  for (let k = 0; k < indices.length; k++) {
    const j = indices[k];
    const dx = screenX[j] * pr, dy = screenY[j] * pr;
    const px = Math.floor(dx), py = Math.floor(dy);
    const q = Math.min(SUBPIXEL - 1, Math.floor((dy - py) * SUBPIXEL)) * SUBPIXEL
      + Math.min(SUBPIXEL - 1, Math.floor((dx - px) * SUBPIXEL));
    const { offsets, us, vs } = masks[q];
    const alphas = opacity[q];
    const inside = px >= half && py >= half && px + half < width && py + half < height;
    const centre = py * width + px;
    for (let e = 0; e < offsets.length; e++) {
      if (!inside) {
        const x = px + us[e], y = py + vs[e];
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
      }
      const at = centre + offsets[e], sa = alphas[e];
      if (sa === 255) {
        words[at] = (colour | 0xff000000) >>> 0;
        continue;
      }
      if (sa === 0) continue;
      const d = words[at], da = d >>> 24;
      if (da === 0) {
        words[at] = (colour | (sa << 24)) >>> 0;
      } else if (da === 255) {
        const keep = 255 - sa;
        const rb = ((colourRB * sa + (d & 0x00ff00ff) * keep) >>> 8) & 0x00ff00ff;
        const g = ((colourG * sa + (d & 0x0000ff00) * keep) >>> 8) & 0x0000ff00;
        words[at] = (0xff000000 | rb | g) >>> 0;
      } else {
        const s = sa / 255, keep = (da / 255) * (1 - s), oa = s + keep;
        const ks = s / oa, kd = keep / oa;
        const r = (red * ks + (d & 255) * kd + 0.5) | 0;
        const g = (green * ks + ((d >>> 8) & 255) * kd + 0.5) | 0;
        const b = (blue * ks + ((d >>> 16) & 255) * kd + 0.5) | 0;
        words[at] = (((oa * 255 + 0.5) << 24) | (b << 16) | (g << 8) | r) >>> 0;
      }
    }
  }
}

export function stampDiscs(layer, indices, r, rgb, alpha) {
  if (indices.length > 0) stamp(layer, masksFor(layer, r * state.pixelRatio, 0), indices, rgb, alpha);
}

// drawTrustRings' five buckets, stamped as rings.
export function stampTrustRings(layer, inView, r, drawn, layerAlpha) {
  trustBuckets(inView).forEach((members, b) => {
    if (members.length === 0) return;
    const pr = state.pixelRatio;
    stamp(layer, masksFor(layer, (r + 2.5 + b * 0.6) * pr, 2 * pr), members, TRUST_RGB, Math.min(1, (0.4 + 0.15 * b) / layerAlpha));
    drawn.trustRings += members.length;
  });
}

// "#rrggbb" (the palette's form; anything else reads as grey) -> [r, g, b].
export function rgbOf(colour) {
  const match = /^#([0-9a-f]{6})$/i.exec(String(colour));
  if (!match) return [141, 151, 168];
  const value = Number.parseInt(match[1], 16);
  return [value >> 16, (value >> 8) & 255, value & 255];
}
