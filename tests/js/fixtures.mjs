// The fixtures tests/test_js_parity.py writes with songmap's Python (SONGMAP_JS_FIXTURES: their
// folder), and the comparisons the tests make with them.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const folder = process.env.SONGMAP_JS_FIXTURES;

// The `skip` option of a test: these tests need the fixtures.
export const skip = folder ? false : "SONGMAP_JS_FIXTURES is not set: run pytest tests/test_js_parity.py";

export function fixture(name) {
  return folder ? JSON.parse(readFileSync(join(folder, `${name}.json`), "utf8")) : null;
}

export function maxAbsDifference(got, expected) {
  if (got.length !== expected.length) throw new Error(`length ${got.length}, expected ${expected.length}`);
  let most = 0;
  for (let i = 0; i < got.length; i++) most = Math.max(most, Math.abs(got[i] - expected[i]));
  return most;
}

export function meanAbsDifference(got, expected) {
  let sum = 0;
  for (let i = 0; i < got.length; i++) sum += Math.abs(got[i] - expected[i]);
  return sum / got.length;
}
