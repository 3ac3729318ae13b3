// Python's and numpy's number rounding and spacing, as the ports of Python code need them.

// Python's round() and numpy's ndarray.round(): halves go to the even neighbour.
export function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// Python's repr() of a float: the same shortest digits as JavaScript's, but ".0" on whole numbers
// and the exponent form outside 1e-4 <= |v| < 1e16, with at least two exponent digits.
export function pythonFloatText(v) {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
  const [digits, exponentText] = v.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${digits}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const text = String(v);
  return text.includes(".") ? text : `${text}.0`;
}

// Rounds to the nearest float16 (ties to even), as numpy's astype(np.float16).
export function roundFloat16(v) {
  if (Math.f16round) return Math.f16round(v);
  const a = Math.abs(v);
  if (!Number.isFinite(v) || a === 0) return v;
  const ulp = a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
  return Math.sign(v) * roundHalfEven(a / ulp) * ulp;
}

// The value of the IEEE float16 bits h.
export function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// numpy.linspace: start + i * step, the last value exactly stop.
export function linspace(start, stop, num) {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}
