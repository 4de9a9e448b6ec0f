/**
 * Tiny training runs for the recipe and resume tests: a 3-class ImageFolder tree of 40x40 PNGs, a run config on it
 * (edsr-tiny x4 + resnet-tiny, 32-px crops, batches of 4), parameter snapshots, stepper hooks and a live-tensor trace.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { deepMerge, validateRun } from "../../src/config/load.js";
import type { RunConfig } from "../../src/config/schema.js";
import { keep, manualSeed, memory, noGrad, saveSafetensors, scope, type Tensor } from "../../src/engine/index.js";
import "../../src/models/index.js";
import { type ArchKind, buildArch } from "../../src/models/registry.js";
import type { Module } from "../../src/nn/module.js";
import { type BuiltRun, buildRun } from "../../src/train/build.js";
import type { Stepper } from "../../src/train/stepper.js";
import { runTraining, type TrainResult } from "../../src/train/trainer.js";
import { pattern, putImage, tempDir } from "./data_trees.js";

type Net = Module<never[], unknown>;

/** train/{a,b,c}/{0..3}.png and val/{a,b,c}/{0,1}.png, 40x40; every image differs. */
export async function writeClassTree(): Promise<string> {
  const root = tempDir("train-cls");
  for (const [split, n] of [
    ["train", 4],
    ["val", 2],
  ] as const) {
    for (const [c, cls] of ["a", "b", "c"].entries()) {
      for (let i = 0; i < n; i++) await putImage(join(root, split, cls, `${i}.png`), pattern(40, 40, 10 * c + i));
    }
  }
  return root;
}

/**
 * The layout of writeClassTree (train/{a,b,c}/{0..3}.png, val/{a,b,c}/{0,1}.png, size x size) filled with seeded
 * noise. Not writeClassTree's periodic patterns: their exactly equal pixels make max-pool ties that float32 rounding
 * breaks either way, so that a run on another CPU kernel differs from itself by 1e-4 after a few steps; the
 * distributed tests compare runs that sum in another order and need noise images to stay comparable.
 */
export async function writeNoiseClassTree(name: string, size = 40): Promise<string> {
  const root = tempDir(name);
  let x = 12345;
  for (const [split, n] of [
    ["train", 4],
    ["val", 2],
  ] as const) {
    for (const cls of ["a", "b", "c"]) {
      for (let i = 0; i < n; i++) {
        const data = new Uint8Array(size * size * 3);
        for (let k = 0; k < data.length; k++) {
          x = (x * 1103515245 + 12345) % 2147483648;
          data[k] = x >>> 23;
        }
        await putImage(join(root, split, cls, `${i}.png`), { data, width: size, height: size, channels: 3 });
      }
    }
  }
  return root;
}

type Raw = Record<string, unknown>;

/**
 * A validated classification run on the tree at `root`: 3 batches of 4 per epoch (12 images), one epoch, a log
 * line per iteration, a 4-image evaluation without SSIM. `over` is merged into the raw config (deepMerge: `undefined` removes a key).
 */
export function tinyConfig(root: string, recipe: Raw, over: Raw = {}): RunConfig {
  const base: Raw = {
    name: "tiny",
    task: "classification",
    scale: 4,
    device: "cpu",
    data: {
      train: { type: "image-folder", root: join(root, "train") },
      val: { type: "image-folder", root: join(root, "val") },
      transforms: { resize: 36, crop: 32 },
      prefetch: 2,
    },
    sr: { arch: "edsr-tiny" },
    taskNet: { arch: "resnet-tiny" },
    recipe,
    optim: { sr: { type: "adamw", lr: 1e-3 }, task: { type: "sgd", lr: 0.05, weightDecay: 1e-4 } },
    train: { epochs: 1, batchSize: 4, logEvery: 1, seed: 3 },
    eval: { batchSize: 4, limit: 4, psnr: ["basicsr"], ssim: false },
  };
  return validateRun(deepMerge(base, over), "test config");
}

/** Writes the state dict of a seeded build of `arch` (the frozen networks of S→T and T→S) and returns its path. */
export function writeWeights(arch: string, kind: ArchKind, options: Raw, seed: number): string {
  manualSeed(seed);
  const net = buildArch(arch, options, kind);
  const path = join(tempDir("weights"), `${arch}.safetensors`);
  saveSafetensors(path, net.stateDict());
  net.dispose();
  return path;
}

/** Copies of a network's parameters and persistent buffers, owned by the caller (free with disposeAll). */
export function snapshot(net: Net): Map<string, Tensor> {
  return scope(() => noGrad(() => new Map([...net.stateDict()].map(([k, t]) => [k, keep(t.detach().clone())]))));
}

export function disposeAll(tensors: Iterable<Tensor | undefined>): void {
  for (const t of tensors) t?.dispose();
}

/** State-dict keys whose values differ (bit-wise) from the snapshot. */
export function changedKeys(before: ReadonlyMap<string, Tensor>, net: Net): string[] {
  return scope(() => [...net.stateDict()].filter(([k, t]) => !t.equal(before.get(k)!)).map(([k]) => k));
}

/** Parameter keys of a network that its optimizer trains (requiresGrad at build time). */
export const trainableKeys = (net: Net): string[] =>
  net
    .namedParameters()
    .filter(([, p]) => p.requiresGrad)
    .map(([k]) => k);

/** Asserts that every trainable parameter of each network differs from its snapshot. */
export function assertAllTrainablesChanged(
  pairs: readonly (readonly [ReadonlyMap<string, Tensor>, Net])[],
  what = "",
): void {
  for (const [before, net] of pairs) {
    const changed = changedKeys(before, net);
    assert.deepEqual(
      trainableKeys(net).filter((k) => !changed.includes(k)),
      [],
      `${what}: every trainable parameter changes`,
    );
  }
}

/** Runs `before` and `after` around every optimizer step of a stepper (after windowEnd checks, i.e. real steps). */
export function hookStep(s: Stepper, h: { before?: () => void; after?: () => void }): void {
  const step = s.step.bind(s);
  s.step = () => {
    if (!s.windowEnd) return step();
    h.before?.();
    step();
    h.after?.();
  };
}

/** Every parameter's gradient as float32 values (undefined where none): copies that hold no tensor. */
export const gradsOf = (net: Net): (Float32Array | undefined)[] =>
  scope(() => net.parameters().map((p) => p.grad?.contiguous().data<"float32">()));

const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/** Whether two gradient lists are bit-identical (same presence, same values). */
export function sameGrads(a: readonly (Float32Array | undefined)[], b: readonly (Float32Array | undefined)[]): boolean {
  return (
    a.length === b.length &&
    a.every((g, i) => (g === undefined ? b[i] === undefined : !!b[i] && bytes(g).equals(bytes(b[i]!))))
  );
}

export interface TinyRun {
  result: TrainResult;
  /** Live tensors after each iteration (read at its log line). */
  live: number[];
  lines: string[];
  runDir: string;
}

/** Trains a built run in a fresh run folder, tracing live tensors per iteration. */
export async function train(p: BuiltRun, o: { stopAfterIters?: number } = {}): Promise<TinyRun> {
  const live: number[] = [];
  const lines: string[] = [];
  const runDir = tempDir("run");
  const log = (l: string) => {
    lines.push(l);
    if (/\] it \d+\//.test(l)) live.push(memory().liveTensors);
  };
  const result = await runTraining(p, { runDir, log, stopAfterIters: o.stopAfterIters });
  return { result, live, lines, runDir };
}

/** Live tensors stay flat from the first iteration on (which creates the optimizer state). */
export function assertFlat(live: readonly number[], what: string): void {
  assert.ok(live.length >= 2, `${what}: at least two iterations traced`);
  assert.deepEqual(
    live,
    live.map(() => live[0]),
    `${what}: live tensors per iteration`,
  );
}

/**
 * Builds the run, calls fn, disposes the run; the process holds as many tensors afterwards as before (fn must free
 * what it keeps).
 */
export async function withRun<T>(cfg: RunConfig, fn: (p: BuiltRun) => Promise<T>): Promise<T> {
  const before = memory().liveTensors;
  const p = await buildRun(cfg);
  let out: T;
  try {
    out = await fn(p);
  } finally {
    p.dispose();
  }
  assert.equal(memory().liveTensors, before, "live tensors after the run is disposed");
  return out;
}
