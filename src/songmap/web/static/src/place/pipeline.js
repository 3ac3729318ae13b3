// Placing a song on the map, in the page: its model input computed as songmap computes it and the
// encoder run on the weights that songmap/web/placing.py embedded in the page (`model`, the JSON
// block with id "songmap-model"; `weights`, its tensors decoded by encoder.modelWeights).
//
// Each function mirrors ONE Python function, so a change there maps to one function here:
//
//   JS                              Python
//   encoder decodeTensor            songmap.web.placing._tensor (its inverse)
//   audio nativeRate                (the file's own rate, from its header: what songmap's decoders read)
//   audio decode                    songmap.io.decode.decode (the whole file at its own rate, channels averaged)
//   audio toMono                    songmap.io.decode.to_mono
//   audio resample                  songmap.io.decode.resample (soxr "HQ": Kaiser-windowed sinc, see placing.py)
//   audio loadWindows               songmap.io.windowed.load_windows (and load: one window at 0 of the crop length)
//   spectrogram framesForSeconds    songmap.features.spectrogram.frames_for_seconds
//   spectrogram hzToMel, melToHz    songmap.features.spectrogram._hz_to_mel, _mel_to_hz
//   spectrogram melFilterbank       songmap.features.spectrogram.mel_filterbank
//   spectrogram hann                songmap.features.spectrogram._hann
//   spectrogram rfftPower           scipy.fft.rfft + power in power_spectrogram
//   spectrogram powerSpectrogram    songmap.features.spectrogram.power_spectrogram
//   spectrogram logMelFromPower     songmap.features.spectrogram.log_mel_from_power
//   spectrogram logMelSpectrogram   songmap.features.spectrogram.log_mel_spectrogram
//   spectrogram extractFeatures     songmap.features.spectrogram._extract_features (peak, silence, float16)
//   shaping loopPadOrCrop           songmap.features.shaping.loop_pad_or_crop (frames axis)
//   shaping poolTime                songmap.features.shaping.pool_time
//   shaping modelInput              songmap.features.shaping.model_input
//   shaping modulationBandEdges     songmap.features.modulation.modulation_band_edges
//   shaping modulationSpectrum      songmap.features.modulation.modulation_spectrum
//   tonal chromaFilterbank          songmap.features.tonal.chroma_filterbank
//   tonal chromagram                songmap.features.tonal.chromagram
//   tonal fourierMagnitude          songmap.features.tonal.fourier_magnitude
//   tonal tonalView                 songmap.features.tonal.tonal_view
//   windows windowStarts            songmap.features.windows.window_starts
//   windows extractWindows          songmap.features.windows._extract_windows (silent windows, per-window images)
//   windows summary                 songmap.features.windows.WindowedFeatures.summary
//   encoder normalise               songmap.mapper's _normalise
//   encoder conv3x3Stride2          songmap.model.numpy_encoder._conv3x3_stride2
//   encoder encode                  songmap.model.numpy_encoder.encode_numpy (one row)
//   pipeline nearestTracks          songmap.app.jobs.placing.embed_files (its nearest track)
//
// Arrays: a (rows, cols) matrix is a Float32Array/Float64Array in row-major order with its shape
// beside it. tests/js/placing.test.mjs checks each step against Python.
import { decode, loadWindows } from "./audio.js";
import { extractFeatures, framesForSeconds } from "./spectrogram.js";
import { modelInput } from "./shaping.js";
import { extractWindows, summary, windowStarts } from "./windows.js";
import { encode, normalise } from "./encoder.js";

// Every step from a signal at the model's rate to coordinates (the parity tests compare each).
export function placeSignal(model, weights, y, duration) {
  const params = model.featureParams;
  const logMel = extractFeatures(y, duration, params, model.constants);
  const nFrames = framesForSeconds(model.cropSeconds, params);
  const input = modelInput(logMel, nFrames, model.representation, model.width, model.constants.modulationOffset);
  const normalised = normalise(input, weights);
  return { logMel, input, normalised, xy: encode(normalised, weights, model.constants) };
}

// The same for a songwise map: the windows' signals at the model's rate.
export function placeWindows(model, weights, signals, duration) {
  const windows = extractWindows(signals, duration, model);
  const input = summary(windows);
  const normalised = normalise(input, weights);
  return { windows, input, normalised, xy: encode(normalised, weights, model.constants) };
}

// The signals the map's representation reads from a decoded file: the windows (songwise) or the crop.
export function signalsOf(model, decoded) {
  const rate = model.featureParams.sample_rate;
  if (model.representation !== "songwise") {
    return { starts: [0], signals: loadWindows(decoded, [0], model.cropSeconds, rate, model.resample) };
  }
  const starts = windowStarts(decoded.duration, model.cropSeconds, model.windows.maxWindows);
  return { starts, signals: loadWindows(decoded, starts, model.cropSeconds, rate, model.resample) };
}

export async function placeBytes(model, weights, arrayBuffer) {
  const decoded = await decode(arrayBuffer, model.featureParams.sample_rate);
  const { signals } = signalsOf(model, decoded);
  return model.representation === "songwise"
    ? placeWindows(model, weights, signals, decoded.duration) : placeSignal(model, weights, signals[0], decoded.duration);
}

// The indices of the k tracks (map positions xs, ys) nearest to (x, y), nearest first (ties:
// the lower index).
export function nearestTracks(xs, ys, x, y, k) {
  const found = [];   // sorted [distance, index] pairs, at most k
  for (let i = 0; i < xs.length; i++) {
    const d = Math.hypot(xs[i] - x, ys[i] - y);
    if (found.length === k && d >= found[k - 1][0]) continue;
    let at = found.length;
    while (at > 0 && found[at - 1][0] > d) at--;
    found.splice(at, 0, [d, i]);
    if (found.length > k) found.pop();
  }
  return found.map(([, i]) => i);
}
