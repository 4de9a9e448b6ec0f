/**
 * Top-k classification accuracy (torchvision references' `accuracy(output, target, topk=(1, 5))`), weighted by
 * samples: the dataset accuracy is correct / samples over everything seen, not a mean of batch accuracies.
 *
 * A sample counts as correct at k when its label is among the k highest scores. Equal scores are ranked by class
 * index (lower first), as a stable descending sort would; logits, probabilities or any monotone score give the same
 * result.
 */
import { TasksrError } from "../errors.js";
import { type Accumulator, numberField, numbersField, stateFields } from "./accumulator.js";

export interface TopKOptions {
  numClasses: number;
  /** The k values to report (default [1, 5]); each must be in 1..numClasses. */
  ks?: readonly number[];
}

export interface TopKSummary {
  samples: number;
  /** top[k] = fraction of samples whose label is among the k highest scores (NaN before any sample). */
  top: Record<number, number>;
}

export class TopKAccuracy implements Accumulator<TopKSummary> {
  readonly numClasses: number;
  readonly ks: readonly number[];
  /** correct[i]: samples correct at ks[i]. */
  private readonly correct: Float64Array;
  private samples = 0;

  constructor(o: TopKOptions) {
    const C = o.numClasses;
    if (!Number.isInteger(C) || C < 1) {
      throw new TasksrError("E_TENSOR_ARG", `TopKAccuracy: numClasses must be a positive integer, got ${C}`);
    }
    const ks = o.ks ?? [1, 5];
    for (const k of ks) {
      if (!Number.isInteger(k) || k < 1 || k > C) {
        throw new TasksrError("E_TENSOR_ARG", `TopKAccuracy: k must be an integer in 1..${C} (numClasses), got ${k}`);
      }
    }
    this.numClasses = C;
    this.ks = [...ks];
    this.correct = new Float64Array(ks.length);
  }

  /**
   * Adds a batch. `scores`: [N, C] row-major (logits or probabilities); `labels`: [N] class indices in 0..C-1.
   */
  update(scores: Float32Array | Float64Array, labels: ArrayLike<number>): void {
    const C = this.numClasses;
    const N = labels.length;
    if (scores.length !== N * C) {
      throw new TasksrError(
        "E_TENSOR_ARG",
        `TopKAccuracy.update: scores has ${scores.length} values, expected [${N}, ${C}] = ${N * C} (N labels x numClasses)`,
      );
    }
    // Validate everything first so that a bad batch leaves the counts untouched.
    for (let n = 0; n < N; n++) {
      const label = labels[n]!;
      if (!Number.isInteger(label) || label < 0 || label >= C) {
        throw new TasksrError("E_TENSOR_ARG", `TopKAccuracy.update: label ${n} is ${label}, expected 0..${C - 1}`);
      }
    }
    const nan = scores.findIndex(Number.isNaN);
    if (nan >= 0) {
      throw new TasksrError("E_TENSOR_ARG", `TopKAccuracy.update: score [${Math.floor(nan / C)}, ${nan % C}] is NaN`);
    }
    for (let n = 0; n < N; n++) {
      const label = labels[n]!;
      const row = n * C;
      const s = scores[row + label]!;
      let rank = 0;
      for (let j = 0; j < C; j++) {
        const v = scores[row + j]!;
        if (v > s || (v === s && j < label)) rank++;
      }
      for (let i = 0; i < this.ks.length; i++) if (rank < this.ks[i]!) this.correct[i]!++;
    }
    this.samples += N;
  }

  compute(): TopKSummary {
    const top: Record<number, number> = {};
    for (let i = 0; i < this.ks.length; i++) {
      top[this.ks[i]!] = this.samples === 0 ? Number.NaN : this.correct[i]! / this.samples;
    }
    return { samples: this.samples, top };
  }

  merge(other: this): void {
    this.mergeState(other.state());
  }

  /** `{settings: {numClasses, ks}, samples, correct}`, correct[i] = samples correct at ks[i]. */
  state(): unknown {
    return { settings: this.settings(), samples: this.samples, correct: Array.from(this.correct) };
  }

  mergeState(s: unknown): void {
    const where = "TopKAccuracy.mergeState";
    const r = stateFields(s, where, this.settings());
    const samples = numberField(r, "samples", where, "count");
    const correct = numbersField(r, "correct", where, { length: this.ks.length, kind: "count" });
    for (let i = 0; i < correct.length; i++) this.correct[i]! += correct[i]!;
    this.samples += samples;
  }

  private settings(): { numClasses: number; ks: number[] } {
    return { numClasses: this.numClasses, ks: [...this.ks] };
  }

  reset(): void {
    this.correct.fill(0);
    this.samples = 0;
  }
}
