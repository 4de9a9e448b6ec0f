/**
 * Dataset views: a fixed subset (the first n samples, or n samples drawn with a seed, stable across runs), and the
 * same samples in an order that starts with k samples spread evenly over the dataset.
 */
import { describeView } from "../describe.js";
import { Rng } from "../transforms/rng.js";
import type { Dataset, Target } from "../types.js";

export function subsetDataset<T extends Target>(ds: Dataset<T>, n: number, seed?: number): Dataset<T> {
  if (n >= ds.length) return ds;
  let indices = Array.from({ length: ds.length }, (_, i) => i);
  if (seed !== undefined) {
    // Partial Fisher-Yates: the first n positions become a uniform sample; sorted to keep file order.
    const rng = new Rng(seed, 0, 0);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(rng.next() * (ds.length - i));
      [indices[i], indices[j]] = [indices[j]!, indices[i]!];
    }
    indices = indices.slice(0, n).sort((a, b) => a - b);
  } else {
    indices = indices.slice(0, n);
  }
  return view(ds, indices);
}

/**
 * All samples of `ds`, the first k of them evenly spread over it (indices 0, s, 2s, … with s = ⌊length / k⌋), the
 * rest in order after them. Accumulated metrics do not depend on the order; a visualisation of the first k images
 * then shows the whole dataset (class-sorted folders included) rather than its first class.
 */
export function spreadFirst<T extends Target>(ds: Dataset<T>, k: number): Dataset<T> {
  const n = ds.length;
  const step = Math.max(1, Math.floor(n / Math.max(1, k)));
  const first = Array.from({ length: Math.min(k, n) }, (_, i) => i * step);
  const chosen = new Set(first);
  const rest = Array.from({ length: n }, (_, i) => i).filter((i) => !chosen.has(i));
  return view(ds, [...first, ...rest]);
}

/** The dataset whose sample i is sample indices[i] of `ds`. */
export function view<T extends Target>(ds: Dataset<T>, indices: readonly number[]): Dataset<T> {
  const n = indices.length;
  const pick = (i: number) => {
    const j = indices[i];
    if (j === undefined) throw new RangeError(`index ${i} outside a view of ${n} samples`);
    return j;
  };
  const v: Dataset<T> = {
    task: ds.task,
    classes: ds.classes,
    length: n,
    get: (i) => ds.get(pick(i)),
    ...(ds.size ? { size: (i: number) => ds.size!(pick(i)) } : {}),
  };
  return describeView(v, ds, indices);
}
