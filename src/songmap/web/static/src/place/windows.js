// A songwise map's windows: songmap.features.windows.
import { linspace } from "../numbers.js";
import { framesForSeconds, logMelFromPower, powerSpectrogram } from "./spectrogram.js";
import { loopPadOrCrop, modulationSpectrum } from "./shaping.js";
import { tonalView } from "./tonal.js";

// Evenly spaced starts (s) of at most maxWindows windows of windowS, the last ending with the track.
export function windowStarts(duration, windowS, maxWindows) {
  if (!(duration > windowS)) return [0];
  const n = Math.min(maxWindows, Math.ceil(duration / windowS));
  return n === 1 ? [0] : Array.from(linspace(0, duration - windowS, n));
}

// Each window's image (modulation spectrum over the tonal block), each scaled to its own peak;
// windows `silentWindowDb` under the loudest are left out: {images, used, rows, cols}. `model`: the
// page's model block.
export function extractWindows(signals, duration, model) {
  const { featureParams: params, constants } = model;
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
    const modulation = modulationSpectrum(loopPadOrCrop(logMelFromPower(power, params), nFrames), nBins, constants.modulationOffset);
    const image = new Float32Array(rows * nBins);
    image.set(modulation.data, 0);
    image.set(tonalView(power, params, nBins, tonal).data, params.n_mels * nBins);
    return image;
  });
  return { images, used, rows, cols: nBins };
}

// The track's input: the mean image of its non-silent windows.
export function summary(windows) {
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
