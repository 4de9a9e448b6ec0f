/**
 * Stable sort of indices by descending score (NumPy's argsort(-scores, kind='mergesort') order): equal scores keep
 * their order. Typed arrays and inline comparisons; no comparator callbacks.
 */

const RUN = 32;

function insertionSort(idx: Int32Array, lo: number, hi: number, key: Float64Array): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = idx[i]!;
    const kv = key[v]!;
    let j = i - 1;
    while (j >= lo && key[idx[j]!]! < kv) {
      idx[j + 1] = idx[j]!;
      j--;
    }
    idx[j + 1] = v;
  }
}

/**
 * Sorts idx[start .. end) by descending key[idx[i]], stably. `tmp` is scratch space at least as long as `end`.
 */
export function sortByScoreDesc(idx: Int32Array, start: number, end: number, key: Float64Array, tmp: Int32Array): void {
  const n = end - start;
  for (let lo = start; lo < end; lo += RUN) insertionSort(idx, lo, Math.min(lo + RUN, end), key);
  if (n <= RUN) return;
  let src = idx;
  let dst = tmp;
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = start; lo < end; lo += 2 * width) {
      const mid = Math.min(lo + width, end);
      const hi = Math.min(lo + 2 * width, end);
      let i = lo;
      let j = mid;
      let k = lo;
      // Take from the right run only when strictly greater: ties keep the left (earlier) element first.
      while (i < mid && j < hi) dst[k++] = key[src[j]!]! > key[src[i]!]! ? src[j++]! : src[i++]!;
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
    }
    [src, dst] = [dst, src];
  }
  if (src !== idx) idx.set(src.subarray(start, end), start);
}
