/**
 * DataLoader: seeded batch plans, per-sample augmentation streams, background prefetch, resume.
 *
 * Determinism: the batch plan depends only on (seed, epoch) and each sample's augmentation only on
 * (seed, epoch, dataset index), so the batches are identical for any prefetch depth and when an epoch is resumed
 * at a batch index.
 *
 * Prefetch: while the consumer works on batch b, the samples of batches b+1..b+prefetch are being read and
 * augmented. With `workers: 0` decoding runs on the libuv thread pool and augmentation on the main thread between
 * the consumer's awaits; with `workers: N` (worker threads, pool.ts) whole batches are decoded, augmented and
 * assembled off the main thread — also while the consumer's step holds it — `prefetch` batches per worker in flight,
 * as PyTorch's prefetch_factor. Engine tensors are made only when a batch is handed out, so no tensors are ever in
 * flight: breaking out of the loop leaks nothing, and the yielded batch is owned by the consumer (see collate.ts).
 * Before each batch the event loop gets a turn, whatever the dataset, so that a consumer stays responsive to signals.
 */
import { check, TasksrError } from "../../errors.js";
import { workerModules } from "../../plugins.js";
import { datasetDescription, transformDescription } from "../describe.js";
import { identity, type Transform } from "../transforms/compose.js";
import { Rng } from "../transforms/rng.js";
import type { Dataset, Sample, Target } from "../types.js";
import type { TaskCollate } from "./collate.js";
import { WorkerPool } from "./pool.js";
import {
  aspectRatioGroups,
  epochOrder,
  groupedBatches,
  padToWorld,
  type Shard,
  sequentialBatches,
  shardBatches,
} from "./sampler.js";
import type { WorkerInit } from "./worker.js";

export interface DataLoaderOptions<T extends Target, B> {
  batchSize: number;
  /** Turns the samples of one batch into the batch (e.g. collateFor(task, { device })). */
  collate: (samples: Sample<T>[]) => B;
  /** Per-sample augmentation (default identity). */
  transform?: Transform;
  /** Seeded reshuffle every epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Seed of the shuffles and augmentation streams (default 0). */
  seed?: number;
  /** Drop the last incomplete batch (default false; ignored with grouping, which always drops). */
  dropLast?: boolean;
  /** Batches loaded ahead of the one being consumed (default 2; 0 loads on demand); per worker with workers. */
  prefetch?: number;
  /**
   * Worker threads that load whole batches (default 0: the main thread). Needs a dataset and transform made from a
   * config (createDataset, dataset views, presetFor) and a task collate (collateFor), which the workers rebuild.
   */
  workers?: number;
  /** Heap limit of each worker thread in MB (V8's old generation; default Node's): a worker past it dies. */
  workerHeapMb?: number;
  /**
   * Aspect-ratio grouping factor k (torchvision GroupedBatchSampler; the detection reference uses 3): batches
   * are drawn from one aspect-ratio bin. Sizes come from `dataset.size(i)` when available, else from decoding.
   */
  groupFactor?: number;
  /**
   * Distributed training: `batchSize` is per process; the epoch (padded to a multiple of the world size) is planned
   * in global batches of world * batchSize and this rank loads its contiguous part of each (sampler.ts shardBatches).
   */
  shard?: Shard;
  /**
   * Distributed evaluation: this rank loads every world-th batch of the one-process plan (batches b with
   * b % world = rank), so that batch composition, padding and LR noise (seeded per batch) equal one process's and
   * the merged metrics are exactly the one-process numbers.
   */
  strided?: Shard;
}

interface Loaded<B> {
  finish(): B;
  discard(): void;
}

export interface EpochOptions {
  /** First batch to load (resume inside an epoch). */
  startBatch?: number;
}

export class DataLoader<T extends Target, B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly prefetch: number;
  readonly workers: number;
  readonly #o: DataLoaderOptions<T, B>;
  #groups: Promise<number[]> | undefined;
  #pool: WorkerPool | undefined;

  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B>) {
    const { batchSize } = options;
    const prefetch = options.prefetch ?? 2;
    check(Number.isInteger(batchSize) && batchSize >= 1, () => `batchSize must be >= 1, got ${batchSize}`, "E_CONFIG");
    check(Number.isInteger(prefetch) && prefetch >= 0, () => `prefetch must be >= 0, got ${prefetch}`, "E_CONFIG");
    const workers = options.workers ?? 0;
    check(Number.isInteger(workers) && workers >= 0, () => `workers must be >= 0, got ${workers}`, "E_CONFIG");
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.prefetch = prefetch;
    this.workers = workers;
    this.#o = options;
    if (workers > 0) this.#workerInit();
  }

  /** What the worker threads rebuild; E_DATA_WORKER when a part was made in code. */
  #workerInit(): WorkerInit {
    const dataset = datasetDescription(this.dataset);
    const t = this.#o.transform;
    const transform = t === undefined ? undefined : transformDescription(t);
    const collate = this.#o.collate as Partial<TaskCollate>;
    const missing = !dataset
      ? "the dataset was made in code, not by createDataset from a config"
      : t !== undefined && !transform
        ? "the transform was made in code, not by presetFor"
        : typeof collate.task !== "string"
          ? "the collate function is not a task collate (collateFor)"
          : undefined;
    if (missing) {
      throw new TasksrError(
        "E_DATA_WORKER",
        `data.workers: ${this.workers} worker threads cannot rebuild this loader: ${missing}; use workers: 0`,
      );
    }
    const assemble = { scale: collate.options!.scale };
    const modules = workerModules();
    return { dataset: dataset!, transform, task: collate.task!, modules, assemble, seed: this.#o.seed ?? 0 };
  }

  /** Stops the worker threads (a no-op without them). The loader can be iterated again afterwards. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.close();
  }

  get #world(): number {
    return this.#o.shard?.world ?? 1;
  }

  /** Batches per epoch (global batches of world * batchSize when sharded; this rank's when strided). */
  get length(): number {
    const st = this.#o.strided;
    if (st) return Math.max(0, Math.ceil((this.#oneProcessLength() - st.rank) / st.world));
    return this.#oneProcessLength();
  }

  #oneProcessLength(): number {
    const w = this.#world;
    const n = Math.ceil(this.dataset.length / w) * w;
    const global = this.batchSize * w;
    if (this.#o.groupFactor !== undefined || this.#o.dropLast) return Math.floor(n / global);
    return Math.ceil(n / global);
  }

  /** Aspect-ratio group of every image, computed once. */
  #groupIds(factor: number): Promise<number[]> {
    this.#groups ??= (async () => {
      const ds = this.dataset;
      const sizes: { width: number; height: number }[] = [];
      // Bounded concurrency: size() may open files.
      for (let i = 0; i < ds.length; i += 64) {
        const chunk = Array.from({ length: Math.min(64, ds.length - i) }, (_, k) => i + k);
        sizes.push(...(await Promise.all(chunk.map((j) => (ds.size ? ds.size(j) : ds.get(j).then((s) => s.image))))));
      }
      return aspectRatioGroups(sizes, factor);
    })();
    return this.#groups;
  }

  /** The dataset indices of every batch of `epoch` (this rank's part of them when sharded). */
  async plan(epoch: number): Promise<number[][]> {
    check(Number.isInteger(epoch) && epoch >= 0, () => `epoch must be an integer >= 0, got ${epoch}`, "E_CONFIG");
    const shard = this.#o.shard;
    const w = this.#world;
    const full = epochOrder(this.dataset.length, this.#o.shuffle ?? false, this.#o.seed ?? 0, epoch);
    const order = w > 1 ? padToWorld(full, w) : full;
    const global = this.batchSize * w;
    const plan =
      this.#o.groupFactor !== undefined
        ? groupedBatches(order, await this.#groupIds(this.#o.groupFactor), global)
        : sequentialBatches(order, global, this.#o.dropLast ?? false);
    const st = this.#o.strided;
    if (st) return plan.filter((_, b) => b % st.world === st.rank);
    return shard && w > 1 ? shardBatches(plan, shard) : plan;
  }

  async #load(indices: readonly number[], epoch: number): Promise<Sample<T>[]> {
    const transform = this.#o.transform ?? identity;
    const seed = this.#o.seed ?? 0;
    return Promise.all(indices.map(async (i) => transform(await this.dataset.get(i), new Rng(seed, epoch, i))));
  }

  /**
   * A batch being loaded, to be finished into B when it is handed out (collate, or upload of a host batch), or
   * discarded when the epoch stops early (a worker's shared buffers go back to it).
   */
  #start(indices: number[], epoch: number, b: number): Promise<Loaded<B>> {
    if (this.workers === 0) {
      return this.#load(indices, epoch).then((samples) => ({ finish: () => this.#o.collate(samples), discard() {} }));
    }
    this.#pool ??= new WorkerPool(this.workers, this.#workerInit(), this.#o.workerHeapMb);
    const pool = this.#pool;
    const collate = this.#o.collate as unknown as TaskCollate;
    return pool.load(epoch, indices, `batch ${b} of epoch ${epoch}`).then((host) => ({
      finish: () => {
        try {
          return collate.upload(host, pool.sharedImages(host)) as B;
        } finally {
          pool.release(host);
        }
      },
      discard: () => pool.release(host),
    }));
  }

  /** The batches of `epoch` (from `startBatch` on), loaded `prefetch` batches ahead. */
  async *epoch(epoch: number, o: EpochOptions = {}): AsyncGenerator<B, void, undefined> {
    const start = o.startBatch ?? 0;
    const plan = await this.plan(epoch);
    check(
      Number.isInteger(start) && start >= 0 && start <= plan.length,
      () => `startBatch must be in [0, ${plan.length}], got ${start}`,
      "E_CONFIG",
    );
    const pending: Promise<Loaded<B>>[] = [];
    let next = start;
    const fill = (inFlight: number) => {
      while (pending.length < inFlight && next < plan.length) {
        const p = this.#start(plan[next]!, epoch, next);
        next++;
        // Errors surface when the batch is awaited; this only stops an early break from leaving them unhandled.
        p.catch(() => {});
        pending.push(p);
      }
    };
    // Without workers: the batch awaited plus `prefetch` ahead; with them, `prefetch` per worker (at least one).
    const depth = this.workers === 0 ? this.prefetch + 1 : Math.max(1, this.prefetch) * this.workers;
    try {
      for (let b = start; b < plan.length; b++) {
        fill(depth);
        const loaded = await pending.shift()!;
        // Workers stay busy while the consumer works; the main thread keeps `prefetch` ahead.
        fill(this.workers === 0 ? depth - 1 : depth);
        // In-memory datasets (IDX) resolve without any I/O, so a whole epoch would otherwise run in microtasks: the
        // event loop never turns and signal handlers (Ctrl-C, SIGTERM), timers and IPC events never run.
        await new Promise<void>((resolve) => setImmediate(resolve));
        yield loaded.finish();
      }
    } finally {
      // A consumer that stops early (break, error) leaves batches in flight: they are dropped as they arrive.
      for (const p of pending)
        p.then(
          (l) => l.discard(),
          () => {},
        );
    }
  }

  /** Iterates epoch 0 (use `epoch(e)` for training loops). */
  [Symbol.asyncIterator](): AsyncGenerator<B, void, undefined> {
    return this.epoch(0);
  }
}
