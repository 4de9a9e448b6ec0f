/**
 * The task adapter: everything the recipes need from a task, so that a recipe is written once for all tasks.
 * Adding a task (say, depth regression) means writing one adapter; no recipe changes.
 */

import type { Task } from "../../data/types.js";
import type { Tensor } from "../../engine/tensor.js";
import type { Module } from "../../nn/module.js";

/** A training/evaluation batch on the run's device. */
export interface Batch {
  /** HR images [N, 3, H, W] in [0, 1]; for detection padded to a multiple of the scale. */
  hr: Tensor;
  /** Task targets (classification: labels [N] int64; segmentation: masks [N, H, W] int64; detection: per image). */
  target: unknown;
  /** Detection: each image's [h, w] before padding (SR outputs are cropped back to it). */
  sizes?: readonly (readonly [number, number])[];
  /** Number of images. */
  n: number;
}

export interface LossTerms {
  /** Scalar to back-propagate. */
  total: Tensor;
  /** Named parts for logging (scalars, may include `total`'s components). */
  parts: Record<string, Tensor>;
}

/** Accumulates the task metric over evaluation batches. */
export interface TaskEvaluator {
  /** Name of the headline metric (top1, mIoU, AP, AP50). */
  readonly primary: string;
  /** Runs the network (in eval mode, no grad) on images x and accumulates against the batch's targets. */
  update(x: Tensor, batch: Batch): void;
  /** All metric values, e.g. {top1, top5} or {mIoU, pixelAcc} or COCO's 12 numbers. Percent where papers use %. */
  compute(): Record<string, number>;
}

export interface ParamGroup {
  params: Tensor[];
  /** Multiplier on the optimizer's base lr (SR4IR seg: the aux head gets x10). */
  lrMult: number;
}

export interface TaskAdapter {
  readonly task: Task;
  /** The trainable network (for optimizers, checkpoints, train()/eval()). */
  readonly net: Module<never[], unknown>;
  /** Tap names the network offers for the TDP loss. */
  readonly tapNames: readonly string[];
  /** Task loss of the network on images x for the batch's targets (A6.3). Respects the network's current mode. */
  loss(x: Tensor, batch: Batch): LossTerms;
  /** Named feature maps of x (for TDP), computed with the network's current mode. */
  taps(x: Tensor, names: readonly string[]): Map<string, Tensor>;
  paramGroups(): ParamGroup[];
  evaluator(): TaskEvaluator;
}
