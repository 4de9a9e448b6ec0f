/**
 * Data-parallel scaling benchmark (`tasksr bench ddp`): a small real training config (edsr-tiny x4 SR-FT on
 * Fashion-MNIST, 64 x 64 HR crops) trained by `tasksr train` with 1 and with 2 processes of one thread each, and
 * PyTorch's DistributedDataParallel (gloo) training the same model at the same per-process batch and step count
 * (tools/bench/ddp_torch.py), in alternating rounds of one run. Reports images/s, the scaling efficiency
 * throughput(2) / (2 x throughput(1)) of each side, and how far 2 processes x batch B end from 1 process x batch 2B
 * on the same samples (the relative difference of all final SR weights).
 *
 * tasksr's steps include its input pipeline (decode-free in-memory IDX images, crops, LR synthesis) and PyTorch's
 * train on fixed tensors, so per-process speeds differ in what they cover; each side's efficiency compares it with
 * itself.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { loadSafetensors } from "../engine/safetensors.js";
import { TasksrError } from "../errors.js";
import { findTorchPython, median } from "./child.js";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const TORCH_SCRIPT = join(REPO, "tools", "bench", "ddp_torch.py");
const LR_SIZE = 16;
const SCALE = 4;

export interface DdpBenchOptions {
  /** Images per process per step. */
  batch: number;
  /** Timed steps (after the warm-up). */
  steps: number;
  warmup: number;
  rounds: number;
  noTorch?: boolean;
  onRound?: (msg: string) => void;
}

export interface DdpBenchResult {
  threads_per_process: 1;
  batch_per_process: number;
  steps: number;
  rounds: number;
  ours_images_per_s: { 1: number; 2: number };
  torch_images_per_s: { 1: number; 2: number } | null;
  ours_efficiency: number;
  torch_efficiency: number | null;
  /** ours_efficiency / torch_efficiency. */
  efficiency_ratio: number | null;
  /** ||w(2 x B) - w(1 x 2B)|| / ||w(1 x 2B)|| over all SR weights after the run's steps. */
  max_rel_weight_diff: number;
  torch: string | null;
}

/** The run config at `batch` images per process; `images` (the training subset) must be the same in runs compared. */
function config(batch: number, steps: number, warmup: number, images: number): Record<string, unknown> {
  return {
    name: "bench-ddp",
    task: "classification",
    scale: SCALE,
    device: "cpu",
    data: {
      train: { type: "idx", root: FMNIST, split: "train" },
      val: { type: "idx", root: FMNIST, split: "test" },
      transforms: { resize: LR_SIZE * SCALE, crop: LR_SIZE * SCALE, hflip: 0.5 },
      trainLimit: images,
      valLimit: 8,
    },
    sr: { arch: "edsr-tiny" },
    taskNet: { arch: "resnet-tiny" },
    recipe: { name: "sr-ft" },
    optim: { sr: { type: "adamw", lr: 5e-4 } },
    train: { epochs: 1, batchSize: batch, itersPerEpoch: steps + warmup, logEvery: 1000, seed: 0 },
    eval: { batchSize: 8, limit: 8, psnr: ["basicsr"], ssim: false },
  };
}

/**
 * Images/s over the steps after the warm-up, from the run's metrics.jsonl (each record carries the cumulative
 * images/s since the start, so two of them give the time between them).
 */
function throughput(run: string, warmup: number): number {
  const recs = readFileSync(join(run, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; iter: number; imgPerSec: number })
    .filter((r) => r.type === "train");
  const last = recs.at(-1)!;
  const first = recs[warmup - 1]!;
  const perIter = (r: (typeof recs)[number]) => r.iter;
  // images(k) = k * global batch; t(k) = images(k) / imgPerSec(k).
  const t = (r: (typeof recs)[number]) => perIter(r) / r.imgPerSec;
  return (perIter(last) - perIter(first)) / (t(last) - t(first));
}

function trainOurs(dir: string, cfg: Record<string, unknown>, nproc: number): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "bench.yaml");
  writeFileSync(path, stringify(cfg));
  const args = [join(REPO, "bin", "tasksr.js"), "train", "--config", path, "--out", dir];
  if (nproc > 1) args.push("--nproc-per-node", String(nproc));
  const r = spawnSync(process.execPath, args, {
    encoding: "utf8",
    env: { ...process.env, TASKSR_THREADS: "1", OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? "1" },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    throw new TasksrError(
      "E_DIST",
      `bench ddp: tasksr train with ${nproc} process(es) failed:\n${r.stderr}\n${r.stdout}`,
    );
  }
  return join(dir, "bench-ddp");
}

function trainTorch(python: string, world: number, o: DdpBenchOptions): { images_per_s: number; torch: string } {
  const args = [TORCH_SCRIPT, "--world", String(world), "--batch", String(o.batch), "--lr-size", String(LR_SIZE)];
  args.push("--scale", String(SCALE), "--steps", String(o.steps), "--warmup", String(o.warmup), "--threads", "1");
  const r = spawnSync(python, args, { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } });
  const line = r.stdout
    ?.trim()
    .split("\n")
    .findLast((l) => l.startsWith("{"));
  if (r.status !== 0 || line === undefined) {
    throw new TasksrError("E_DIST", `bench ddp: ${python} ${args.join(" ")} failed:\n${r.stderr ?? ""}`);
  }
  return JSON.parse(line) as { images_per_s: number; torch: string };
}

/** ||a - b|| / ||b|| over every floating-point tensor of two weight files. */
export function relWeightDiff(a: string, b: string): number {
  const fa = loadSafetensors(a);
  const fb = loadSafetensors(b);
  try {
    let diff = 0;
    let norm = 0;
    for (const [k, t] of fa.tensors) {
      const u = fb.tensors.get(k);
      if (u === undefined) throw new TasksrError("E_STATE_DICT", `${b} has no tensor ${k}`);
      if (!t.dtype.startsWith("float")) continue;
      diff += t.sub(u).pow(2).sum().item() as number;
      norm += u.pow(2).sum().item() as number;
    }
    return Math.sqrt(diff / norm);
  } finally {
    for (const t of [...fa.tensors.values(), ...fb.tensors.values()]) t.dispose();
  }
}

export function runDdpBench(o: DdpBenchOptions): DdpBenchResult {
  if (!existsSync(FMNIST)) {
    throw new TasksrError(
      "E_BAD_FILE",
      `bench ddp trains on Fashion-MNIST: ${FMNIST} is missing (apt-get install dataset-fashion-mnist)`,
    );
  }
  // The PyTorch side lives in the repository's tools/ (not in the npm package).
  const python = o.noTorch || !existsSync(TORCH_SCRIPT) ? undefined : findTorchPython();
  const root = join(tmpdir(), `tasksr-bench-ddp-${process.pid}`);
  const ours: Record<1 | 2, number[]> = { 1: [], 2: [] };
  const torch: Record<1 | 2, number[]> = { 1: [], 2: [] };
  let torchVersion: string | null = null;
  let diff = 0;
  // Enough images for every step at the largest global batch (2 x batch), in one epoch.
  const images = (o.steps + o.warmup) * 2 * o.batch;
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const w of [1, 2] as const) {
        const run = trainOurs(join(root, `r${round}-w${w}`), config(o.batch, o.steps, o.warmup, images), w);
        ours[w].push(throughput(run, o.warmup));
        if (w === 2 && round === 0) {
          // 1 process at twice the batch sees the same samples per step as the 2 processes together.
          const ref = trainOurs(join(root, "ref"), config(2 * o.batch, o.steps, o.warmup, images), 1);
          diff = relWeightDiff(join(run, "sr.safetensors"), join(ref, "sr.safetensors"));
        }
        if (python) {
          const t = trainTorch(python, w, o);
          torch[w].push(t.images_per_s);
          torchVersion = t.torch;
        }
      }
      o.onRound?.(
        `round ${round + 1}/${o.rounds}: tasksr ${ours[1].at(-1)!.toFixed(1)} / ${ours[2].at(-1)!.toFixed(1)} img/s` +
          (python ? `, PyTorch ${torch[1].at(-1)!.toFixed(1)} / ${torch[2].at(-1)!.toFixed(1)} img/s` : "") +
          " (1 / 2 processes)",
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const o1 = median(ours[1]);
  const o2 = median(ours[2]);
  const oursEff = o2 / (2 * o1);
  const torchIps = python ? { 1: median(torch[1]), 2: median(torch[2]) } : null;
  const torchEff = torchIps ? torchIps[2] / (2 * torchIps[1]) : null;
  return {
    threads_per_process: 1,
    batch_per_process: o.batch,
    steps: o.steps,
    rounds: o.rounds,
    ours_images_per_s: { 1: o1, 2: o2 },
    torch_images_per_s: torchIps,
    ours_efficiency: oursEff,
    torch_efficiency: torchEff,
    efficiency_ratio: torchEff === null ? null : oursEff / torchEff,
    max_rel_weight_diff: diff,
    torch: torchVersion,
  };
}
