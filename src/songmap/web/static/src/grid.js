// A uniform grid over the map positions: the tracks of cell c are items[start[c], start[c + 1]),
// in index order. Hit tests, the lasso and map neighbours look only at the cells near them.

// The bounding box of the map positions.
export function bounds(xs, ys, count) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < count; i++) {
    if (xs[i] < minX) minX = xs[i];
    if (xs[i] > maxX) maxX = xs[i];
    if (ys[i] < minY) minY = ys[i];
    if (ys[i] > maxY) maxY = ys[i];
  }
  return { minX, minY, maxX, maxY };
}

export function buildGrid(xs, ys, count) {
  const b = count > 0 ? bounds(xs, ys, count) : { minX: 0, minY: 0, maxX: 1, maxY: 1 };
  const side = Math.max(1, Math.ceil(Math.sqrt(count / 8)));
  const cellW = (b.maxX - b.minX) / side || 1, cellH = (b.maxY - b.minY) / side || 1;
  const cellOf = new Int32Array(count);
  const start = new Int32Array(side * side + 1);
  for (let i = 0; i < count; i++) {
    const cx = Math.min(side - 1, Math.floor((xs[i] - b.minX) / cellW));
    const cy = Math.min(side - 1, Math.floor((ys[i] - b.minY) / cellH));
    cellOf[i] = cy * side + cx;
    start[cellOf[i] + 1]++;
  }
  for (let c = 0; c < side * side; c++) start[c + 1] += start[c];
  const items = new Int32Array(count), filled = start.slice(0, side * side);
  for (let i = 0; i < count; i++) items[filled[cellOf[i]]++] = i;
  return { minX: b.minX, minY: b.minY, cellW, cellH, side, start, items };
}
