// The log-mel spectrogram of songmap.features.spectrogram.
import { linspace, roundFloat16 } from "../numbers.js";

export function framesForSeconds(seconds, params) {
  return Math.floor(Math.round(seconds * params.sample_rate) / params.hop_length) + 1;
}

const F_SP = 200 / 3, MIN_LOG_HZ = 1000, MIN_LOG_MEL = 1000 / F_SP, LOGSTEP = Math.log(6.4) / 27;

function hzToMel(hz) {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(Math.max(hz, 1e-10) / MIN_LOG_HZ) / LOGSTEP : hz / F_SP;
}

function melToHz(mel) {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOGSTEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

// (n_mels, n_fft/2 + 1) float32, Slaney-normalised, as librosa.filters.mel's defaults.
export function melFilterbank(sampleRate, nFft, nMels, fmin, fmax) {
  fmax = fmax === null || fmax === undefined ? sampleRate / 2 : fmax;
  const bins = Math.floor(nFft / 2) + 1;
  const fftFreqs = linspace(0, sampleRate / 2, bins);
  const melLo = hzToMel(fmin), melHi = hzToMel(fmax);
  const edges = linspace(melLo, melHi, nMels + 2).map(melToHz);
  const out = new Float32Array(nMels * bins);
  for (let m = 0; m < nMels; m++) {
    const norm = 2 / (edges[m + 2] - edges[m]);
    const lowerWidth = edges[m + 1] - edges[m], upperWidth = edges[m + 2] - edges[m + 1];
    for (let k = 0; k < bins; k++) {
      const lower = -(edges[m] - fftFreqs[k]) / lowerWidth;
      const upper = (edges[m + 2] - fftFreqs[k]) / upperWidth;
      out[m * bins + k] = Math.max(0, Math.min(lower, upper)) * norm;
    }
  }
  return out;
}


function hann(nFft) {
  const w = new Float32Array(nFft);
  for (let i = 0; i < nFft; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / nFft);
  return w;
}

// |rfft(frame)|^2 of a real frame: radix-2 FFT for powers of two, a plain DFT otherwise.
function rfftPower(frame, out, scratch) {
  const n = frame.length, bins = out.length;
  if ((n & (n - 1)) !== 0) {
    for (let k = 0; k < bins; k++) {
      let re = 0, im = 0;
      for (let t = 0; t < n; t++) {
        const angle = (-2 * Math.PI * ((k * t) % n)) / n;
        re += frame[t] * Math.cos(angle);
        im += frame[t] * Math.sin(angle);
      }
      out[k] = re * re + im * im;
    }
    return;
  }
  const { re, im, rev, cos, sin } = scratch;
  for (let i = 0; i < n; i++) { re[rev[i]] = frame[i]; im[rev[i]] = 0; }
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2, stride = n / size;
    for (let start = 0; start < n; start += size) {
      for (let j = 0; j < half; j++) {
        const a = start + j, b = a + half, wr = cos[j * stride], wi = sin[j * stride];
        const tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr; im[b] = im[a] - ti;
        re[a] += tr; im[a] += ti;
      }
    }
  }
  for (let k = 0; k < bins; k++) out[k] = re[k] * re[k] + im[k] * im[k];
}

function fftScratch(n) {
  const bits = Math.round(Math.log2(n));
  const rev = new Uint32Array(n), cos = new Float64Array(n / 2), sin = new Float64Array(n / 2);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  for (let j = 0; j < n / 2; j++) { cos[j] = Math.cos((-2 * Math.PI * j) / n); sin[j] = Math.sin((-2 * Math.PI * j) / n); }
  return { re: new Float64Array(n), im: new Float64Array(n), rev, cos, sin };
}

// |STFT|^2 of the centred Hann-window STFT: {data (frames x bins, float32), rows: frames, cols: bins}.
export function powerSpectrogram(y, params) {
  const { n_fft: nFft, hop_length: hop } = params;
  const nFrames = 1 + Math.floor(y.length / hop);
  if (y.length <= Math.floor(nFft / 2)) y = loopPad1d(y, Math.floor(nFft / 2) + 1);
  const pad = Math.floor(nFft / 2);
  const padded = new Float32Array(y.length + 2 * pad);
  padded.set(y, pad);
  const bins = Math.floor(nFft / 2) + 1;
  const window = hann(nFft);
  const scratch = (nFft & (nFft - 1)) === 0 ? fftScratch(nFft) : null;
  const frame = new Float32Array(nFft), power = new Float64Array(bins);
  const out = new Float32Array(nFrames * bins);
  for (let t = 0; t < nFrames; t++) {
    const start = t * hop;
    for (let i = 0; i < nFft; i++) frame[i] = padded[start + i] * window[i];
    rfftPower(frame, power, scratch);
    out.set(power, t * bins);
  }
  return { data: out, rows: nFrames, cols: bins };
}

// The nonzero span [first, last] of each row of a filterbank: products skip the zeros.
export function spans(filters, rows, bins) {
  const out = [];
  for (let r = 0; r < rows; r++) {
    let first = 0, last = bins - 1;
    while (first < bins && filters[r * bins + first] === 0) first++;
    while (last > first && filters[r * bins + last] === 0) last--;
    out.push([first, last]);
  }
  return out;
}

// (frames, bins) power -> (n_mels, frames) dB relative to its peak, floored top_db below.
export function logMelFromPower(power, params) {
  const { n_mels: nMels, top_db: topDb } = params;
  const { rows: nFrames, cols: bins } = power;
  const filters = melFilterbank(params.sample_rate, params.n_fft, nMels, params.fmin, params.fmax);
  const nonzero = spans(filters, nMels, bins);
  const db = new Float64Array(nMels * nFrames);
  let peak = -Infinity;
  for (let t = 0; t < nFrames; t++) {
    const frame = t * bins;
    for (let m = 0; m < nMels; m++) {
      let sum = 0;
      const row = m * bins;
      for (let k = nonzero[m][0]; k <= nonzero[m][1]; k++) sum += power.data[frame + k] * filters[row + k];
      const value = 10 * Math.log10(Math.max(sum, 1e-10));
      db[m * nFrames + t] = value;
      if (value > peak) peak = value;
    }
  }
  const out = new Float32Array(nMels * nFrames);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(db[i] - peak, -topDb);
  return { data: out, rows: nMels, cols: nFrames };
}

export function logMelSpectrogram(y, params) {
  return logMelFromPower(powerSpectrogram(y, params), params);
}

function loopPad1d(y, length) {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = y[i % y.length];
  return out;
}

// Peak scaling, the silence and length checks, the log-mel rounded to float16 (the cache's type).
export function extractFeatures(y, duration, params, constants) {
  if (duration < constants.minSeconds || y.length === 0) {
    throw new Error(`too short: ${(duration * 1000).toPrecision(2)} ms of audio`);
  }
  let peak = 0;
  for (let i = 0; i < y.length; i++) peak = Math.max(peak, Math.abs(y[i]));
  if (peak === 0) throw new Error("silent: every sample is zero");
  const level = 20 * Math.log10(peak);
  if (level < constants.silenceDbfs) throw new Error(`silent: peak level ${level.toFixed(0)} dBFS`);
  const scaled = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) scaled[i] = y[i] / peak;
  const logMel = logMelSpectrogram(scaled, params);
  for (let i = 0; i < logMel.data.length; i++) logMel.data[i] = roundFloat16(logMel.data[i]);
  return logMel;
}
