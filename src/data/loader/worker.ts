/**
 * A data worker thread: rebuilds the loader's dataset and transform from their descriptions (describe.ts), then
 * answers each request { id, epoch, indices } with the host batch of those samples: its images and masks in shared
 * buffers (shared_arrays.ts), which the main thread frees through their shared flags, its small arrays transferred. Each
 * sample is augmented from its own stream Rng(seed, epoch, index), exactly as on the main thread, so the batches do
 * not depend on which thread made them. The engine is never loaded here.
 */
import { parentPort, workerData } from "node:worker_threads";
import { TasksrError } from "../../errors.js";
import { getTaskData, presetFor } from "../../tasks/builtin_data.js";
import { createDataset } from "../datasets/registry.js";
import { view } from "../datasets/subset.js";
import type { DatasetDescription, TransformDescription } from "../describe.js";
import { identity, type Transform } from "../transforms/compose.js";
import { Rng } from "../transforms/rng.js";
import type { Dataset } from "../types.js";
import { type AssembleOptions, smallBuffers } from "./host_batch.js";
import { WorkerSharedArrays } from "./shared_arrays.js";

export interface WorkerInit {
  dataset: DatasetDescription;
  transform?: TransformDescription;
  task: string;
  /**
   * Modules to import first: plug-ins' worker modules (src/plugins.ts), which register their datasets and task data
   * sides without the engine.
   */
  modules: string[];
  /** The task collate's assembly options (detection's SR scale). */
  assemble: AssembleOptions;
  seed: number;
}

export interface WorkerRequest {
  id: number;
  epoch: number;
  indices: number[];
}

/** An error as it crosses the thread boundary (structured clone keeps no error code). */
export interface WorkerError {
  code?: string;
  message: string;
}

export const toWorkerError = (err: unknown): WorkerError =>
  err instanceof TasksrError
    ? { code: err.code, message: err.message }
    : { message: err instanceof Error ? err.message : String(err) };

async function open(d: DatasetDescription): Promise<Dataset> {
  const ds = await createDataset(d.config, { where: d.where });
  return d.indices ? view(ds, d.indices) : ds;
}

const port = parentPort!;
const init = workerData as WorkerInit;
const ready: Promise<{ ds: Dataset; transform: Transform }> = (async () => {
  for (const m of init.modules) await import(m);
  const ds = await open(init.dataset);
  const t = init.transform;
  return { ds, transform: t ? presetFor(t.task, t.split, t.options) : identity };
})();
// Failing to open is reported once, with the request that first needs the dataset.
ready.catch(() => {});

const shared = new WorkerSharedArrays();

async function answer(req: WorkerRequest): Promise<void> {
  try {
    const { ds, transform } = await ready;
    const samples = await Promise.all(
      req.indices.map(async (i) => transform(await ds.get(i), new Rng(init.seed, req.epoch, i))),
    );
    const packed = shared.pack((arrays) => getTaskData(init.task).assemble(samples, init.assemble, arrays));
    port.postMessage({ id: req.id, packed }, smallBuffers(packed.host));
  } catch (err) {
    port.postMessage({ id: req.id, error: toWorkerError(err) });
  }
}

// Requests are answered one after another, in the order they came: the main thread needs the oldest first, and
// batches loaded side by side share this thread, so the oldest would finish later than it has to.
let queue: Promise<void> = Promise.resolve();

port.on("message", (req: WorkerRequest) => {
  queue = queue.then(() => answer(req));
});
