// The page's placing pipeline, step by step, against songmap's features, model input and encoder
// (the same tolerances as the Chromium tests, which also decode files in the browser).
import assert from "node:assert/strict";
import test from "node:test";
import { roundFloat16, roundHalfEven } from "../../src/songmap/web/static/src/numbers.js";
import { resample } from "../../src/songmap/web/static/src/place/audio.js";
import { logMelFromPower, melFilterbank, powerSpectrogram } from "../../src/songmap/web/static/src/place/spectrogram.js";
import { windowStarts } from "../../src/songmap/web/static/src/place/windows.js";
import { encode, modelWeights } from "../../src/songmap/web/static/src/place/encoder.js";
import { placeSignal, placeWindows } from "../../src/songmap/web/static/src/place/pipeline.js";
import { fixture, maxAbsDifference, meanAbsDifference, skip } from "./fixtures.mjs";

const placing = fixture("placing");
const f32 = (values) => Float32Array.from(values);

test("roundHalfEven is Python's round and roundFloat16 numpy's float16", { skip }, () => {
  const { values, roundHalfEven: halves, float16 } = placing.rounding;
  values.forEach((v, i) => assert.ok(roundHalfEven(v) === halves[i], `round(${v})`));
  float16.values.forEach((v, i) => assert.equal(roundFloat16(v), float16.expected[i], `float16(${v})`));
});

test("the mel filterbank, STFT power and log-mel steps are songmap.features.spectrogram's", { skip }, () => {
  const { model, signals, melFilterbank: bank, power, logMelFromPower: logMel } = placing.crop;
  const p = model.featureParams;
  assert.ok(maxAbsDifference(melFilterbank(p.sample_rate, p.n_fft, p.n_mels, p.fmin, p.fmax), bank) < 1e-6, "mel filterbank");
  const got = powerSpectrogram(f32(signals[0].y), p);
  assert.deepEqual([got.rows, got.cols], [power.rows, power.cols]);
  assert.ok(maxAbsDifference(got.data, power.data) / power.data.reduce((a, b) => Math.max(a, b)) < 1e-5, "STFT power");
  const fromPower = logMelFromPower({ data: f32(power.data), rows: power.rows, cols: power.cols }, p);
  assert.ok(maxAbsDifference(fromPower.data, logMel) < 1e-3, "log-mel of the power");
});

test("each step of a crop map's placing is Python's", { skip }, () => {
  const { model, signals, extent } = placing.crop;
  const weights = modelWeights(model);
  for (const signal of signals) {
    const out = placeSignal(model, weights, f32(signal.y), signal.duration);
    // float16 steps are 1/16 dB below -64 dB; one step either way where the two round differently.
    assert.ok(maxAbsDifference(out.logMel.data, signal.logMel) <= 0.07, `log-mel of ${signal.name}`);
    assert.ok(meanAbsDifference(out.logMel.data, signal.logMel) < 1e-3, `log-mel of ${signal.name}`);
    assert.ok(maxAbsDifference(out.input.data, signal.input) < 2e-3, `model input of ${signal.name}`);
    assert.ok(maxAbsDifference(out.normalised.data, signal.normalised) < 5e-3, `normalisation of ${signal.name}`);
    // The page's weights are float16: the only step allowed to move the point, and by little.
    assert.ok(Math.hypot(out.xy[0] - signal.xy[0], out.xy[1] - signal.xy[1]) / extent < 0.002, `point of ${signal.name}`);
    // The encoder alone, on Python's input and the page's weights: the same arithmetic.
    const input = { data: f32(signal.normalised), rows: out.normalised.rows, cols: out.normalised.cols };
    const xy = encode(input, weights, model.constants);
    assert.ok(Math.hypot(xy[0] - signal.xyPageWeights[0], xy[1] - signal.xyPageWeights[1]) / extent < 1e-4, `encoder on ${signal.name}`);
  }
});

test("window starts are songmap.features.windows.window_starts", { skip }, () => {
  for (const [duration, windowS, maxWindows, expected] of placing.songwise.starts) {
    assert.ok(maxAbsDifference(windowStarts(duration, windowS, maxWindows), expected) < 1e-9, `${duration} s`);
  }
});

test("each window of a songwise map's placing is Python's", { skip }, () => {
  const { model, windows, extent, nMels } = placing.songwise;
  const weights = modelWeights(model);
  for (const track of windows) {
    const out = placeWindows(model, weights, track.signals.map(f32), track.duration);
    assert.deepEqual(out.windows.used, track.used, `silent windows of ${track.name}`);
    const size = out.windows.rows * out.windows.cols, split = nMels * out.windows.cols;
    out.windows.images.forEach((image, w) => {
      if (!track.used[w]) return;
      const expected = track.images.slice(w * size, (w + 1) * size);
      assert.ok(maxAbsDifference(image.subarray(0, split), expected.slice(0, split)) < 2e-3, `modulation image ${w} of ${track.name}`);
      assert.ok(maxAbsDifference(image.subarray(split), expected.slice(split)) < 2e-3, `tonal view ${w} of ${track.name}`);
    });
    assert.ok(maxAbsDifference(out.input.data, track.input) < 2e-3, `mean over windows of ${track.name}`);
    assert.ok(maxAbsDifference(out.normalised.data, track.normalised) < 5e-3, `block normalisation of ${track.name}`);
    assert.ok(Math.hypot(out.xy[0] - track.xy[0], out.xy[1] - track.xy[1]) / extent < 0.002, `point of ${track.name}`);
  }
});

test("resampling is soxr's to within its design (tones: SNR > 70 dB)", { skip }, () => {
  for (const { from, to, y, expected } of placing.resample) {
    const got = resample(f32(y), from, to, placing.crop.model.resample);
    assert.ok(Math.abs(got.length - expected.length) <= 2, `${from} -> ${to} Hz: length`);
    const n = Math.min(got.length, expected.length);
    let signal = 0, error = 0;
    for (let i = 0; i < n; i++) {
      signal += expected[i] ** 2;
      error += (expected[i] - got[i]) ** 2;
    }
    const snr = 10 * Math.log10(signal / error);
    assert.ok(snr > 70, `${from} -> ${to} Hz: SNR ${snr.toFixed(1)} dB`);
  }
});
