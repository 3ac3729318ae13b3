// A dropped file's samples: decoded by the browser at the file's own rate, channels averaged,
// then cut into windows and resampled as songmap.io.decode and songmap.io.windowed do.
import { roundHalfEven } from "../numbers.js";

export function toMono(buffer) {
  const channels = buffer.numberOfChannels;
  const mono = Float32Array.from(buffer.getChannelData(0));
  for (let c = 1; c < channels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < mono.length; i++) mono[i] = Math.fround(mono[i] + data[i]);
  }
  if (channels > 1) {
    const scale = Math.fround(1 / channels);
    for (let i = 0; i < mono.length; i++) mono[i] = Math.fround(mono[i] * scale);
  }
  return mono;
}

// The sample rate a file is stored at, read from its header (WAV, FLAC, Ogg Vorbis/Opus, MP3,
// MP4/M4A), or null. The page decodes at that rate, so it gets the samples songmap's decoders
// get, and resamples them itself as soxr does: the browser's own resampler lets through, near the
// model's Nyquist frequency, what soxr removes.
export function nativeRate(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (at, n) => (at + n <= bytes.length ? String.fromCharCode(...bytes.subarray(at, at + n)) : "");
  const head = text(0, 4);
  if ((head === "RIFF" || head === "RF64" || head === "BW64") && text(8, 4) === "WAVE") {
    for (let at = 12; at + 16 <= bytes.length;) {
      const size = view.getUint32(at + 4, true);
      if (text(at, 4) === "fmt ") return view.getUint32(at + 12, true);
      at += 8 + size + (size & 1);
    }
    return null;
  }
  if (head === "fLaC" && bytes.length > 20) return (bytes[18] << 12) | (bytes[19] << 4) | (bytes[20] >> 4);
  if (head === "OggS" && bytes.length > 27) {
    const at = 27 + bytes[26];
    if (text(at, 8) === "OpusHead") return 48000;  // Opus always decodes at 48 kHz
    if (bytes[at] === 1 && text(at + 1, 6) === "vorbis" && at + 16 <= bytes.length) return view.getUint32(at + 12, true);
    return null;
  }
  if (text(4, 4) === "ftyp") {  // MP4: the first audio sample entry's rate (16.16 fixed point)
    for (let at = 8; at + 30 <= bytes.length; at++) {
      if (bytes[at] === 0x6d && text(at, 4) === "mp4a") return view.getUint16(at + 28, false) || null;
    }
    return null;
  }
  let at = 0;
  if (head.startsWith("ID3") && bytes.length > 10) {
    at = 10 + ((bytes[6] & 0x7f) << 21 | (bytes[7] & 0x7f) << 14 | (bytes[8] & 0x7f) << 7 | (bytes[9] & 0x7f));
  }
  const MP3_RATES = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };
  for (const end = Math.min(bytes.length - 3, at + 65536); at < end; at++) {  // the first MPEG audio frame
    if (bytes[at] !== 0xff || (bytes[at + 1] & 0xe0) !== 0xe0) continue;
    const version = (bytes[at + 1] >> 3) & 3, layer = (bytes[at + 1] >> 1) & 3, index = (bytes[at + 2] >> 2) & 3;
    if (version !== 1 && layer !== 0 && index !== 3 && (bytes[at + 2] >> 4) !== 15) return MP3_RATES[version][index];
  }
  return null;
}

// The whole file, channels averaged: {y, rate, duration}. At the file's own rate when its header
// says it (the OfflineAudioContext then does not resample), else at the model's (the browser resamples).
export async function decode(arrayBuffer, modelRate) {
  const rate = nativeRate(new Uint8Array(arrayBuffer));
  const contextRate = rate && rate >= 3000 && rate <= 768000 ? rate : modelRate;
  const context = new OfflineAudioContext({ numberOfChannels: 1, length: 1, sampleRate: contextRate });
  const buffer = await context.decodeAudioData(arrayBuffer);
  return { y: toMono(buffer), rate: buffer.sampleRate, duration: buffer.duration };
}

function besselI0(x) {
  let sum = 1, term = 1;
  for (let k = 1; k < 64 && term > 1e-17 * sum; k++) { term *= (x / (2 * k)) ** 2; sum += term; }
  return sum;
}

function gcd(a, b) { return b ? gcd(b, a % b) : a; }

// Resampled from `from` to `to` Hz by a linear-phase Kaiser-windowed sinc designed as soxr's "HQ"
// recipe (`spec`, the model block's resample: passband end and stopband attenuation; -6 dB halfway between the
// passband end and the lower Nyquist frequency). Output sample j sits at input position j*from/to;
// outside the signal is zero, as soxr's one-shot resampling of a window; length round(n*to/from).
export function resample(y, from, to, spec) {
  if (from === to || y.length === 0) return Float32Array.from(y);
  const { passbandEnd, attenuationDb } = spec;
  const nyquist = Math.min(from, to) / 2, pass = passbandEnd * nyquist;
  const cutoff = (pass + nyquist) / 2 / from;                      // cycles per input sample
  const transition = ((nyquist - pass) / from) * 2 * Math.PI;      // radians per input sample
  const beta = 0.1102 * (attenuationDb - 8.7);
  const half = Math.ceil((attenuationDb - 7.95) / (2.285 * transition) / 2);
  const i0beta = besselI0(beta);
  const kernel = (tau) => {
    if (Math.abs(tau) > half) return 0;
    const sinc = tau === 0 ? 1 : Math.sin(2 * Math.PI * cutoff * tau) / (2 * Math.PI * cutoff * tau);
    return 2 * cutoff * sinc * besselI0(beta * Math.sqrt(Math.max(0, 1 - (tau / half) ** 2))) / i0beta;
  };
  const g = gcd(from, to), up = to / g, down = from / g, taps = 2 * half + 2;
  // Output j reads inputs floor(j*down/up) + k, k in [-half, half + 1]; its fraction is one of `up` phases.
  const table = up <= 4096 ? new Float32Array(up * taps) : null;
  if (table) {
    for (let phase = 0; phase < up; phase++) {
      for (let k = -half; k <= half + 1; k++) table[phase * taps + k + half] = kernel(phase / up - k);
    }
  }
  const n = Math.floor((y.length * to) / from + 0.5);
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const position = j * down, base = Math.floor(position / up), phase = position - base * up;
    const lo = Math.max(-half, -base), hi = Math.min(half + 1, y.length - 1 - base);
    let sum = 0;
    if (table) {  // the common case, kept to one multiply-add per tap
      const row = phase * taps + half - base, last = base + hi;
      let s1 = 0, s2 = 0, s3 = 0, i = base + lo;
      for (; i + 3 <= last; i += 4) {  // four running sums: V8 keeps them in registers
        sum += y[i] * table[row + i]; s1 += y[i + 1] * table[row + i + 1];
        s2 += y[i + 2] * table[row + i + 2]; s3 += y[i + 3] * table[row + i + 3];
      }
      for (; i <= last; i++) sum += y[i] * table[row + i];
      sum += s1 + s2 + s3;
    } else {
      for (let k = lo; k <= hi; k++) sum += y[base + k] * kernel(phase / up - k);
    }
    out[j] = sum;
  }
  return out;
}

// Windows of `lengthS` seconds at `startsS`, each cut at the file's own rate (a window running past
// the end is shorter) and resampled on its own to `rate` (`spec`: as resample's): the signals
// load_windows returns.
export function loadWindows(decoded, startsS, lengthS, rate, spec) {
  const count = Math.ceil(lengthS * decoded.rate), total = decoded.y.length;
  return startsS.map((start) => {
    const first = Math.min(Math.max(roundHalfEven(Math.max(start, 0) * decoded.rate), 0), total);
    return resample(decoded.y.subarray(first, first + Math.min(count, total - first)), decoded.rate, rate, spec);
  });
}
