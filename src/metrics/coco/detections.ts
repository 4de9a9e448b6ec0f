/**
 * Detections held column-wise (no per-detection objects), with their image and category as indices into the ground
 * truth. As pycocotools' `loadRes` for bbox results: the area is w*h (any given area is ignored), every image id must
 * be an image of the ground truth, and the order of arrival breaks score ties. A detection whose category is not a
 * ground-truth category is not kept (COCOeval only visits the ground truth's categories) and is counted, or refused
 * under `strict` (lenient.ts).
 */
import { TasksrError } from "../../errors.js";
import { arrayAt, badField, boxAt, numberAt, recordAt } from "../json-fields.js";
import type { CocoGroundTruthIndex } from "./ground-truth.js";

/** One entry of a COCO results file. */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: readonly number[];
  score: number;
}

/** One image's predictions as a detector returns them. */
export interface ImagePredictions {
  /** [N, 4] row-major boxes, in `boxFormat`. */
  boxes: Float32Array | Float64Array | readonly number[];
  /** [N] confidence. */
  scores: Float32Array | Float64Array | readonly number[];
  /** [N] COCO category ids (not contiguous indices). */
  labels: Int32Array | Float32Array | Float64Array | BigInt64Array | readonly number[];
}

export class DetectionStore {
  count = 0;
  /** Detections not kept because their category is not a ground-truth category. */
  unknownCategory = 0;
  /** [n] image index, category index, score; [n, 4] box xywh. */
  image = new Int32Array(1024);
  category = new Int32Array(1024);
  score = new Float64Array(1024);
  box = new Float64Array(4 * 1024);

  private reserve(extra: number): void {
    const need = this.count + extra;
    if (need <= this.image.length) return;
    const cap = Math.max(need, 2 * this.image.length);
    const used = this.count;
    const grow = <T extends Int32Array | Float64Array>(a: T, perItem: number): T => {
      const b = new (a.constructor as new (n: number) => T)(perItem * cap);
      b.set(a.subarray(0, perItem * used));
      return b;
    };
    this.image = grow(this.image, 1);
    this.category = grow(this.category, 1);
    this.score = grow(this.score, 1);
    this.box = grow(this.box, 4);
  }

  private push(image: number, category: number, score: number, x: number, y: number, w: number, h: number): void {
    const i = this.count++;
    this.image[i] = image;
    this.category[i] = category;
    this.score[i] = score;
    this.box[4 * i] = x;
    this.box[4 * i + 1] = y;
    this.box[4 * i + 2] = w;
    this.box[4 * i + 3] = h;
  }

  /** Appends a results list (parsed JSON or in memory); nothing is added if any entry is invalid. */
  addResults(list: unknown, gt: CocoGroundTruthIndex, where: string, strict: boolean): void {
    const items = arrayAt(list, where, "top level (a list of detections)");
    const before = this.count;
    const unknownBefore = this.unknownCategory;
    this.reserve(items.length);
    const bb = new Float64Array(4);
    try {
      for (let i = 0; i < items.length; i++) {
        const path = `[${i}]`;
        const d = recordAt(items[i], where, path);
        const image = gt.imageIndex.get(numberAt(d.image_id, where, `${path}.image_id`));
        if (image === undefined) {
          throw badField(where, `${path}.image_id`, `the id of an image of the ground truth (${gt.where})`, d.image_id);
        }
        const category = gt.categoryIndex.get(numberAt(d.category_id, where, `${path}.category_id`));
        if (category === undefined && strict) {
          throw badField(
            where,
            `${path}.category_id`,
            `a category id of the ground truth (${gt.where})`,
            d.category_id,
          );
        }
        const score = numberAt(d.score, where, `${path}.score`);
        boxAt(d.bbox, where, `${path}.bbox`, bb, 0);
        if (category === undefined) this.unknownCategory++;
        else this.push(image, category, score, bb[0]!, bb[1]!, bb[2]!, bb[3]!);
      }
    } catch (err) {
      this.count = before;
      this.unknownCategory = unknownBefore;
      throw err;
    }
  }

  /** Appends one image's predictions; `xyxy` boxes become [x1, y1, x2 - x1, y2 - y1] as torchvision's evaluator does. */
  addImage(
    imageId: number,
    p: ImagePredictions,
    boxFormat: "xyxy" | "xywh",
    gt: CocoGroundTruthIndex,
    strict: boolean,
  ): void {
    const where = `predictions for image ${imageId}`;
    const image = gt.imageIndex.get(imageId);
    if (image === undefined) throw new TasksrError("E_TENSOR_ARG", `${where}: not an image of ${gt.where}`);
    const n = p.scores.length;
    if (p.boxes.length !== 4 * n || p.labels.length !== n) {
      throw new TasksrError(
        "E_TENSOR_ARG",
        `${where}: expected boxes [N, 4], scores [N], labels [N]; got ${p.boxes.length} box values, ${n} scores, ` +
          `${p.labels.length} labels`,
      );
    }
    const cats = new Int32Array(n);
    let unknown = 0;
    for (let i = 0; i < n; i++) {
      const c = gt.categoryIndex.get(Number(p.labels[i]));
      if (c === undefined && strict) {
        throw new TasksrError(
          "E_TENSOR_ARG",
          `${where}: label ${String(p.labels[i])} (detection ${i}) is not a category id of ${gt.where}`,
        );
      }
      let finite = Number.isFinite(p.scores[i]);
      for (let j = 0; j < 4; j++) finite &&= Number.isFinite(p.boxes[4 * i + j]);
      if (!finite) throw new TasksrError("E_TENSOR_ARG", `${where}: detection ${i} has a non-finite box or score`);
      if (c === undefined) unknown++;
      cats[i] = c ?? -1;
    }
    this.unknownCategory += unknown;
    this.reserve(n - unknown);
    // torchvision converts xyxy in the tensor's precision: float32 boxes give float32 widths and heights.
    const round = p.boxes instanceof Float32Array ? Math.fround : (v: number) => v;
    for (let i = 0; i < n; i++) {
      if (cats[i] === -1) continue;
      const x = Number(p.boxes[4 * i]);
      const y = Number(p.boxes[4 * i + 1]);
      const u = Number(p.boxes[4 * i + 2]);
      const v = Number(p.boxes[4 * i + 3]);
      const xyxy = boxFormat === "xyxy";
      this.push(image, cats[i]!, Number(p.scores[i]), x, y, xyxy ? round(u - x) : u, xyxy ? round(v - y) : v);
    }
  }

  append(other: DetectionStore): void {
    this.reserve(other.count);
    const n = this.count;
    this.image.set(other.image.subarray(0, other.count), n);
    this.category.set(other.category.subarray(0, other.count), n);
    this.score.set(other.score.subarray(0, other.count), n);
    this.box.set(other.box.subarray(0, 4 * other.count), 4 * n);
    this.count += other.count;
    this.unknownCategory += other.unknownCategory;
  }

  clear(): void {
    this.count = 0;
    this.unknownCategory = 0;
  }
}
