/**
 * Recipes: one file per training setting of the papers, each written once against the TaskAdapter. The trainer
 * calls `step` once per batch; the recipe decides which networks run, which losses apply and which optimizers step.
 */

import type { z } from "zod";
import type { RunConfig } from "../../config/schema.js";
import type { Shard } from "../../data/loader/sampler.js";
import type { Generator } from "../../engine/creation.js";
import type { Tensor } from "../../engine/tensor.js";
import type { SrNetwork } from "../../models/types.js";
import type { Batch, TaskAdapter } from "../../tasks/adapter.js";
import type { Stepper } from "../stepper.js";
import type { jointConfig } from "./joint.js";
import type { hr2taskConfig, lr2taskConfig, sr2taskConfig, srFtConfig } from "./simple.js";
import type { sr4irConfig } from "./sr4ir.js";
import type { task2srConfig } from "./task2sr.js";

/** The config blocks of the seven built-in settings (a plug-in recipe's block is typed by its own schema). */
export type BuiltinRecipeConfig = z.output<
  | typeof hr2taskConfig
  | typeof lr2taskConfig
  | typeof srFtConfig
  | typeof sr2taskConfig
  | typeof task2srConfig
  | typeof jointConfig
  | typeof sr4irConfig
>;

export interface RecipeContext {
  readonly cfg: RunConfig;
  readonly sr: SrNetwork | undefined;
  readonly task: TaskAdapter;
  /** Optimizer wrappers (gradient accumulation, AMP loss scaling); undefined when the recipe does not train that net. */
  readonly srStep: Stepper | undefined;
  readonly taskStep: Stepper | undefined;
  /** Generator for CQMix masks (checkpointed, so resumed runs draw the same masks). */
  readonly cqmixGenerator: Generator;
  /** Optimizer steps taken so far (0-based index of the current iteration). */
  readonly iteration: number;
  /** 0-based epoch. */
  readonly epoch: number;
  readonly itersPerEpoch: number;
  /** Distributed training: the batch is this rank's part of a global batch (random draws are made per global batch). */
  readonly shard: Shard | undefined;
  /** Runs fn under the configured autocast (identity when AMP is off). */
  autocast<T>(fn: () => T): T;
}

/** Scalar loss values of one step, for logging. */
export type StepValues = Record<string, number>;

export interface Recipe {
  readonly name: string;
  /** One training iteration on a batch and its LR images ([N, 3, H/s, W/s], synthesised by the trainer, A4). */
  step(ctx: RecipeContext, batch: Batch, lr: Tensor): StepValues;
  /** The images the task network sees at test time for a batch (HR, upsampled LR or SR output). */
  testInput(ctx: RecipeContext, lr: Tensor, batch: Batch): Tensor;
  /** Whether the evaluation reports PSNR/SSIM of an SR output. */
  readonly producesSr: boolean;
}
