/**
 * The data of a run config, shared by training, `tasksr eval`, the web page and the benches: the task's transform
 * presets, the validation subset, the evaluation LR synthesis and the number of data worker threads.
 */
import { availableParallelism } from "node:os";
import type { RunConfig } from "../config/schema.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import { getTaskData, presetFor } from "../tasks/data.js";
import { subsetDataset } from "./datasets/subset.js";
import { Degradation } from "./degrade/pipeline.js";
import type { Shard } from "./loader/sampler.js";
import type { Transform } from "./transforms/compose.js";
import type { Dataset, Target } from "./types.js";

/** Seed of the evaluation LR noise stream (independent of train.seed). */
const EVAL_DEGRADE_SEED = 0;

/** The task's training and evaluation presets from `data.transforms`, validated by the task's preset schema. */
export function presets(cfg: RunConfig): { train: Transform; val: Transform } {
  const parsed = getTaskData(cfg.task).presets.schema.safeParse(cfg.data.transforms);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `data.transforms.${i.path.join(".")}: ${i.message}`).join("; ");
    throw new TasksrError("E_CONFIG", msg);
  }
  const o = parsed.data;
  return { train: presetFor(cfg.task, "train", o), val: presetFor(cfg.task, "eval", o) };
}

/**
 * Data worker threads of a loader: `data.workers`, else the cores of this process (the machine's split between the
 * processes of a distributed job on it) less the main thread.
 */
export function dataWorkers(cfg: RunConfig, localWorld = 1): number {
  return cfg.data.workers ?? Math.max(0, Math.floor(availableParallelism() / localWorld) - 1);
}

/** Seed of the valLimit subset: one subset for every run, so that runs are judged on the same images. */
const VAL_SUBSET_SEED = 0;

/** The images every evaluation of a run uses: the valLimit subset, cut to eval.limit and an extra `limit`. */
export function validationSet<T extends Target>(full: Dataset<T>, cfg: RunConfig, limit?: number): Dataset<T> {
  const ds = cfg.data.valLimit ? subsetDataset(full, cfg.data.valLimit, VAL_SUBSET_SEED) : full;
  const n = Math.min(limit ?? Number.POSITIVE_INFINITY, cfg.eval.limit ?? Number.POSITIVE_INFINITY);
  return Number.isFinite(n) ? subsetDataset(ds, n) : ds;
}

/**
 * The LR synthesis of evaluations: its noise is seeded per batch (the k-th batch of the validation plan from seed
 * k), alike for every run and every evaluation, so all settings and epochs (and `tasksr eval` afterwards) are judged
 * on the same LR images, evaluating does not shift the training noise, and a rank that evaluates every world-th
 * batch (`shard`) draws exactly the noise one process would.
 */
export function evalDegradation(cfg: RunConfig, shard?: Shard): (hr: Tensor) => Promise<Tensor> {
  const d = new Degradation({ ...cfg.degrade, scale: cfg.scale, seed: EVAL_DEGRADE_SEED });
  let k = 0;
  return (hr) => {
    d.reseed(EVAL_DEGRADE_SEED + (shard ? shard.rank + k * shard.world : k));
    k++;
    return d.apply(hr);
  };
}
