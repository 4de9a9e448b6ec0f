/** Options shared by the synthetic generators, the per-sample seeding, and bounded-concurrency writing. */
import { z } from "zod";
import { Rng } from "../transforms/rng.js";

export type SyntheticTask = "classification" | "segmentation" | "detection";
export type SyntheticSplit = "train" | "val";

const TASK_KEY: Record<SyntheticTask, number> = { classification: 1, segmentation: 2, detection: 3 };
const SPLIT_KEY: Record<SyntheticSplit, number> = { train: 0, val: 1 };

/** The random stream of one sample: a pure function of (seed, task, split, index), so files never depend on order. */
export const sampleRng = (seed: number, task: SyntheticTask, split: SyntheticSplit, index: number): Rng =>
  new Rng(seed, TASK_KEY[task], SPLIT_KEY[split], index);

/** The option fields every generator takes, with per-task default counts and sizes. */
export const commonFields = (defaults: { train: number; val: number; size: number }) => ({
  /** Everything drawn derives from it. */
  seed: z.number().int().min(0).max(0xffffffff).default(0),
  /** Number of training images. */
  train: z.number().int().min(1).max(1_000_000).default(defaults.train),
  /** Number of validation images. */
  val: z.number().int().min(1).max(1_000_000).default(defaults.val),
  /** HR side in pixels (square images). */
  size: z.number().int().min(16).max(4096).default(defaults.size),
  /** SR factor the data is made for; `size` must be a multiple of it, so LR images are exactly size / scale. */
  scale: z.number().int().min(1).max(8).default(4),
});

/** The cross-field check of the common options (for `superRefine`). */
export function checkCommon(o: { size: number; scale: number }, ctx: z.RefinementCtx): void {
  if (o.size % o.scale !== 0) {
    ctx.addIssue({
      code: "custom",
      path: ["size"],
      message: `must be a multiple of scale (${o.scale}), got ${o.size}`,
    });
  }
}

/** Runs `fn(0..n-1)` with at most `limit` calls in flight (image encoding runs on sharp's thread pool). */
export async function forEachLimited(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}
