/**
 * Data-pipeline benchmark: images per second through each task's training input pipeline as the trainer builds it
 * (dataset decode -> train transform preset -> collate into tensors, by the DataLoader with its prefetch and worker
 * threads), against the same pipeline in PyTorch (tools/bench/data_torch.py: PIL, torchvision, torch DataLoader) with
 * the same number of workers, in the same run.
 *
 * Configs: the real-size ones (default) run on 640x480 JPEGs with masks and boxes (data_trees.ts) with the trainer's
 * reference sizes (classification resize 256 + crop 224, segmentation resize 520 + crop 480, detection flip only);
 * the `synthetic-*` ones on the small synthetic sets at their native size (tasksr side only). `overlap` runs the
 * segmentation loader beside a stand-in training step that holds the main thread, and PyTorch's beside the same.
 *
 * Each measurement is repeated `rounds` times, tasksr and PyTorch alternating, and the fastest epoch of each side is
 * kept: on a shared machine other load only ever slows an epoch (single epochs of the same code varied by 15-30 %
 * on the 2-core VM this was written on), and alternating exposes both sides to the same drift.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDataset } from "../data/datasets/registry.js";
import { type Batch, collateFor, disposeBatch } from "../data/loader/collate.js";
import { DataLoader } from "../data/loader/loader.js";
import { ensureSynthetic } from "../data/synthetic/index.js";
import type { PresetOptions } from "../data/transforms/presets.js";
import type { Dataset, Target, Task } from "../data/types.js";
import "../tasks/index.js";
import { TasksrError } from "../errors.js";
import { getTaskData, presetFor } from "../tasks/data.js";
import { findTorchPython } from "./child.js";
import { ensureRealSizeTree } from "./data_trees.js";

export const DATA_BENCH_CONFIGS = [
  "classification",
  "segmentation",
  "detection",
  "synthetic-classification",
  "synthetic-segmentation",
  "synthetic-detection",
] as const;
export type DataBenchConfig = (typeof DATA_BENCH_CONFIGS)[number];

const TORCH_SCRIPT = join(fileURLToPath(new URL("../../..", import.meta.url)), "tools", "bench", "data_torch.py");

export interface DataBenchOptions {
  configs: readonly DataBenchConfig[];
  /** Folder holding the generated trees. */
  cacheDir: string;
  /** Images per tree (one timed epoch). */
  images: number;
  batchSize: number;
  /** Batches in flight ahead of the consumer, per worker with workers (the trainer's `data.prefetch`). */
  prefetch: number;
  /** Worker-thread counts to measure (PyTorch: num_workers). */
  workers: readonly number[];
  /** Run the PyTorch side (when tools/bench/data_torch.py and a Python with torch exist). */
  torch: boolean;
  /** Stand-in step of the overlap measurement in ms per batch (none when undefined). */
  stepMs?: number;
  /** Worker threads of the overlap measurement. */
  overlapWorkers: number;
  /** Timed epochs per measurement and side; the fastest is reported. */
  rounds: number;
  onRow?: (row: DataBenchRow) => void;
}

export interface DataBenchRow {
  name: DataBenchConfig;
  workers: number;
  images: number;
  seconds: number;
  images_per_s: number;
  torch_images_per_s: number | null;
  ratio: number | null;
}

export interface OverlapResult {
  config: "segmentation";
  workers: number;
  step_ms: number;
  /** Throughput of the loader beside the step. */
  images_per_s: number;
  /** min(loader alone, step alone). */
  ideal_images_per_s: number;
  loader_images_per_s: number;
  step_images_per_s: number;
  /** PyTorch's loader with as many workers beside the same stand-in step (null without the PyTorch side). */
  torch_images_per_s: number | null;
  torch_loader_images_per_s: number | null;
}

export interface DataBenchResult {
  configs: DataBenchRow[];
  overlap: OverlapResult | null;
  torch: string | null;
}

/** The preset sizes of the real-size pipelines: those of the torchvision references data_torch.py mirrors. */
const REFERENCE_PRESETS: Record<Task, PresetOptions> = {
  classification: { resize: 256, crop: 224 },
  segmentation: { resize: 520, crop: 480 },
  detection: {},
};

interface Pipeline {
  task: Task;
  dataset: Dataset;
  preset: PresetOptions;
  /** Arguments of the PyTorch script; undefined for tasksr-only configs. */
  torchArgs?: string[];
}

async function pipeline(name: DataBenchConfig, o: DataBenchOptions): Promise<Pipeline> {
  if (name.startsWith("synthetic-")) {
    const task = name.slice("synthetic-".length) as Task;
    // The smallest validation split each generator accepts: only the training split is timed.
    const synth = await ensureSynthetic(task, join(o.cacheDir, task), { train: o.images, val: 10 });
    const size = (synth.options as { size: number }).size;
    const dataset = await createDataset(synth.train, { where: `bench.${name}` });
    // Padded tasks (detection) train on whole images.
    return { task, dataset, preset: getTaskData(task).padded ? {} : { resize: size, crop: size } };
  }
  const task = name as Task;
  const tree = await ensureRealSizeTree(join(o.cacheDir, `real-size-${o.images}`), o.images);
  const dataset = await createDataset(tree[task], { where: `bench.${name}` });
  const preset = REFERENCE_PRESETS[task];
  const root = task === "classification" ? tree.classification.root : tree.root;
  const torchArgs = [
    "--task",
    task,
    "--root",
    root,
    "--resize",
    String(preset.resize ?? 0),
    "--crop",
    String(preset.crop ?? 0),
  ];
  if (task === "detection")
    torchArgs.push("--images-dir", tree.detection.images, "--annotations", tree.detection.annotations);
  return { task, dataset, preset, torchArgs };
}

let spinSink = 0;

/**
 * Busy-waits `ms` on the main thread: a training step as the loader sees it, one core busy and the thread unable to
 * run anything else. The clock is read every 10,000 iterations only: reading it allocates a heap number, and a loop
 * of reads made the main isolate collect garbage (on helper threads, beside the loader) every 40 ms, which a step
 * running in libtorch does not do.
 */
function holdMainThread(ms: number): void {
  const end = performance.now() + ms;
  let x = spinSink;
  do {
    for (let i = 0; i < 10_000; i++) x = (x * 1664525 + 1013904223) | 0;
  } while (performance.now() < end);
  spinSink = x;
}

/**
 * One timed epoch. `steady` (the overlap runs) starts the clock when the first batch arrives and counts the batches
 * after it: the throughput once the pipeline is full, without the latency of the epoch's first batch, which a short
 * benchmark epoch (16 batches) would otherwise charge to the overlap and a training epoch of thousands of batches
 * does not see.
 */
async function timeOurs(p: Pipeline, workers: number, o: DataBenchOptions, stepMs = 0, steady = false) {
  const loader = new DataLoader<Target, Batch>(p.dataset, {
    batchSize: o.batchSize,
    collate: collateFor(p.task, { scale: 4 }),
    transform: presetFor(p.task, "train", p.preset),
    shuffle: true,
    seed: 0,
    dropLast: false,
    prefetch: o.prefetch,
    workers,
    // As the trainer: detection batches come from aspect-ratio groups.
    groupFactor: getTaskData(p.task).padded ? 3 : undefined,
  });
  try {
    // Warm-up (worker start, decoder start-up, first allocations), not timed.
    for await (const b of loader.epoch(0)) {
      disposeBatch(b);
      break;
    }
    let images = 0;
    let t0 = performance.now();
    let first = true;
    for await (const b of loader.epoch(1)) {
      if (steady && first) t0 = performance.now();
      else images += b.ids.length;
      first = false;
      disposeBatch(b);
      if (stepMs > 0) holdMainThread(stepMs);
    }
    const seconds = (performance.now() - t0) / 1000;
    return { images, seconds, images_per_s: images / seconds };
  } finally {
    await loader.close();
  }
}

function timeTorch(
  python: string,
  p: Pipeline,
  workers: number,
  o: DataBenchOptions,
  stepMs = 0,
  steady = false,
): { ips: number; torch: string } {
  const args = [TORCH_SCRIPT, ...p.torchArgs!, "--batch", String(o.batchSize), "--workers", String(workers)];
  args.push("--prefetch", String(o.prefetch), "--step-ms", String(stepMs));
  if (steady) args.push("--steady");
  const r = spawnSync(python, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  const line = r.stdout
    ?.trim()
    .split("\n")
    .findLast((l) => l.startsWith("{"));
  if (r.status !== 0 || line === undefined) {
    throw new TasksrError("E_CLI_ARG", `bench data: ${python} ${args.join(" ")} failed:\n${r.stderr ?? ""}`);
  }
  const j = JSON.parse(line) as { images_per_s: number; torch: string };
  return { ips: j.images_per_s, torch: j.torch };
}

/** The fastest of `o.rounds` epochs of each side, the sides alternating; torch null without a PyTorch side. */
async function bestOf(
  o: DataBenchOptions,
  p: Pipeline,
  workers: number,
  python: string | undefined,
  stepMs = 0,
  steady = false,
): Promise<{
  ours: { images: number; seconds: number; images_per_s: number };
  torch: number | null;
  version?: string;
}> {
  let ours: { images: number; seconds: number; images_per_s: number } | undefined;
  let torch: number | null = null;
  let version: string | undefined;
  for (let r = 0; r < o.rounds; r++) {
    const t = await timeOurs(p, workers, o, stepMs, steady);
    if (!ours || t.images_per_s > ours.images_per_s) ours = t;
    if (python && p.torchArgs) {
      const v = timeTorch(python, p, workers, o, stepMs, steady);
      torch = Math.max(torch ?? 0, v.ips);
      version = v.torch;
    }
  }
  return { ours: ours!, torch, version };
}

export async function runDataBench(o: DataBenchOptions): Promise<DataBenchResult> {
  const python = o.torch && existsSync(TORCH_SCRIPT) ? findTorchPython() : undefined;
  let torchVersion: string | null = null;
  const rows: DataBenchRow[] = [];
  const pipelines = new Map<DataBenchConfig, Pipeline>();
  for (const name of o.configs) {
    const p = await pipeline(name, o);
    pipelines.set(name, p);
    for (const workers of o.workers) {
      const { ours, torch, version } = await bestOf(o, p, workers, python);
      torchVersion = version ?? torchVersion;
      const row: DataBenchRow = {
        name,
        workers,
        ...ours,
        torch_images_per_s: torch,
        ratio: torch === null ? null : ours.images_per_s / torch,
      };
      rows.push(row);
      o.onRow?.(row);
    }
  }
  let overlap: OverlapResult | null = null;
  if (o.stepMs !== undefined) {
    const p = pipelines.get("segmentation") ?? (await pipeline("segmentation", o));
    const alone = await bestOf(o, p, o.overlapWorkers, python, 0, true);
    const beside = await bestOf(o, p, o.overlapWorkers, python, o.stepMs, true);
    const step = (o.batchSize * 1000) / o.stepMs;
    overlap = {
      config: "segmentation",
      workers: o.overlapWorkers,
      step_ms: o.stepMs,
      images_per_s: beside.ours.images_per_s,
      ideal_images_per_s: Math.min(alone.ours.images_per_s, step),
      loader_images_per_s: alone.ours.images_per_s,
      step_images_per_s: step,
      torch_images_per_s: beside.torch,
      torch_loader_images_per_s: alone.torch,
    };
  }
  return { configs: rows, overlap, torch: torchVersion };
}
