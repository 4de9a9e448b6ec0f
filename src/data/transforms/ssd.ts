/**
 * SSD geometric augmentation (methods.md B4, reference SSD300): zoom-out onto a mean-filled canvas ("expand") and the
 * random crop constrained by IoU with the objects.
 */
import { check } from "../../errors.js";
import type { BoxTarget, Sample, Target } from "../types.js";
import type { Transform } from "./compose.js";
import { boxCentre, cropSample, type Fill, type Window } from "./geometry.js";
import type { Rng } from "./rng.js";

/** The reference's canvas colour: the VOC mean (BGR 104, 117, 123), in RGB. */
export const SSD_MEAN_RGB = [123, 117, 104] as const;

export interface ExpandOptions {
  /** Probability of zooming out (default 0.5). */
  p?: number;
  /** The canvas is `ratio` times the image per side, ratio uniform in [1, maxRatio] (default 4). */
  maxRatio?: number;
  /** Canvas colour (default the SSD mean, RGB); masks get 255 (ignore). */
  fill?: Fill;
}

/** Places the image at a random position on a larger canvas; boxes shift with it. Four draws per call. */
export function expand(o: ExpandOptions = {}): Transform {
  const p = o.p ?? 0.5;
  const maxRatio = o.maxRatio ?? 4;
  check(maxRatio >= 1, () => `expand maxRatio must be >= 1, got ${maxRatio}`, "E_CONFIG");
  return (s, rng) => {
    const on = rng.bool(p);
    const ratio = rng.uniform(1, maxRatio);
    const { width: w, height: h } = s.image;
    const left = rng.uniform(0, w * ratio - w);
    const top = rng.uniform(0, h * ratio - h);
    if (!on) return s;
    const win: Window = {
      x: -Math.floor(left),
      y: -Math.floor(top),
      width: Math.floor(w * ratio),
      height: Math.floor(h * ratio),
    };
    return cropSample(s, win, o.fill ?? SSD_MEAN_RGB);
  };
}

export interface IouCropOptions {
  /**
   * Modes drawn uniformly per call: `null` keeps the whole image, a number is the minimum IoU that at least one
   * object must have with the crop. Default: the reference's [null, 0.1, 0.3, 0.7, 0.9, 0] (0 = any crop).
   */
  minIous?: readonly (number | null)[];
  /** Crop attempts per call before giving up and keeping the image (default 50). */
  trials?: number;
  /** Crop side as a fraction of the image side (default [0.3, 1]). */
  scale?: readonly [number, number];
  /** Allowed crop height/width ratio (default [0.5, 2]). */
  aspect?: readonly [number, number];
}

function iou(b: Float32Array, i: number, r: Window): number {
  const ix = Math.min(b[i * 4 + 2]!, r.x + r.width) - Math.max(b[i * 4]!, r.x);
  const iy = Math.min(b[i * 4 + 3]!, r.y + r.height) - Math.max(b[i * 4 + 1]!, r.y);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const area = (b[i * 4 + 2]! - b[i * 4]!) * (b[i * 4 + 3]! - b[i * 4 + 1]!);
  return inter / (area + r.width * r.height - inter);
}

/**
 * SSD's random IoU crop: draw a mode; for up to `trials` attempts draw a crop (sides in `scale`, aspect in
 * `aspect`, integer window as the reference's int() of the float corners), accept it if some object has
 * IoU >= the mode's minimum and some object's centre lies strictly inside; then keep only the objects whose centre
 * is inside, clipped to the crop. The reference's test `min < lo and hi < max` never rejects (hi is infinite); we
 * apply the intended "at least one object with IoU >= min" (torchvision's RandomIoUCrop, Caffe SSD). Samples with
 * no boxes are returned unchanged. Needs box targets.
 */
export function iouCrop(o: IouCropOptions = {}): Transform {
  const modes = o.minIous ?? [null, 0.1, 0.3, 0.7, 0.9, 0];
  const trials = o.trials ?? 50;
  const [smin, smax] = o.scale ?? [0.3, 1];
  const [amin, amax] = o.aspect ?? [0.5, 2];
  check(modes.length > 0 && trials > 0, () => "iouCrop needs at least one mode and one trial", "E_CONFIG");
  return <T extends Target>(s: Sample<T>, rng: Rng): Sample<T> => {
    check(s.target.kind === "boxes", () => `iouCrop needs box targets, sample ${s.id} has "${s.target.kind}"`);
    const t = s.target as BoxTarget;
    const mode = rng.pick(modes);
    const n = t.labels.length;
    if (mode === null || n === 0) return s;
    const { width: W, height: H } = s.image;
    for (let k = 0; k < trials; k++) {
      const w = rng.uniform(smin * W, smax * W);
      const h = rng.uniform(smin * H, smax * H);
      if (h / w < amin || h / w > amax) continue;
      const left = rng.uniform(0, W - w);
      const top = rng.uniform(0, H - h);
      const x = Math.trunc(left);
      const y = Math.trunc(top);
      const win: Window = { x, y, width: Math.trunc(left + w) - x, height: Math.trunc(top + h) - y };
      if (win.width <= 0 || win.height <= 0) continue;
      let best = 0;
      for (let i = 0; i < n; i++) best = Math.max(best, iou(t.boxes, i, win));
      if (best < mode) continue;
      const inside = (i: number) => {
        const [cx, cy] = boxCentre(t.boxes, i);
        return win.x < cx && cx < win.x + win.width && win.y < cy && cy < win.y + win.height;
      };
      let any = false;
      for (let i = 0; i < n && !any; i++) any = inside(i);
      if (!any) continue;
      return cropSample(s, win, 0, 255, inside);
    }
    return s;
  };
}
