/**
 * Precision/recall of one category, as pycocotools' `accumulate`: for each maxDets M, the detections kept per image
 * (its M best) are merged over images and stably sorted by descending score (np.argsort(-scores, kind='mergesort'),
 * ties keep image order, then score order within the image); ignored detections count neither as TP nor FP;
 * recall = TP / (non-ignored ground truths), precision = TP / (TP + FP + eps) made monotone from the right, and
 * sampled at the recall thresholds with np.searchsorted(recall, thresholds, side='left') (0 past the last
 * detection). Settings without non-ignored ground truth stay -1.
 */
import { iota } from "./group.js";
import { IGNORED, MATCHED } from "./match.js";
import { EPS } from "./params.js";
import { sortByScoreDesc } from "./sort.js";

/** Result arrays with pycocotools' layout: precision [T, R, K, A, M], recall [T, K, A, M]. */
export interface PrecisionRecall {
  precision: Float64Array;
  recall: Float64Array;
  /** [T, R, K, A, M]. */
  counts: [number, number, number, number, number];
}

export interface CategoryEvaluation {
  /** Category index k. */
  k: number;
  /** Detections of the category, n positions in image order then score order: score and rank within the image. */
  n: number;
  score: Float64Array;
  rank: Int32Array;
  /** [A, T, n] MATCHED / IGNORED bits. */
  flags: Uint8Array;
  /** [A] non-ignored ground truths. */
  npig: Float64Array;
}

/** `scratch`: at least n entries of working space. */
export function accumulateCategory(
  c: CategoryEvaluation,
  out: PrecisionRecall,
  recallThresholds: Float64Array,
  maxDets: readonly number[],
  scratch: Int32Array,
): void {
  const [T, R, K, A, M] = out.counts;
  const { precision, recall } = out;
  const { n, score, rank, flags, npig, k } = c;
  const order = iota(n);
  sortByScoreDesc(order, 0, n, score, scratch);
  const sel = new Int32Array(n);
  const rc = new Float64Array(n);
  const pr = new Float64Array(n);
  for (let m = 0; m < M; m++) {
    let nd = 0;
    for (let i = 0; i < n; i++) if (rank[order[i]!]! < maxDets[m]!) sel[nd++] = order[i]!;
    for (let a = 0; a < A; a++) {
      const gts = npig[a]!;
      if (gts === 0) continue;
      for (let t = 0; t < T; t++) {
        const base = (a * T + t) * n;
        let tp = 0;
        let fp = 0;
        for (let i = 0; i < nd; i++) {
          const f = flags[base + sel[i]!]!;
          if (!(f & IGNORED)) {
            if (f & MATCHED) tp++;
            else fp++;
          }
          rc[i] = tp / gts;
          pr[i] = tp / (fp + tp + EPS);
        }
        recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1]! : 0;
        for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
        let i = 0;
        for (let r = 0; r < R; r++) {
          const thr = recallThresholds[r]!;
          while (i < nd && rc[i]! < thr) i++;
          precision[(((t * R + r) * K + k) * A + a) * M + m] = i < nd ? pr[i]! : 0;
        }
      }
    }
  }
}
