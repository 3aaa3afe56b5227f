// Seeded data shared by the SQL benchmarks: the browser page (bench.js) and the Node comparison
// with better-sqlite3 (node/compare.mjs) build their keys, rows and the sums they expect here.

/** splitmix32: a seeded PRNG of 32-bit unsigned integers, enough for keys and values. */
export function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** `n` distinct 16-character keys (hex of two PRNG draws), in the order drawn. */
export function distinctKeys(rnd, n) {
  const keys = new Array(n);
  const seen = new Set();
  for (let i = 0; i < n; ) {
    const k = rnd().toString(16).padStart(8, '0') + rnd().toString(16).padStart(8, '0');
    if (seen.has(k)) continue;
    seen.add(k);
    keys[i++] = k;
  }
  return keys;
}

/**
 * Rows of `t(id INTEGER PRIMARY KEY, name TEXT, value REAL, payload BLOB)` for the given names
 * and payloads: ids 1..total in random order, value = a multiple of 0.25 (sums are exact in
 * doubles, in any order). The first `bulk` rows are `bulk`, the rest `durable`; `reads` random
 * ids are `pointIds`; `pointValue` and `allValue` are the sums of `value` the point selects and
 * the full scan must find.
 */
export function sqlRows(rnd, { names, payloads, bulk, reads }) {
  const total = names.length;
  const ids = Array.from({ length: total }, (_, i) => i + 1);
  for (let i = total - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const values = Array.from({ length: total }, () => (rnd() % 4_000_000) / 4);
  const valueOf = new Float64Array(total + 1);
  for (let i = 0; i < total; i++) valueOf[ids[i]] = values[i];
  const pointIds = Array.from({ length: reads }, () => 1 + (rnd() % total));
  let pointValue = 0;
  for (const id of pointIds) pointValue += valueOf[id];
  let allValue = 0;
  for (const v of values) allValue += v;
  const slice = (a, b) => ({ ids: ids.slice(a, b), names: names.slice(a, b), values: values.slice(a, b), payloads: payloads.slice(a, b) });
  return { bulk: slice(0, bulk), durable: slice(bulk, total), pointIds, pointValue, allValue, total };
}
