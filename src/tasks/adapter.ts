/**
 * The task adapter: everything the recipes need from a task, so that a recipe is written once for all tasks.
 * A task registers its adapter with `defineTask` (src/tasks/registry.ts); no recipe changes.
 */
import type { Batch } from "../data/loader/collate.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { Module } from "../nn/module.js";

export type { Batch };

export interface LossTerms {
  /** Scalar to back-propagate. */
  total: Tensor;
  /** Named parts for logging. */
  parts: Record<string, Tensor>;
}

/** Accumulates the task metric over evaluation batches. */
export interface TaskEvaluator {
  /** Name of the headline metric (top1, mIoU, AP). */
  readonly primary: string;
  /** Runs the network (eval mode, no grad) on images x and accumulates against the batch's targets. */
  update(x: Tensor, batch: Batch): void;
  /** All metric values, in percent where the papers use percent. */
  compute(): Record<string, number>;
  /**
   * JSON snapshot of what was accumulated, for distributed evaluation: JSON.parse(JSON.stringify(s)) deep-equals it
   * (see Accumulator.state in metrics/accumulator.ts).
   */
  state(): unknown;
  /**
   * Adds a `state()` of an evaluator of the same adapter settings, so that rank 0 merging every rank's state computes
   * the numbers of one process fed all ranks' batches in rank order. E_TENSOR_ARG if `s` does not fit.
   */
  mergeState(s: unknown): void;
}

export interface ParamGroup {
  params: Tensor[];
  /** Multiplier on the optimizer's base lr (SR4IR segmentation: the aux head gets x10). */
  lrMult: number;
}

export interface TaskAdapter {
  readonly task: string;
  /** The trainable network (for optimizers, checkpoints, train()/eval(), freezing). */
  readonly net: Module<never[], unknown>;
  /** Tap names the network offers for the TDP loss. */
  readonly tapNames: readonly string[];
  /** Task loss of the network on images x for the batch's targets (A6.3), in the network's current mode. */
  loss(x: Tensor, batch: Batch): LossTerms;
  /** Named feature maps of x (for TDP), in the network's current mode; `batch` supplies per-image sizes. */
  taps(x: Tensor, names: readonly string[], batch: Batch): Map<string, Tensor>;
  paramGroups(): ParamGroup[];
  evaluator(): TaskEvaluator;
}

/** Narrows a batch to the adapter's task (`expectBatch<DenseBatch>(batch, "dense")`), failing on another task's. */
export function expectBatch<B extends Batch>(batch: Batch, task: B["task"]): B {
  if (batch.task !== task) throw new TasksrError("E_TENSOR_ARG", `a ${task} adapter received a ${batch.task} batch`);
  return batch as B;
}
