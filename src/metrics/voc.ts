/**
 * PASCAL VOC detection AP per class and mAP, as the VOC devkit (VOCevaldet.m) and the Python ports derived from it
 * (voc_eval.py, rafaelpadilla's Object-Detection-Metrics):
 * - per class, detections in descending score order (ties keep arrival order) each take the ground truth of the same
 *   image with the highest IoU (first one on ties); IoU >= the threshold makes it a true positive if that ground truth
 *   is still free, a false positive if it was already taken (duplicate) or if the IoU is below the threshold;
 * - difficult objects: with `difficult: "ignore"` (VOC07 evaluation) they are not counted as positives and a
 *   detection whose best match is difficult is neither TP nor FP; with "count" they are ordinary ground truth;
 * - `boxes: "inclusive"` (devkit): coordinates are pixel indices, so widths are x2 - x1 + 1 and the intersection is
 *   min - max + 1 on each axis; "continuous": widths x2 - x1 (as COCO);
 * - `metric: "11pt"` (VOC2007): mean over t = 0, 0.1, ..., 1 (computed as i * 0.1, NumPy's values) of the highest
 *   precision at recall >= t; `"area"` (VOC2010+): area under the precision envelope at every recall change.
 * Classes are those with at least one ground-truth box; detections of other classes are not evaluated (counted in
 * `unevaluatedDetections`). A class whose only objects are ignored difficult ones has AP NaN and is left out of mAP.
 */
import { TasksrError } from "../errors.js";
import {
  type Accumulator,
  badState,
  numberField,
  numbersField,
  stateArray,
  stateFields,
  stateNumber,
  stateNumbers,
  stateRecord,
} from "./accumulator.js";

/** [xmin, ymin, xmax, ymax]. */
export type VocBox = readonly [number, number, number, number];

export interface VocObject {
  imageId: string;
  className: string;
  box: VocBox;
  difficult?: boolean;
}

export interface VocGroundTruth {
  /** Every image of the test set (detections on other images are rejected). */
  images: readonly string[];
  objects: readonly VocObject[];
}

export interface VocDetection {
  imageId: string;
  className: string;
  score: number;
  box: VocBox;
}

export interface VocOptions {
  /** IoU threshold in (0, 1] (default 0.5). */
  iou?: number;
  /** "11pt" (VOC2007, default) or "area" (VOC2010+ all-point). */
  metric?: "11pt" | "area";
  /** "ignore" (default, VOC07 evaluation) or "count" difficult objects as ordinary ground truth. */
  difficult?: "ignore" | "count";
  /** "inclusive" (default, devkit +1 pixel convention) or "continuous" box coordinates. */
  boxes?: "inclusive" | "continuous";
}

export interface VocClassResult {
  className: string;
  ap: number;
  /** Positives: ground truths counted (difficult ones excluded under "ignore"). */
  positives: number;
  detections: number;
  tp: number;
  fp: number;
}

export interface VocResult {
  classes: VocClassResult[];
  /** Mean AP over classes with at least one positive (NaN when none). */
  map: number;
  unevaluatedDetections: number;
}

/** Average precision from cumulative recall/precision (one point per counted detection, score order). */
export function vocAp(rec: Float64Array, prec: Float64Array, metric: "11pt" | "area"): number {
  const n = rec.length;
  if (metric === "11pt") {
    let sum = 0;
    for (let i = 10; i >= 0; i--) {
      const t = i === 10 ? 1 : i * 0.1;
      let p = 0;
      for (let j = 0; j < n; j++) if (rec[j]! >= t && prec[j]! > p) p = prec[j]!;
      sum += p;
    }
    return sum / 11;
  }
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  mrec.set(rec, 1);
  mrec[n + 1] = 1;
  mpre.set(prec, 1);
  for (let i = n + 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1]!, mpre[i]!);
  let ap = 0;
  for (let i = 1; i < n + 2; i++) if (mrec[i] !== mrec[i - 1]) ap += (mrec[i]! - mrec[i - 1]!) * mpre[i]!;
  return ap;
}

/** IoU of two [x1, y1, x2, y2] boxes; `plus` is 1 for the inclusive pixel convention, 0 for continuous. */
function iou(a: VocBox, b: VocBox, plus: number): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + plus;
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + plus;
  if (!(iw > 0 && ih > 0)) return 0;
  const inter = iw * ih;
  const ua = (a[2] - a[0] + plus) * (a[3] - a[1] + plus) + (b[2] - b[0] + plus) * (b[3] - b[1] + plus) - inter;
  return inter / ua;
}

function checkBox(box: unknown, what: string): void {
  const ok = Array.isArray(box) && box.length === 4 && box.every((v) => typeof v === "number" && Number.isFinite(v));
  if (!ok) throw new TasksrError("E_TENSOR_ARG", `${what}: box must be 4 finite numbers [xmin, ymin, xmax, ymax]`);
}

export class VocEvaluator implements Accumulator<VocResult> {
  readonly options: Required<VocOptions>;
  private readonly images: Set<string>;
  /** class -> image -> indices of its ground-truth objects. */
  private readonly byClass = new Map<string, Map<string, number[]>>();
  private dets: VocDetection[] = [];

  constructor(
    readonly groundTruth: VocGroundTruth,
    o: VocOptions = {},
  ) {
    this.options = { iou: 0.5, metric: "11pt", difficult: "ignore", boxes: "inclusive", ...o };
    const { iou: thr, metric, difficult, boxes } = this.options;
    if (!(thr > 0 && thr <= 1))
      throw new TasksrError("E_TENSOR_ARG", `VOC iou threshold must be in (0, 1], got ${thr}`);
    if (metric !== "11pt" && metric !== "area") {
      throw new TasksrError("E_TENSOR_ARG", `VOC metric must be 11pt or area, got "${metric}"`);
    }
    if (difficult !== "ignore" && difficult !== "count") {
      throw new TasksrError("E_TENSOR_ARG", `VOC difficult must be ignore or count, got "${difficult}"`);
    }
    if (boxes !== "inclusive" && boxes !== "continuous") {
      throw new TasksrError("E_TENSOR_ARG", `VOC boxes must be inclusive or continuous, got "${boxes}"`);
    }
    this.images = new Set(groundTruth.images);
    for (const [i, g] of groundTruth.objects.entries()) {
      checkBox(g.box, `ground-truth object ${i} (${g.imageId})`);
      if (!this.images.has(g.imageId)) {
        throw new TasksrError("E_TENSOR_ARG", `ground-truth object ${i}: image "${g.imageId}" is not in images`);
      }
      let perImage = this.byClass.get(g.className);
      if (!perImage) {
        perImage = new Map();
        this.byClass.set(g.className, perImage);
      }
      const list = perImage.get(g.imageId);
      if (list) list.push(i);
      else perImage.set(g.imageId, [i]);
    }
  }

  /** Appends detections; the whole list is rejected if one refers to an unknown image or has a bad box/score. */
  update(dets: readonly VocDetection[]): void {
    for (const [i, d] of dets.entries()) {
      checkBox(d.box, `detection ${i}`);
      if (typeof d.score !== "number" || !Number.isFinite(d.score)) {
        throw new TasksrError("E_TENSOR_ARG", `detection ${i}: score must be a finite number, got ${d.score}`);
      }
      if (!this.images.has(d.imageId)) {
        throw new TasksrError(
          "E_TENSOR_ARG",
          `detection ${i}: image "${d.imageId}" is not an image of the ground truth`,
        );
      }
    }
    for (const d of dets) this.dets.push(d);
  }

  compute(): VocResult {
    const { iou: thr, metric, difficult, boxes } = this.options;
    const plus = boxes === "inclusive" ? 1 : 0;
    const perClass = new Map<string, VocDetection[]>();
    let unevaluated = 0;
    for (const d of this.dets) {
      if (!this.byClass.has(d.className)) {
        unevaluated++;
        continue;
      }
      const list = perClass.get(d.className);
      if (list) list.push(d);
      else perClass.set(d.className, [d]);
    }
    const objects = this.groundTruth.objects;
    const taken = new Uint8Array(objects.length);
    const classes: VocClassResult[] = [];
    for (const [className, perImage] of [...this.byClass].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      let positives = 0;
      for (const list of perImage.values()) {
        for (const g of list) if (!(objects[g]!.difficult && difficult === "ignore")) positives++;
      }
      // Array.prototype.sort is stable: equal scores keep arrival order.
      const dets = (perClass.get(className) ?? []).slice().sort((a, b) => b.score - a.score);
      const rec: number[] = [];
      const prec: number[] = [];
      let tp = 0;
      let fp = 0;
      for (const d of dets) {
        let best = Number.NEGATIVE_INFINITY;
        let match = -1;
        for (const g of perImage.get(d.imageId) ?? []) {
          const v = iou(d.box, objects[g]!.box, plus);
          if (v > best) {
            best = v;
            match = g;
          }
        }
        if (match >= 0 && best >= thr) {
          if (objects[match]!.difficult && difficult === "ignore") continue;
          if (taken[match]) fp++;
          else {
            taken[match] = 1;
            tp++;
          }
        } else {
          fp++;
        }
        rec.push(tp / positives);
        prec.push(tp / (tp + fp));
      }
      const ap = positives === 0 ? Number.NaN : vocAp(Float64Array.from(rec), Float64Array.from(prec), metric);
      classes.push({ className, ap, positives, detections: dets.length, tp, fp });
    }
    const scored = classes.filter((c) => c.positives > 0);
    const map = scored.length === 0 ? Number.NaN : scored.reduce((s, c) => s + c.ap, 0) / scored.length;
    return { classes, map, unevaluatedDetections: unevaluated };
  }

  merge(other: this): void {
    if (other.groundTruth !== this.groundTruth || JSON.stringify(other.options) !== JSON.stringify(this.options)) {
      throw new TasksrError(
        "E_TENSOR_ARG",
        "VocEvaluator.merge: the evaluators use different ground truths or options",
      );
    }
    for (const d of other.dets) this.dets.push(d);
  }

  /**
   * `{settings: {iou, metric, difficult, boxes}, detections: [{imageId, className, score, box}]}` in arrival order
   * (it breaks score ties). The ground truth is not part of it: every process reads the same one.
   */
  state(): unknown {
    return {
      settings: this.settings(),
      detections: this.dets.map((d) => ({
        imageId: d.imageId,
        className: d.className,
        score: stateNumber(d.score),
        box: stateNumbers(d.box),
      })),
    };
  }

  mergeState(s: unknown): void {
    const where = "VocEvaluator.mergeState";
    const r = stateFields(s, where, this.settings());
    const dets = stateArray(r.detections, where, "detections: an array").map((v, i): VocDetection => {
      const what = `detections[${i}]`;
      const d = stateRecord(v, where, `${what}: a detection {imageId, className, score, box}`);
      if (typeof d.imageId !== "string" || !this.images.has(d.imageId)) {
        throw badState(where, `${what}.imageId: an image of the ground truth`, d.imageId);
      }
      if (typeof d.className !== "string") throw badState(where, `${what}.className: a string`, d.className);
      const [x1, y1, x2, y2] = numbersField(d, "box", `${where}: ${what}`, { length: 4, kind: "finite" });
      const score = numberField(d, "score", `${where}: ${what}`, "finite");
      return { imageId: d.imageId, className: d.className, score, box: [x1!, y1!, x2!, y2!] };
    });
    for (const d of dets) this.dets.push(d);
  }

  reset(): void {
    this.dets = [];
  }

  private settings(): Required<VocOptions> {
    const { iou, metric, difficult, boxes } = this.options;
    return { iou, metric, difficult, boxes };
  }
}
