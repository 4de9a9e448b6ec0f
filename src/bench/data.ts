/**
 * Data-pipeline benchmark: images per second through each task's training input pipeline as the trainer builds it
 * (dataset decode -> train transform preset -> collate into tensors, by the DataLoader with its prefetch), on the
 * synthetic datasets. The trees are generated once into a cache folder and reused.
 */
import { join } from "node:path";
import { createDataset } from "../data/datasets/registry.js";
import { type Batch, collateFor, disposeBatch } from "../data/loader/collate.js";
import { DataLoader } from "../data/loader/loader.js";
import { ensureSynthetic } from "../data/synthetic/index.js";
import type { Transform } from "../data/transforms/compose.js";
import { classificationPreset, detectionPreset, segmentationPreset } from "../data/transforms/presets.js";
import type { Target } from "../data/types.js";

export const DATA_BENCH_CONFIGS = ["classification", "segmentation", "detection"] as const;
export type DataBenchConfig = (typeof DATA_BENCH_CONFIGS)[number];

export interface DataBenchOptions {
  configs: readonly DataBenchConfig[];
  /** Folder holding the generated trees (one sub-folder per task). */
  cacheDir: string;
  /** Training images per task (one timed epoch). */
  images: number;
  batchSize: number;
  /** Batches in flight ahead of the consumer (the trainer's `data.prefetch`, default 2). */
  prefetch: number;
}

export interface DataBenchRow {
  name: DataBenchConfig;
  images: number;
  seconds: number;
  images_per_s: number;
}

/** The training transform of each task at the synthetic data's native size (what configs/synthetic use). */
function trainTransform(task: DataBenchConfig, size: number): Transform {
  switch (task) {
    case "classification":
      return classificationPreset("train", { resize: size, crop: size });
    case "segmentation":
      return segmentationPreset("train", { resize: size, crop: size });
    case "detection":
      return detectionPreset("train");
  }
}

async function benchOne(task: DataBenchConfig, o: DataBenchOptions): Promise<DataBenchRow> {
  // The smallest validation split each generator accepts: only the training split is timed.
  const synth = await ensureSynthetic(task, join(o.cacheDir, task), { train: o.images, val: 10 });
  const size = (synth.options as { size: number }).size;
  const dataset = await createDataset(synth.train, { where: `bench.${task}` });
  const loader = new DataLoader<Target, Batch>(dataset, {
    batchSize: o.batchSize,
    collate: collateFor(task, { scale: 4 }),
    transform: trainTransform(task, size),
    shuffle: true,
    seed: 0,
    dropLast: false,
    prefetch: o.prefetch,
    // As the trainer: detection batches come from aspect-ratio groups.
    groupFactor: task === "detection" ? 3 : undefined,
  });
  // Warm-up (decoder start-up, first allocations), not timed.
  for await (const b of loader.epoch(0)) {
    disposeBatch(b);
    break;
  }
  let images = 0;
  const t0 = performance.now();
  for await (const b of loader.epoch(1)) {
    images += b.ids.length;
    disposeBatch(b);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { name: task, images, seconds, images_per_s: images / seconds };
}

export async function runDataBench(o: DataBenchOptions): Promise<DataBenchRow[]> {
  const rows: DataBenchRow[] = [];
  for (const task of o.configs) rows.push(await benchOne(task, o));
  return rows;
}
