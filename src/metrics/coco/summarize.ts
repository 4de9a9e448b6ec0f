/**
 * The 12 COCO bbox summary numbers (pycocotools' `summarize` / `_summarizeDets`) and their printed layout.
 * Each number is the mean of the precision (or recall) entries of one setting that are not -1, summed in NumPy's
 * pairwise order so that the value is the same double as pycocotools'; -1 when every entry is -1.
 */
import type { PrecisionRecall } from "./accumulate.js";
import { AREA_LABELS, type AreaLabel, IOU_THRESHOLDS, MAX_DETS } from "./params.js";

export const STAT_KEYS = [
  "AP",
  "AP50",
  "AP75",
  "APs",
  "APm",
  "APl",
  "AR1",
  "AR10",
  "AR100",
  "ARs",
  "ARm",
  "ARl",
] as const;
export type CocoStatKey = (typeof STAT_KEYS)[number];
export type CocoStats = Record<CocoStatKey, number>;

interface Setting {
  ap: boolean;
  iouThr?: number;
  area: AreaLabel;
  maxDets: number;
}

const SETTINGS: readonly Setting[] = [
  { ap: true, area: "all", maxDets: 100 },
  { ap: true, iouThr: 0.5, area: "all", maxDets: 100 },
  { ap: true, iouThr: 0.75, area: "all", maxDets: 100 },
  { ap: true, area: "small", maxDets: 100 },
  { ap: true, area: "medium", maxDets: 100 },
  { ap: true, area: "large", maxDets: 100 },
  { ap: false, area: "all", maxDets: 1 },
  { ap: false, area: "all", maxDets: 10 },
  { ap: false, area: "all", maxDets: 100 },
  { ap: false, area: "small", maxDets: 100 },
  { ap: false, area: "medium", maxDets: 100 },
  { ap: false, area: "large", maxDets: 100 },
];

/** NumPy's pairwise summation (np.add.reduce on a contiguous float64 array). */
function pairwiseSum(a: Float64Array, start = 0, n = a.length): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[start + i]!;
    return s;
  }
  if (n <= 128) {
    const r = a.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += a[start + i + j]!;
    let s = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) s += a[start + i]!;
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** np.add.reduce of a contiguous float64 array: pairwise sums of 8192-element buffers, added in order. */
function numpySum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i += 8192) s += pairwiseSum(a, i, Math.min(8192, a.length - i));
  return s;
}

/** Mean of the entries > -1 of `values` (in the given order), or -1 when there is none. */
function meanDefined(values: Float64Array): number {
  const kept = values.filter((v) => v > -1);
  return kept.length === 0 ? -1 : numpySum(kept) / kept.length;
}

function summarizeOne(pr: PrecisionRecall, s: Setting): number {
  const [, R, K, A, M] = pr.counts;
  const ts = [...IOU_THRESHOLDS.keys()].filter((t) => s.iouThr === undefined || IOU_THRESHOLDS[t] === s.iouThr);
  const a = AREA_LABELS.indexOf(s.area);
  const m = MAX_DETS.indexOf(s.maxDets as (typeof MAX_DETS)[number]);
  const picked: number[] = [];
  // C order of precision[t, :, :, a, m] / recall[t, :, a, m], as NumPy's boolean mask reads them.
  for (const t of ts) {
    if (s.ap) {
      for (let r = 0; r < R; r++)
        for (let k = 0; k < K; k++) picked.push(pr.precision[(((t * R + r) * K + k) * A + a) * M + m]!);
    } else {
      for (let k = 0; k < K; k++) picked.push(pr.recall[((t * K + k) * A + a) * M + m]!);
    }
  }
  return meanDefined(Float64Array.from(picked));
}

/** The 12 summary numbers, in pycocotools' stats order. */
export function summarize(pr: PrecisionRecall): CocoStats {
  const out = {} as CocoStats;
  STAT_KEYS.forEach((key, i) => {
    out[key] = summarizeOne(pr, SETTINGS[i]!);
  });
  return out;
}

/** AP over IoU .50:.95, area all, 100 detections, of category k (-1 without ground truth). */
export function categoryAp(pr: PrecisionRecall, k: number): number {
  const [T, R, K, A, M] = pr.counts;
  const v = new Float64Array(T * R);
  for (let t = 0; t < T; t++)
    for (let r = 0; r < R; r++) v[t * R + r] = pr.precision[((t * R + r) * K + k) * A * M + M - 1]!;
  return meanDefined(v);
}

/** Python's "{:0.3f}": like toFixed(3) but exact ties round half to even. */
function fixed3(x: number): string {
  // x is exactly halfway between two 3-decimal numbers iff x * 16 is an odd integer (x = odd / 2000 in binary).
  const j = x * 16;
  if (Number.isInteger(j) && j % 2 !== 0) {
    const lo = Math.floor(x * 1000);
    return ((lo % 2 === 0 ? lo : lo + 1) / 1000).toFixed(3);
  }
  return x.toFixed(3);
}

/** The 12 lines pycocotools prints, byte for byte. */
export function formatCocoStats(stats: CocoStats): string {
  const first = IOU_THRESHOLDS[0]!.toFixed(2);
  const last = IOU_THRESHOLDS[IOU_THRESHOLDS.length - 1]!.toFixed(2);
  return STAT_KEYS.map((key, i) => {
    const s = SETTINGS[i]!;
    const title = (s.ap ? "Average Precision" : "Average Recall").padEnd(18);
    const type = s.ap ? "(AP)" : "(AR)";
    const iou = (s.iouThr === undefined ? `${first}:${last}` : s.iouThr.toFixed(2)).padEnd(9);
    return ` ${title} ${type} @[ IoU=${iou} | area=${s.area.padStart(6)} | maxDets=${String(s.maxDets).padStart(3)} ] = ${fixed3(stats[key])}`;
  }).join("\n");
}
