// The tonal view of songmap.features.tonal: chroma, its 2-D Fourier magnitude, log bands.
import { linspace } from "../numbers.js";
import { spans } from "./spectrogram.js";
import { modulationBandEdges } from "./shaping.js";

// (12, bins) float32 weights folding STFT bins onto the pitch classes (C = row 0), model.tonal's constants.
export function chromaFilterbank(sampleRate, nFft, tonal) {
  const bins = Math.floor(nFft / 2) + 1, classes = tonal.pitchClasses;
  const freqs = linspace(0, sampleRate / 2, bins);
  const weights = new Float64Array(classes * bins);
  let top = 0;
  for (let k = 0; k < bins; k++) {
    const f = freqs[k], inside = f >= tonal.fmin && f <= tonal.fmax && f > 0;
    if (!inside) continue;
    const midi = 69 + 12 * Math.log2(Math.max(f, 1e-6) / 440);
    const octaves = Math.exp(-0.5 * (Math.log2(Math.max(f, 1e-6) / tonal.centreHz) / tonal.octaveWidth) ** 2);
    for (let c = 0; c < classes; c++) {
      const distance = ((((midi - c + 6) % 12) + 12) % 12) - 6;  // Python's modulo: never negative
      const w = Math.exp(-0.5 * (distance / tonal.bumpSemitones) ** 2) * (octaves / Math.max(f, 1e-6));
      weights[c * bins + k] = w;
      if (w > top) top = w;
    }
  }
  return Float32Array.from(weights, (w) => w / top);
}

// Chroma of a (frames, bins) power, each frame scaled to a maximum of 1 (frames `silence` under
// the loudest one are zero), averaged over blocks of `block` frames: {data, rows: 12, cols}.
export function chromagram(power, bank, tonal) {
  const { rows: frames, cols: bins } = power, classes = tonal.pitchClasses, block = tonal.block;
  const nonzero = spans(bank, classes, bins);
  const chroma = new Float32Array(frames * classes), peaks = new Float64Array(frames);
  let top = 0;
  for (let t = 0; t < frames; t++) {
    let peak = -Infinity;
    for (let c = 0; c < classes; c++) {
      let sum = 0;
      for (let k = nonzero[c][0]; k <= nonzero[c][1]; k++) sum += power.data[t * bins + k] * bank[c * bins + k];
      chroma[t * classes + c] = sum;
      peak = Math.max(peak, chroma[t * classes + c]);
    }
    peaks[t] = peak;
    top = Math.max(top, peak);
  }
  const threshold = Math.max(top, 1e-20) * tonal.silence;
  for (let t = 0; t < frames; t++) {
    const loud = peaks[t] > threshold, scale = Math.max(peaks[t], 1e-30);
    for (let c = 0; c < classes; c++) chroma[t * classes + c] = loud ? chroma[t * classes + c] / scale : 0;
  }
  const cols = frames < block ? 1 : Math.floor(frames / block), size = frames < block ? frames : block;
  const out = new Float32Array(classes * cols);
  for (let b = 0; b < cols; b++) {
    for (let c = 0; c < classes; c++) {
      let sum = 0;
      for (let t = b * size; t < (b + 1) * size; t++) sum += chroma[t * classes + c];
      out[c * cols + b] = sum / size;
    }
  }
  return { data: out, rows: classes, cols };
}

// numpy.median over the first axis of `count` arrays of `size` values each.
function median(values, count, size) {
  const out = new Float32Array(size), column = new Float64Array(count);
  for (let i = 0; i < size; i++) {
    for (let n = 0; n < count; n++) column[n] = values[n * size + i];
    column.sort();
    out[i] = count % 2 ? column[(count - 1) / 2] : (column[count / 2 - 1] + column[count / 2]) / 2;
  }
  return out;
}

// Median |2-D DFT| (pitch axis: full, time axis: real) of Hann-windowed chroma patches, divided by
// the patch size: {data, rows: 12, cols: patchFrames / 2 + 1}.
export function fourierMagnitude(chroma, tonal) {
  const classes = chroma.rows, length = tonal.patchFrames, hop = tonal.patchHop;
  let cols = chroma.cols, x = chroma.data;
  if (cols < length) {  // loop-padded to a whole number of copies
    const reps = Math.ceil(length / cols), tiled = new Float32Array(classes * cols * reps);
    for (let c = 0; c < classes; c++) {
      for (let t = 0; t < cols * reps; t++) tiled[c * cols * reps + t] = x[c * cols + (t % cols)];
    }
    x = tiled; cols *= reps;
  }
  const freqs = Math.floor(length / 2) + 1, size = classes * freqs;
  const window = new Float64Array(length);
  for (let t = 0; t < length; t++) window[t] = length > 1 ? 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / (length - 1)) : 1;
  const starts = [];
  for (let s = 0; s + length <= cols; s += hop) starts.push(s);
  const magnitudes = new Float64Array(starts.length * size);
  const re = new Float64Array(size), im = new Float64Array(size);
  starts.forEach((start, n) => {
    for (let c = 0; c < classes; c++) {  // real DFT of each pitch row over time
      for (let k = 0; k < freqs; k++) {
        let a = 0, b = 0;
        for (let t = 0; t < length; t++) {
          const v = x[c * cols + start + t] * window[t], angle = (2 * Math.PI * ((k * t) % length)) / length;
          a += v * Math.cos(angle);
          b -= v * Math.sin(angle);
        }
        re[c * freqs + k] = a; im[c * freqs + k] = b;
      }
    }
    for (let p = 0; p < classes; p++) {  // then a DFT over the pitch axis
      for (let k = 0; k < freqs; k++) {
        let a = 0, b = 0;
        for (let c = 0; c < classes; c++) {
          const angle = (2 * Math.PI * ((p * c) % classes)) / classes, cos = Math.cos(angle), sin = Math.sin(angle);
          a += re[c * freqs + k] * cos + im[c * freqs + k] * sin;
          b += im[c * freqs + k] * cos - re[c * freqs + k] * sin;
        }
        magnitudes[n * size + p * freqs + k] = Math.hypot(a, b) / (classes * length);
      }
    }
  });
  return { data: median(magnitudes, starts.length, size), rows: classes, cols: freqs };
}

// A window's (12, nBins) tonal block: the magnitude's columns averaged into bands (column 0 its own,
// then nBins - 1 log-spaced ones, as the modulation bands), log(offset + band).
export function tonalView(power, params, nBins, tonal) {
  const bank = chromaFilterbank(params.sample_rate, params.n_fft, tonal);
  const magnitude = fourierMagnitude(chromagram(power, bank, tonal), tonal);
  const { rows, cols: nFreqs } = magnitude;
  const edges = [0, ...modulationBandEdges(nFreqs, nBins - 1)];
  const out = new Float32Array(rows * nBins), cumulative = new Float64Array(nFreqs + 1);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < nFreqs; k++) cumulative[k + 1] = cumulative[k] + magnitude.data[r * nFreqs + k];
    for (let b = 0; b < nBins; b++) {
      const lo = Math.min(edges[b], nFreqs - 1), hi = Math.min(Math.max(edges[b + 1], edges[b] + 1), nFreqs);
      out[r * nBins + b] = Math.log(tonal.offset + (cumulative[hi] - cumulative[lo]) / (hi - lo));
    }
  }
  return { data: out, rows, cols: nBins };
}
