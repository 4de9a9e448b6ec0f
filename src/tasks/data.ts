/**
 * The data side of a task: how its samples become a host batch and which transform presets it trains and evaluates
 * with. It never loads the engine, so data worker threads (src/data/loader/worker.ts) can rebuild a loader from it;
 * a plug-in task's data part lives in a module of its own (`workerModule` of src/plugins.ts) for the same reason.
 */
import type { z } from "zod";
import { describeTransform } from "../data/describe.js";
import type { ArraySource, AssembleOptions, HostBatch } from "../data/loader/host_batch.js";
import type { Transform } from "../data/transforms/compose.js";
import type { Split } from "../data/transforms/presets.js";
import type { Sample } from "../data/types.js";
import { TasksrError } from "../errors.js";

export interface TaskData<H extends HostBatch = HostBatch> {
  readonly name: string;
  /**
   * Batches hold whole images of different sizes, padded at the right/bottom to a multiple of the SR scale, with
   * each image's size in `sizes` (detection); the loader then draws batches from aspect-ratio groups.
   */
  readonly padded: boolean;
  /** The samples of one batch as a host batch (large arrays from `arrays`; small ones owning their buffers). */
  assemble(samples: readonly Sample[], o: AssembleOptions, arrays?: ArraySource): H;
  /** Transform presets, from `data.transforms` (validated by `schema`, errors naming the field). */
  readonly presets: {
    readonly schema: z.ZodType<Record<string, unknown>>;
    build(split: Split, options: Record<string, unknown>): Transform;
    /** The training crop the preset uses when `data.transforms.crop` is not set (checked against the SR scale). */
    readonly defaultCrop?: number;
  };
}

const defs = new Map<string, TaskData>();

export function defineTaskData<H extends HostBatch>(def: TaskData<H>): void {
  if (defs.has(def.name)) throw new TasksrError("E_CONFIG", `the data of task "${def.name}" is defined twice`);
  defs.set(def.name, def as unknown as TaskData);
}

export function getTaskData(name: string): TaskData {
  const d = defs.get(name);
  if (d === undefined) {
    throw new TasksrError("E_UNKNOWN_NAME", `unknown task "${name}"; known: ${[...defs.keys()].join(", ")}`);
  }
  return d;
}

export const hasTaskData = (name: string): boolean => defs.has(name);

/**
 * The trainer's preset of a task for a split, described (describe.ts) so that data worker threads rebuild the same
 * transform.
 */
export function presetFor(task: string, split: Split, options: object = {}): Transform {
  const t = getTaskData(task).presets.build(split, options as Record<string, unknown>);
  // compose() may return a shared function (identity); describe a wrapper of our own.
  const own: Transform = (s, rng) => t(s, rng);
  return describeTransform(own, { task, split, options: { ...options } });
}
