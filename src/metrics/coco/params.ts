/**
 * pycocotools' default bbox evaluation parameters (`Params.setDetParams`), computed bit-for-bit as NumPy does.
 */

/** np.linspace(start, stop, num): arange(num) * step + start, with the last point set to `stop` exactly. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** [T = 10] IoU thresholds .50:.05:.95 (np.linspace(.5, .95, round((.95 - .5) / .05) + 1)). */
export const IOU_THRESHOLDS = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
/** [R = 101] recall thresholds 0:.01:1. */
export const RECALL_THRESHOLDS = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
/** [M = 3] maximum detections per image, ascending. */
export const MAX_DETS = [1, 10, 100] as const;
/** [A = 4] object area ranges (inclusive bounds) and their labels. */
export const AREA_RANGES: readonly (readonly [number, number])[] = [
  [0 ** 2, 1e5 ** 2],
  [0 ** 2, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e5 ** 2],
];
export const AREA_LABELS = ["all", "small", "medium", "large"] as const;
export type AreaLabel = (typeof AREA_LABELS)[number];

/** np.spacing(1): added to the precision denominator by pycocotools. */
export const EPS = 2 ** -52;
