// The map's encoder on the page's weights (songmap/web/placing.py's model block):
// songmap.model.numpy_encoder and the normalisation of songmap.mapper.
import { bytesOf } from "../wire.js";
import { halfToFloat } from "../numbers.js";

// A tensor of the model block ({dtype, shape, data: base64 little-endian}) as float32: the
// inverse of songmap.web.placing._tensor.
function decodeTensor(tensor) {
  const bytes = bytesOf(tensor.data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(tensor.shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    out[i] = tensor.dtype === "float16" ? halfToFloat(view.getUint16(2 * i, true)) : view.getFloat32(4 * i, true);
  }
  return out;
}

// The normalisation and encoder weights of a model block.
export function modelWeights(model) {
  return {
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
}

export function normalise(x, weights) {
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
// `constants`: the model block's (batchNormEps, leakySlope).
export function encode(input, weights, constants) {
  let x = input.data, channels = 1, h = input.rows, w = input.cols;
  const { batchNormEps, leakySlope } = constants;
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
