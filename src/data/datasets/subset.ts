/** A fixed subset of a dataset: the first n samples, or n samples drawn with a seed (stable across runs). */
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
  const pick = (i: number) => {
    const j = indices[i];
    if (j === undefined) throw new RangeError(`index ${i} outside a subset of ${n}`);
    return j;
  };
  return {
    task: ds.task,
    classes: ds.classes,
    length: n,
    get: (i) => ds.get(pick(i)),
    ...(ds.size ? { size: (i: number) => ds.size!(pick(i)) } : {}),
  };
}
