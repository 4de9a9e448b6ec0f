/**
 * Semantic segmentation confusion matrix and the scores derived from it, as torchvision's segmentation reference
 * (`references/segmentation/utils.py: ConfusionMatrix`, used by SR4IR, methods.md A11):
 * - rows are ground truth, columns predictions; pixels whose ground truth is outside [0, N) (e.g. 255 = "void")
 *   are not counted;
 * - IoU_c = TP_c / (GT_c + Pred_c - TP_c), per-class accuracy = TP_c / GT_c, pixel accuracy = trace / total;
 * - mIoU = mean of IoU_c over the N classes. A class absent from both ground truth and predictions has IoU 0/0 = NaN;
 *   torchvision lets it propagate (mIoU = NaN). `nan` chooses: "propagate" (default, as torchvision), "ignore" (mean
 *   over the classes whose IoU is defined, like np.nanmean) or "zero" (count them as 0).
 * Counts are float64 (exact to 2^53 pixels) and the ratios are computed in float64 (torchvision uses float32).
 */
import { TasksrError } from "../errors.js";
import { type Accumulator, numbersField, stateFields } from "./accumulator.js";

export type NanPolicy = "propagate" | "ignore" | "zero";

export interface SegmentationSummary {
  numClasses: number;
  /** Pixels counted (ground truth in [0, N)). */
  pixels: number;
  /** trace / total (NaN before any pixel). */
  pixelAccuracy: number;
  /** [N] TP / GT pixels of the class; NaN for a class without ground-truth pixels. */
  classAccuracy: Float64Array;
  /** [N] TP / (GT + Pred - TP); NaN for a class absent from both. */
  iou: Float64Array;
  /** Mean IoU under the NaN policy. */
  miou: number;
}

export class ConfusionMatrix implements Accumulator<SegmentationSummary> {
  readonly numClasses: number;
  readonly nan: NanPolicy;
  /** [N, N] counts, row = ground truth, column = prediction. */
  readonly matrix: Float64Array;

  constructor(numClasses: number, o: { nan?: NanPolicy } = {}) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new TasksrError(
        "E_TENSOR_ARG",
        `ConfusionMatrix: numClasses must be a positive integer, got ${numClasses}`,
      );
    }
    const nan = o.nan ?? "propagate";
    if (nan !== "propagate" && nan !== "ignore" && nan !== "zero") {
      throw new TasksrError("E_TENSOR_ARG", `ConfusionMatrix: nan must be propagate, ignore or zero, got "${nan}"`);
    }
    this.numClasses = numClasses;
    this.nan = nan;
    this.matrix = new Float64Array(numClasses * numClasses);
  }

  /**
   * Adds one or more label maps, flattened: `target` [P] ground truth (values outside [0, N) are ignored),
   * `pred` [P] predicted classes in [0, N) (e.g. the argmax of the logits).
   */
  update(target: ArrayLike<number>, pred: ArrayLike<number>): void {
    const N = this.numClasses;
    if (target.length !== pred.length) {
      throw new TasksrError(
        "E_TENSOR_ARG",
        `ConfusionMatrix.update: target has ${target.length} pixels but pred has ${pred.length}`,
      );
    }
    // Validate everything first so that a bad batch leaves the matrix untouched.
    for (let i = 0; i < target.length; i++) {
      const t = target[i]!;
      if (!(t >= 0 && t < N)) continue;
      const p = pred[i]!;
      if (!Number.isInteger(t) || !Number.isInteger(p) || p < 0 || p >= N) {
        throw new TasksrError(
          "E_TENSOR_ARG",
          `ConfusionMatrix.update: pixel ${i} has target ${t}, prediction ${p}; expected integer classes in 0..${N - 1}`,
        );
      }
    }
    const m = this.matrix;
    for (let i = 0; i < target.length; i++) {
      const t = target[i]!;
      if (t >= 0 && t < N) m[t * N + pred[i]!]!++;
    }
  }

  compute(): SegmentationSummary {
    const N = this.numClasses;
    const m = this.matrix;
    const iou = new Float64Array(N);
    const classAccuracy = new Float64Array(N);
    const colSum = new Float64Array(N);
    for (let r = 0; r < N; r++) for (let c = 0; c < N; c++) colSum[c]! += m[r * N + c]!;
    let trace = 0;
    let total = 0;
    for (let c = 0; c < N; c++) {
      let rowSum = 0;
      for (let j = 0; j < N; j++) rowSum += m[c * N + j]!;
      const tp = m[c * N + c]!;
      trace += tp;
      total += rowSum;
      classAccuracy[c] = tp / rowSum;
      iou[c] = tp / (rowSum + colSum[c]! - tp);
    }
    let sum = 0;
    let defined = 0;
    for (const v of iou) {
      if (Number.isNaN(v)) continue;
      sum += v;
      defined++;
    }
    const miou = this.nan === "ignore" ? sum / defined : this.nan === "zero" || defined === N ? sum / N : Number.NaN;
    return { numClasses: N, pixels: total, pixelAccuracy: trace / total, classAccuracy, iou, miou };
  }

  merge(other: this): void {
    this.mergeState(other.state());
  }

  /**
   * `{settings: {numClasses}, counts}`, counts = the matrix row-major. The NaN policy is not part of it: it only
   * changes how compute() reads the counts.
   */
  state(): unknown {
    return { settings: { numClasses: this.numClasses }, counts: Array.from(this.matrix) };
  }

  mergeState(s: unknown): void {
    const where = "ConfusionMatrix.mergeState";
    const r = stateFields(s, where, { numClasses: this.numClasses });
    const counts = numbersField(r, "counts", where, { length: this.matrix.length, kind: "count" });
    for (let i = 0; i < counts.length; i++) this.matrix[i]! += counts[i]!;
  }

  reset(): void {
    this.matrix.fill(0);
  }
}
