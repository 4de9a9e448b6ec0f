/** Stable bucket (counting) sort used to group annotations and detections by category and image in O(n). */

/**
 * Reorders `order` (indices into `key`) stably by `key[index]` in [0, buckets). Returns the sorted indices and
 * `start` [buckets + 1]: bucket b occupies sorted[start[b] .. start[b + 1]).
 */
export function bucketSort(
  order: Int32Array,
  key: Int32Array,
  buckets: number,
): { sorted: Int32Array; start: Int32Array } {
  const start = new Int32Array(buckets + 1);
  for (let i = 0; i < order.length; i++) start[key[order[i]!]! + 1]!++;
  for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
  const next = start.slice(0, buckets);
  const sorted = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const idx = order[i]!;
    sorted[next[key[idx]!]!++] = idx;
  }
  return { sorted, start };
}

/** 0 .. n-1. */
export function iota(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}
