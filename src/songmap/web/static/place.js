// Placing dropped songs on the map, in the page: inlined into map.html after map.js by
// songmap/web/page.py (the CSP allows it by hash). Nothing is uploaded: the file is decoded with
// the Web Audio API, its model input computed here and the encoder run on the weights that
// songmap/web/placing.py embedded in the page (the JSON block with id "songmap-model").
//
// Each function below mirrors ONE Python function, so a change there maps to one function here:
//
//   JS                        Python
//   decodeTensor              songmap.web.placing._tensor (its inverse)
//   toMono                    songmap.io.audio.to_mono
//   load                      songmap.io.audio.load (decode + resample; the browser resamples, see README)
//   framesForSeconds          songmap.features.spectrogram.frames_for_seconds
//   hzToMel, melToHz          songmap.features.spectrogram._hz_to_mel, _mel_to_hz
//   melFilterbank             songmap.features.spectrogram.mel_filterbank
//   hann                      songmap.features.spectrogram._hann
//   rfftPower                 scipy.fft.rfft + power in log_mel_spectrogram
//   logMelSpectrogram         songmap.features.spectrogram.log_mel_spectrogram
//   extractFeatures           songmap.features.spectrogram._extract_features (peak, silence, float16)
//   loopPadOrCrop             songmap.features.shaping.loop_pad_or_crop (frames axis)
//   poolTime                  songmap.features.shaping.pool_time
//   modelInput                songmap.features.shaping.model_input
//   modulationBandEdges       songmap.features.modulation.modulation_band_edges
//   modulationSpectrum        songmap.features.modulation.modulation_spectrum
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

  // Decodes (the browser resamples to the context's rate, here the model's) and keeps the first
  // maxSeconds, as songmap decodes only the crop. Returns {y, duration} like load().
  async function load(arrayBuffer, sampleRate, maxSeconds) {
    const context = new OfflineAudioContext({ numberOfChannels: 1, length: 1, sampleRate });
    const buffer = await context.decodeAudioData(arrayBuffer);
    let y = toMono(buffer);
    if (maxSeconds !== null && maxSeconds !== undefined) y = y.slice(0, Math.round(maxSeconds * sampleRate));
    return { y, duration: buffer.duration };
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

  // Log-mel power spectrogram in dB relative to its peak, floored top_db below it: {data, rows, cols}.
  function logMelSpectrogram(y, params) {
    const { n_fft: nFft, hop_length: hop, n_mels: nMels, top_db: topDb } = params;
    const nFrames = 1 + Math.floor(y.length / hop);
    if (y.length <= Math.floor(nFft / 2)) y = loopPad1d(y, Math.floor(nFft / 2) + 1);
    const pad = Math.floor(nFft / 2);
    const padded = new Float32Array(y.length + 2 * pad);
    padded.set(y, pad);
    const bins = Math.floor(nFft / 2) + 1;
    const window = hann(nFft);
    const filters = melFilterbank(params.sample_rate, nFft, nMels, params.fmin, params.fmax);
    const scratch = (nFft & (nFft - 1)) === 0 ? fftScratch(nFft) : null;
    const frame = new Float32Array(nFft), power = new Float64Array(bins);
    const db = new Float64Array(nMels * nFrames);
    let peak = -Infinity;
    for (let t = 0; t < nFrames; t++) {
      const start = t * hop;
      for (let i = 0; i < nFft; i++) frame[i] = padded[start + i] * window[i];
      rfftPower(frame, power, scratch);
      for (let m = 0; m < nMels; m++) {
        let sum = 0;
        const row = m * bins;
        for (let k = 0; k < bins; k++) sum += power[k] * filters[row + k];
        const value = 10 * Math.log10(Math.max(sum, 1e-10));
        db[m * nFrames + t] = value;
        if (value > peak) peak = value;
      }
    }
    const out = new Float32Array(nMels * nFrames);
    for (let i = 0; i < out.length; i++) out[i] = Math.max(db[i] - peak, -topDb);
    return { data: out, rows: nMels, cols: nFrames };
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

  async function placeBytes(arrayBuffer) {
    const { y, duration } = await load(arrayBuffer, model.featureParams.sample_rate, model.cropSeconds);
    return { y, duration, ...placeSignal(y, duration) };
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
    // The decoded, resampled, cropped signal of a file's bytes (base64), to measure the resampling.
    async placeDecode(base64) {
      const binary = atob(base64);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      const { y, duration } = await load(bytes.buffer, model.featureParams.sample_rate, model.cropSeconds);
      return { y: Array.from(y), duration };
    },
    placed: () => placed.map(({ file, title, x, y, nearest }) => ({ file, title, x, y, nearest })),
  });
})();
