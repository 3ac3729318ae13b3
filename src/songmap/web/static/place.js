// Placing dropped songs on the map, in the page: inlined into map.html after map.js by
// songmap/web/page.py (the CSP allows it by hash). Nothing is uploaded: the file is decoded with
// the Web Audio API, its model input computed here and the encoder run on the weights that
// songmap/web/placing.py embedded in the page (the JSON block with id "songmap-model").
//
// Each function below mirrors ONE Python function, so a change there maps to one function here:
//
//   JS                        Python
//   decodeTensor              songmap.web.placing._tensor (its inverse)
//   nativeRate                (the file's own rate, from its header: what songmap's decoders read)
//   decode                    songmap.io.audio.decode (the whole file at its own rate, channels averaged)
//   toMono                    songmap.io.audio.to_mono
//   resample                  songmap.io.audio.resample (soxr "HQ": Kaiser-windowed sinc, see placing.py)
//   loadWindows               songmap.io.audio.load_windows (and load: one window at 0 of the crop length)
//   framesForSeconds          songmap.features.spectrogram.frames_for_seconds
//   hzToMel, melToHz          songmap.features.spectrogram._hz_to_mel, _mel_to_hz
//   melFilterbank             songmap.features.spectrogram.mel_filterbank
//   hann                      songmap.features.spectrogram._hann
//   rfftPower                 scipy.fft.rfft + power in power_spectrogram
//   powerSpectrogram          songmap.features.spectrogram.power_spectrogram
//   logMelFromPower           songmap.features.spectrogram.log_mel_from_power
//   logMelSpectrogram         songmap.features.spectrogram.log_mel_spectrogram
//   extractFeatures           songmap.features.spectrogram._extract_features (peak, silence, float16)
//   loopPadOrCrop             songmap.features.shaping.loop_pad_or_crop (frames axis)
//   poolTime                  songmap.features.shaping.pool_time
//   modelInput                songmap.features.shaping.model_input
//   modulationBandEdges       songmap.features.modulation.modulation_band_edges
//   modulationSpectrum        songmap.features.modulation.modulation_spectrum
//   chromaFilterbank          songmap.features.tonal.chroma_filterbank
//   chromagram                songmap.features.tonal.chromagram
//   fourierMagnitude          songmap.features.tonal.fourier_magnitude
//   tonalView                 songmap.features.tonal.tonal_view
//   windowStarts              songmap.features.windows.window_starts
//   extractWindows            songmap.features.windows._extract_windows (silent windows, per-window images)
//   summary                   songmap.features.windows.WindowedFeatures.summary
//   normalise                 songmap.mapper.estimator.SongMapper._normalise
//   conv3x3Stride2            songmap.model.numpy_encoder._conv3x3_stride2
//   encode                    songmap.model.numpy_encoder.encode_numpy (one row)
//   nearestTracks             songmap.app.jobs.placing.embed_files (its nearest track)
//
// Arrays: a (rows, cols) matrix is a Float32Array/Float64Array in row-major order with its shape
// beside it. Untrusted text (file names, titles) reaches the DOM only through textContent.
(() => {
  "use strict";

  const model = JSON.parse(document.getElementById("songmap-model").textContent);
  const PAGE_MODEL_FORMAT = 1;

  // ---------------------------------------------------------------- tensors --
  function halfToFloat(h) {
    const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
    if (exponent === 0) return sign * fraction * 2 ** -24;
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }

  function decodeTensor(tensor) {
    const binary = atob(tensor.data);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const view = new DataView(bytes.buffer);
    const out = new Float32Array(tensor.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) {
      out[i] = tensor.dtype === "float16" ? halfToFloat(view.getUint16(2 * i, true)) : view.getFloat32(4 * i, true);
    }
    return out;
  }

  // Rounds to the nearest float16 (ties to even), as numpy's astype(np.float16).
  function roundFloat16(v) {
    if (Math.f16round) return Math.f16round(v);
    const a = Math.abs(v);
    if (!Number.isFinite(v) || a === 0) return v;
    const ulp = a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
    return Math.sign(v) * roundHalfEven(a / ulp) * ulp;
  }

  // Python's round() and numpy's ndarray.round(): halves go to the even neighbour.
  function roundHalfEven(v) {
    const r = Math.round(v);
    return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  // -------------------------------------------------------------- io.audio --
  function toMono(buffer) {
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
  function nativeRate(bytes) {
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
  async function decode(arrayBuffer, modelRate) {
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
  // recipe (model.resample: passband end and stopband attenuation; -6 dB halfway between the
  // passband end and the lower Nyquist frequency). Output sample j sits at input position j*from/to;
  // outside the signal is zero, as soxr's one-shot resampling of a window; length round(n*to/from).
  function resample(y, from, to) {
    if (from === to || y.length === 0) return Float32Array.from(y);
    const { passbandEnd, attenuationDb } = model.resample;
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
  // the end is shorter) and resampled on its own to `rate`: the signals load_windows returns.
  function loadWindows(decoded, startsS, lengthS, rate) {
    const count = Math.ceil(lengthS * decoded.rate), total = decoded.y.length;
    return startsS.map((start) => {
      const first = Math.min(Math.max(roundHalfEven(Math.max(start, 0) * decoded.rate), 0), total);
      return resample(decoded.y.subarray(first, first + Math.min(count, total - first)), decoded.rate, rate);
    });
  }

  // ------------------------------------------------------- features.spectrogram --
  function framesForSeconds(seconds, params) {
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
  function melFilterbank(sampleRate, nFft, nMels, fmin, fmax) {
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

  // numpy.linspace: start + i * step, the last value exactly stop.
  function linspace(start, stop, num) {
    const out = new Float64Array(num);
    const step = (stop - start) / (num - 1);
    for (let i = 0; i < num; i++) out[i] = i * step + start;
    if (num > 1) out[num - 1] = stop;
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
  function powerSpectrogram(y, params) {
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
  function spans(filters, rows, bins) {
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
  function logMelFromPower(power, params) {
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

  function logMelSpectrogram(y, params) {
    return logMelFromPower(powerSpectrogram(y, params), params);
  }

  function loopPad1d(y, length) {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = y[i % y.length];
    return out;
  }

  // Peak scaling, the silence and length checks, the log-mel rounded to float16 (the cache's type).
  function extractFeatures(y, duration, params, constants) {
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

  // ----------------------------------------------------------- features.shaping --
  function loopPadOrCrop(x, length) {
    const out = new Float32Array(x.rows * length);
    for (let r = 0; r < x.rows; r++) {
      for (let t = 0; t < length; t++) out[r * length + t] = x.data[r * x.cols + (t % x.cols)];
    }
    return { data: out, rows: x.rows, cols: length };
  }

  function poolTime(x, nBins) {
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

  function modelInput(logMel, nFrames, representation, width) {
    const cropped = loopPadOrCrop(logMel, nFrames);
    if (representation === "modulation") return modulationSpectrum(cropped, width);
    if (representation === "pooled") return poolTime(cropped, width);
    throw new Error(`unknown representation ${representation}`);
  }

  // -------------------------------------------------------- features.modulation --
  function modulationBandEdges(nFreqs, nBins) {
    const top = Math.max(nFreqs, 2);
    const logTop = Math.log10(top);
    const out = [1];
    for (let i = 1; i <= nBins; i++) {
      const edge = i === nBins ? top : 10 ** ((i * logTop) / nBins);  // numpy.geomspace(1, top, nBins + 1)
      out.push(Math.max(roundHalfEven(edge), out[i - 1] + 1));
    }
    return out.map((e) => Math.min(e, top));
  }

  function modulationSpectrum(x, nBins) {
    const { rows, cols: frames } = x;
    const nFreqs = Math.floor(frames / 2) + 1;
    const cos = new Float64Array(frames), sin = new Float64Array(frames), window = new Float64Array(frames);
    for (let i = 0; i < frames; i++) {
      cos[i] = Math.cos((2 * Math.PI * i) / frames);
      sin[i] = Math.sin((2 * Math.PI * i) / frames);
      window[i] = frames > 1 ? 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (frames - 1)) : 1;  // numpy.hanning
    }
    const edges = modulationBandEdges(nFreqs, nBins);
    const offset = model.constants.modulationOffset;
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

  // ------------------------------------------------------------- features.tonal --
  // (12, bins) float32 weights folding STFT bins onto the pitch classes (C = row 0), model.tonal's constants.
  function chromaFilterbank(sampleRate, nFft, tonal) {
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
  function chromagram(power, bank, tonal) {
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
  function fourierMagnitude(chroma, tonal) {
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
  function tonalView(power, params, nBins, tonal) {
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

  // ------------------------------------------------------------ features.windows --
  // Evenly spaced starts (s) of at most maxWindows windows of windowS, the last ending with the track.
  function windowStarts(duration, windowS, maxWindows) {
    if (!(duration > windowS)) return [0];
    const n = Math.min(maxWindows, Math.ceil(duration / windowS));
    return n === 1 ? [0] : Array.from(linspace(0, duration - windowS, n));
  }

  // Each window's image (modulation spectrum over the tonal block), each scaled to its own peak;
  // windows `silentWindowDb` under the loudest are left out: {images, used, rows, cols}.
  function extractWindows(signals, duration, params, constants) {
    const { windows: spec, tonal } = model, nBins = model.width;
    if (duration < constants.minSeconds || !signals.some((y) => y.length)) {
      throw new Error(`too short: ${(duration * 1000).toPrecision(2)} ms of audio`);
    }
    const peaks = signals.map((y) => { let m = 0; for (let i = 0; i < y.length; i++) m = Math.max(m, Math.abs(y[i])); return m; });
    const top = Math.max(...peaks);
    if (top === 0) throw new Error("silent: every sample is zero");
    const level = 20 * Math.log10(top);
    if (level < constants.silenceDbfs) throw new Error(`silent: peak level ${level.toFixed(0)} dBFS`);
    const nFrames = framesForSeconds(model.cropSeconds, params);
    const rows = params.n_mels + tonal.pitchClasses;
    const used = peaks.map((peak) => peak > top * 10 ** (-spec.silentWindowDb / 20));
    const images = signals.map((y, i) => {
      if (!used[i]) return new Float32Array(rows * nBins);
      const peak = Math.fround(peaks[i]), scaled = new Float32Array(y.length);
      for (let k = 0; k < y.length; k++) scaled[k] = y[k] / peak;
      const power = powerSpectrogram(scaled, params);
      const modulation = modulationSpectrum(loopPadOrCrop(logMelFromPower(power, params), nFrames), nBins);
      const image = new Float32Array(rows * nBins);
      image.set(modulation.data, 0);
      image.set(tonalView(power, params, nBins, tonal).data, params.n_mels * nBins);
      return image;
    });
    return { images, used, rows, cols: nBins };
  }

  // The track's input: the mean image of its non-silent windows.
  function summary(windows) {
    const { images, used, rows, cols } = windows;
    const sum = new Float64Array(rows * cols);
    let count = 0;
    images.forEach((image, i) => {
      if (!used[i]) return;
      count++;
      for (let k = 0; k < sum.length; k++) sum[k] += image[k];
    });
    return { data: Float32Array.from(sum, (v) => v / count), rows, cols };
  }

  // --------------------------------------------------------------- mapper, model --
  const weights = model.unavailable ? null : {
    bandMean: decodeTensor(model.bandMean),
    bandStd: decodeTensor(model.bandStd),
    layers: model.layers.map((layer) => ({
      out: layer.weight.shape[0], in: layer.weight.shape[1],
      weight: decodeTensor(layer.weight), bias: decodeTensor(layer.bias), gamma: decodeTensor(layer.gamma),
      beta: decodeTensor(layer.beta), mean: decodeTensor(layer.mean), variance: decodeTensor(layer.var),
    })),
    latentWeight: decodeTensor(model.latent.weight),
    latentBias: decodeTensor(model.latent.bias),
  };

  function normalise(x) {
    const out = new Float32Array(x.data.length);
    for (let r = 0; r < x.rows; r++) {
      for (let c = 0; c < x.cols; c++) {
        const i = r * x.cols + c;
        out[i] = Math.fround(Math.fround(x.data[i] - weights.bandMean[r]) / weights.bandStd[r]);
      }
    }
    return { data: out, rows: x.rows, cols: x.cols };
  }

  // nn.Conv2d(kernel_size=3, stride=2, padding=1) on (channels, h, w): -> (o, ceil(h/2), ceil(w/2)).
  function conv3x3Stride2(x, channels, h, w, layer) {
    const oh = Math.ceil(h / 2), ow = Math.ceil(w / 2);
    const out = new Float64Array(layer.out * oh * ow);
    for (let o = 0; o < layer.out; o++) {
      for (let p = 0; p < oh; p++) {
        for (let q = 0; q < ow; q++) {
          let sum = layer.bias[o];
          for (let c = 0; c < channels; c++) {
            for (let i = 0; i < 3; i++) {
              const row = 2 * p + i - 1;
              if (row < 0 || row >= h) continue;
              for (let j = 0; j < 3; j++) {
                const col = 2 * q + j - 1;
                if (col < 0 || col >= w) continue;
                sum += x[(c * h + row) * w + col] * layer.weight[((o * channels + c) * 3 + i) * 3 + j];
              }
            }
          }
          out[(o * oh + p) * ow + q] = sum;
        }
      }
    }
    return { data: out, h: oh, w: ow };
  }

  // The encoder in evaluation mode: conv, batch norm (running statistics), leaky ReLU; then linear.
  function encode(input) {
    let x = input.data, channels = 1, h = input.rows, w = input.cols;
    const { batchNormEps, leakySlope } = model.constants;
    for (const layer of weights.layers) {
      const conv = conv3x3Stride2(x, channels, h, w, layer);
      const size = conv.h * conv.w;
      for (let o = 0; o < layer.out; o++) {
        const scale = layer.gamma[o] / Math.sqrt(layer.variance[o] + batchNormEps);
        for (let i = o * size; i < (o + 1) * size; i++) {
          const v = (conv.data[i] - layer.mean[o]) * scale + layer.beta[o];
          conv.data[i] = v > 0 ? v : leakySlope * v;
        }
      }
      x = conv.data; channels = layer.out; h = conv.h; w = conv.w;
    }
    const latent = weights.latentBias.length, flat = x.length;
    const out = [];
    for (let d = 0; d < latent; d++) {
      let sum = weights.latentBias[d];
      for (let i = 0; i < flat; i++) sum += x[i] * weights.latentWeight[d * flat + i];
      out.push(sum);
    }
    return out;
  }

  // Every step from a signal at the model's rate to coordinates (the parity tests compare each).
  function placeSignal(y, duration) {
    const params = model.featureParams;
    const logMel = extractFeatures(y, duration, params, model.constants);
    const nFrames = framesForSeconds(model.cropSeconds, params);
    const input = modelInput(logMel, nFrames, model.representation, model.width);
    const normalised = normalise(input);
    return { logMel, input, normalised, xy: encode(normalised) };
  }

  // The same for a songwise map: the windows' signals at the model's rate.
  function placeWindows(signals, duration) {
    const windows = extractWindows(signals, duration, model.featureParams, model.constants);
    const input = summary(windows);
    const normalised = normalise(input);
    return { windows, input, normalised, xy: encode(normalised) };
  }

  // The signals the map's representation reads from a decoded file: the windows (songwise) or the crop.
  function signalsOf(decoded) {
    const rate = model.featureParams.sample_rate;
    if (model.representation !== "songwise") {
      return { starts: [0], signals: loadWindows(decoded, [0], model.cropSeconds, rate) };
    }
    const starts = windowStarts(decoded.duration, model.cropSeconds, model.windows.maxWindows);
    return { starts, signals: loadWindows(decoded, starts, model.cropSeconds, rate) };
  }

  async function placeBytes(arrayBuffer) {
    const decoded = await decode(arrayBuffer, model.featureParams.sample_rate);
    const { signals } = signalsOf(decoded);
    return model.representation === "songwise"
      ? placeWindows(signals, decoded.duration) : placeSignal(signals[0], decoded.duration);
  }

  // ------------------------------------------------------------ nearest tracks --
  // The k mapped tracks nearest to (x, y), nearest first (ties: the lower index), over the
  // positions map.js decoded from the data block (window.songmap.positions()).
  function nearestTracks(x, y, k) {
    const { x: xs, y: ys } = window.songmap.positions();
    const found = [];   // sorted [distance, index] pairs, at most k
    for (let i = 0; i < xs.length; i++) {
      const d = Math.hypot(xs[i] - x, ys[i] - y);
      if (found.length === k && d >= found[k - 1][0]) continue;
      let at = found.length;
      while (at > 0 && found[at - 1][0] > d) at--;
      found.splice(at, 0, [d, i]);
      if (found.length > k) found.pop();
    }
    return found.map(([, i]) => window.songmap.title(i));
  }

  // -------------------------------------------------------------------- UI --
  const PLACED_COLOUR = "#ffffff";
  const placed = [];  // {file, title, x, y, nearest, url}
  const dom = {
    button: document.getElementById("place-button"),
    input: document.getElementById("place-input"),
    note: document.getElementById("place-note"),
    list: document.getElementById("placed-list"),
    section: document.getElementById("placed-section"),
    wrap: document.getElementById("map-wrap"),
  };

  function stem(name) {
    const base = name.split(/[\\/]/).pop();
    const dot = base.lastIndexOf(".");
    return dot > 0 ? base.slice(0, dot) : base;
  }

  function item(className, file) {
    const li = document.createElement("li");
    li.className = className;
    li.dataset.file = file;
    return li;
  }

  function span(className, text) {
    const s = document.createElement("span");
    s.className = className;
    s.textContent = text;
    return s;
  }

  function showPlaced(song) {
    const li = item("placed-item", song.file);
    li.dataset.x = String(song.x);
    li.dataset.y = String(song.y);
    li.append(span("placed-marker", "◆"), span("placed-title", song.title),
      span("placed-xy", `(${song.x.toFixed(3)}, ${song.y.toFixed(3)})`),
      span("placed-near", `near ${song.nearest.join(" · ")}`));
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = song.url;
    li.append(audio);
    dom.list.append(li);
  }

  function showFailure(file, message) {
    const li = item("placed-error", file);
    li.setAttribute("role", "alert");
    li.textContent = `${file}: ${message}`;
    dom.list.append(li);
  }

  async function placeFile(file) {
    let result;
    try {
      result = await placeBytes(await file.arrayBuffer());
    } catch (error) {
      const decodeFailed = error && error.name === "EncodingError";
      showFailure(file.name, decodeFailed
        ? "this browser cannot decode this file (format or codec not supported), so it cannot be placed"
        : `cannot be placed: ${error && error.message ? error.message : error}`);
      return null;
    }
    const [x, y] = result.xy;
    const song = { file: file.name, title: stem(file.name), x, y, nearest: nearestTracks(x, y, 3),
      url: URL.createObjectURL(file) };
    placed.push(song);
    showPlaced(song);
    window.songmap.redraw();
    return song;
  }

  async function placeFiles(files) {
    dom.section.hidden = false;
    dom.note.textContent = `Placing ${files.length} file${files.length === 1 ? "" : "s"}…`;
    for (const file of files) await placeFile(file);  // one at a time: each decode holds a whole file
    dom.note.textContent = "Placed in this page only: nothing is uploaded.";
    document.body.dataset.placing = "done";
  }

  // A diamond with a dark edge: no track is drawn as one.
  function drawPlaced(ctx, view) {
    const r = view.radius + 4;
    ctx.font = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
    for (const song of placed) {
      const px = view.toScreenX(song.x), py = view.toScreenY(song.y);
      ctx.beginPath();
      ctx.moveTo(px, py - r); ctx.lineTo(px + r, py); ctx.lineTo(px, py + r); ctx.lineTo(px - r, py); ctx.closePath();
      ctx.fillStyle = PLACED_COLOUR;
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.strokeStyle = "rgba(14,17,23,0.95)";
      ctx.stroke();
      ctx.fillStyle = "#ffffff";
      ctx.fillText(song.title, px + r + 4, py + 4);
    }
  }

  if (model.unavailable || model.format !== PAGE_MODEL_FORMAT) {
    dom.button.disabled = true;
    dom.note.textContent = `Placing songs is unavailable: ${model.unavailable || "the page's model format is unknown"}.`;
  } else {
    dom.button.addEventListener("click", () => dom.input.click());
    dom.input.addEventListener("change", () => {
      const files = Array.from(dom.input.files);
      dom.input.value = "";
      if (files.length) placeFiles(files);
    });
    dom.wrap.addEventListener("dragover", (event) => {
      if (event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files")) {
        event.preventDefault();
        dom.wrap.classList.add("dropping");
      }
    });
    dom.wrap.addEventListener("dragleave", () => dom.wrap.classList.remove("dropping"));
    dom.wrap.addEventListener("drop", (event) => {
      event.preventDefault();
      dom.wrap.classList.remove("dropping");
      const files = Array.from(event.dataTransfer.files);
      if (files.length) placeFiles(files);
    });
    window.songmap.addOverlay(drawPlaced);
  }

  // -------------------------------------------------------------- test API --
  Object.assign(window.songmap, {
    placeAvailable: !model.unavailable,
    // Intermediate features of a signal already at the model's rate (parity tests against Python).
    placeFeatures(samples, duration) {
      const out = placeSignal(Float32Array.from(samples), duration);
      return { logMel: Array.from(out.logMel.data), frames: out.logMel.cols, input: Array.from(out.input.data),
        normalised: Array.from(out.normalised.data), xy: out.xy };
    },
    // The same for a songwise map: per-window signals already at the model's rate.
    placeWindowFeatures(windows, duration) {
      const out = placeWindows(windows.map((w) => Float32Array.from(w)), duration);
      return { images: out.windows.images.map((image) => Array.from(image)), used: out.windows.used,
        input: Array.from(out.input.data), normalised: Array.from(out.normalised.data), xy: out.xy };
    },
    // The decoded, resampled signals of a file's bytes (base64) that the map reads (its crop, or its
    // windows), with their starts, to measure the decoding and resampling.
    async placeDecode(base64) {
      const binary = atob(base64);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      const decoded = await decode(bytes.buffer, model.featureParams.sample_rate);
      const { starts, signals } = signalsOf(decoded);
      return { y: Array.from(signals[0]), windows: signals.map((w) => Array.from(w)), starts,
        duration: decoded.duration, rate: decoded.rate };
    },
    placed: () => placed.map(({ file, title, x, y, nearest }) => ({ file, title, x, y, nearest })),
  });
})();
