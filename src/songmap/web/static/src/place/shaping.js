// The model input of a log-mel spectrogram: songmap.features.shaping and songmap.features.modulation.
import { linspace, roundHalfEven } from "../numbers.js";

export function loopPadOrCrop(x, length) {
  const out = new Float32Array(x.rows * length);
  for (let r = 0; r < x.rows; r++) {
    for (let t = 0; t < length; t++) out[r * length + t] = x.data[r * x.cols + (t % x.cols)];
  }
  return { data: out, rows: x.rows, cols: length };
}

export function poolTime(x, nBins) {
  if (x.cols < nBins) x = loopPadOrCrop(x, nBins);
  const edges = Array.from(linspace(0, x.cols, nBins + 1), roundHalfEven);
  const out = new Float32Array(x.rows * nBins);
  for (let r = 0; r < x.rows; r++) {
    for (let b = 0; b < nBins; b++) {
      let sum = 0;
      for (let t = edges[b]; t < edges[b + 1]; t++) sum += x.data[r * x.cols + t];
      out[r * nBins + b] = sum / (edges[b + 1] - edges[b]);
    }
  }
  return { data: out, rows: x.rows, cols: nBins };
}

export function modelInput(logMel, nFrames, representation, width, offset) {
  const cropped = loopPadOrCrop(logMel, nFrames);
  if (representation === "modulation") return modulationSpectrum(cropped, width, offset);
  if (representation === "pooled") return poolTime(cropped, width);
  throw new Error(`unknown representation ${representation}`);
}

// -------------------------------------------------------- features.modulation --
export function modulationBandEdges(nFreqs, nBins) {
  const top = Math.max(nFreqs, 2);
  const logTop = Math.log10(top);
  const out = [1];
  for (let i = 1; i <= nBins; i++) {
    const edge = i === nBins ? top : 10 ** ((i * logTop) / nBins);  // numpy.geomspace(1, top, nBins + 1)
    out.push(Math.max(roundHalfEven(edge), out[i - 1] + 1));
  }
  return out.map((e) => Math.min(e, top));
}

// `offset`: the model block's constants.modulationOffset.
export function modulationSpectrum(x, nBins, offset) {
  const { rows, cols: frames } = x;
  const nFreqs = Math.floor(frames / 2) + 1;
  const cos = new Float64Array(frames), sin = new Float64Array(frames), window = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / frames);
    sin[i] = Math.sin((2 * Math.PI * i) / frames);
    window[i] = frames > 1 ? 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (frames - 1)) : 1;  // numpy.hanning
  }
  const edges = modulationBandEdges(nFreqs, nBins);
  const out = new Float32Array(rows * nBins);
  const env = new Float64Array(frames), magnitude = new Float64Array(nFreqs), cumulative = new Float64Array(nFreqs + 1);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let t = 0; t < frames; t++) { env[t] = 10 ** (x.data[r * frames + t] / 20); mean += env[t]; }
    mean /= frames;
    for (let t = 0; t < frames; t++) env[t] = (env[t] - mean) * window[t];
    for (let k = 0; k < nFreqs; k++) {
      let re = 0, im = 0, index = 0;
      for (let t = 0; t < frames; t++) {
        re += env[t] * cos[index];
        im -= env[t] * sin[index];
        index += k;
        if (index >= frames) index -= frames;
      }
      magnitude[k] = Math.hypot(re, im) / frames;
      cumulative[k + 1] = cumulative[k] + magnitude[k];
    }
    for (let b = 0; b < nBins; b++) {
      let lo = edges[b], hi = Math.max(edges[b + 1], lo + 1);
      lo = Math.min(lo, nFreqs - 1);
      hi = Math.min(hi, nFreqs);
      out[r * nBins + b] = Math.log(offset + (cumulative[hi] - cumulative[lo]) / (hi - lo));
    }
  }
  return { data: out, rows, cols: nBins };
}
