/**
 * Data-parallel training through the CLI, two local processes over Gloo: for every recipe, 2 processes x batch B
 * equal 1 process x batch 2B on the same samples (losses of every iteration, final weights, final evaluation), with
 * BatchNorm synchronised; resume across process counts; a killed worker ends the job with E_DIST.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import { configToYaml } from "../../src/config/load.js";
import type { RunConfig } from "../../src/config/schema.js";
import { loadSafetensors } from "../../src/engine/safetensors.js";
import { tempDir } from "../support/data_trees.js";
import { noDist } from "../support/dist.js";
import { REPO } from "../support/paths.js";
import { tinyConfig, writeNoiseClassTree, writeWeights } from "../support/train_runs.js";

const root = await writeNoiseClassTree("dist-tree");
const srWeights = writeWeights("edsr-tiny", "sr", { scale: 4 }, 7);
const taskWeights = writeWeights("resnet-tiny", "task.classification", { numClasses: 3 }, 5);
const noSr = { sr: undefined, optim: { sr: undefined } };
const SR4IR = { name: "sr4ir", tdp: { taps: { l3: 0.5, l4: 1 } }, cqmix: { grid: 4 } };

/** Every recipe of the papers, as the single-process recipe tests configure them. */
const RECIPES: [string, Record<string, unknown>, Record<string, unknown>][] = [
  ["H→T", { name: "hr2task" }, noSr],
  ["L→T", { name: "lr2task" }, noSr],
  ["SR-FT", { name: "sr-ft" }, { optim: { task: undefined } }],
  ["S→T", { name: "sr2task" }, { sr: { weights: srWeights }, optim: { sr: undefined } }],
  ["T→S", { name: "task2sr" }, { taskNet: { weights: taskWeights }, optim: { task: undefined } }],
  ["S+T", { name: "joint" }, {}],
  ["SR4IR", SR4IR, {}],
  // One backward into both networks: both reducers armed at once.
  ["SR4IR without alternation", { ...SR4IR, alternate: false }, {}],
];

/**
 * 12 training images: 3 global batches of 4 per epoch, 2 epochs; evaluation on 4 images in 2 batches of 2. The SR
 * net trains with SGD, not the recipe tests' AdamW: Adam's first steps move each weight by about lr times the sign
 * of its gradient, so gradients at rounding level flip weights by a whole step (measured: one process against itself
 * with oneDNN held to SSE4.1 differs by 1e-3 in SR4IR's second-iteration loss; SGD runs agree to 1e-6). The task
 * net's learning rate is 0.003: at 0.01 the six steps of the from-scratch BatchNorm network amplify float32 rounding
 * (the only thing data parallelism changes: the order of sums) to 4e-5 in S→T's and SR4IR's task weights, and one
 * process against itself with two intra-op threads, or with ATen's non-AVX2 kernels, differs as much (3.9e-5, 1.7e-4);
 * at 0.003 the same runs differ by 3e-8 (S→T) and 2e-6 (SR4IR), while a wrong gradient average still moves the
 * weights by about 1e-3.
 */
function config(recipe: Record<string, unknown>, over: Record<string, unknown>, batchSize: number): RunConfig {
  const sgd = { sr: { type: "sgd", lr: 0.01, momentum: 0.9 }, task: { type: "sgd", lr: 0.003, weightDecay: 1e-4 } };
  const optim = { ...sgd, ...(over.optim as Record<string, unknown> | undefined) };
  return tinyConfig(root, recipe, {
    ...over,
    optim,
    train: { epochs: 2, batchSize, logEvery: 1, seed: 3, syncBatchNorm: true },
    eval: { batchSize: 2, limit: 4, psnr: ["basicsr"], ssim: false },
  });
}

/**
 * Trains `cfg` with `tasksr train` (with --nproc-per-node when nproc is given, one thread per process) and returns
 * the run folder.
 */
function train(dir: string, cfg: RunConfig, nproc?: number, env: NodeJS.ProcessEnv = {}): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${cfg.name}-${nproc ?? 1}.yaml`);
  writeFileSync(path, configToYaml(cfg));
  const dist = nproc === undefined ? [] : ["--nproc-per-node", String(nproc)];
  const r = spawnSync(
    process.execPath,
    [join(REPO, "bin", "tasksr.js"), "train", "--config", path, "--out", dir, ...dist],
    { encoding: "utf8", cwd: REPO, env: { ...process.env, TASKSR_THREADS: "1", ...env } },
  );
  assert.equal(r.status, 0, `${cfg.name} with ${nproc ?? 1} process(es):\n${r.stderr}\n${r.stdout}`);
  return join(dir, cfg.name);
}

type Rec = Record<string, number | string>;
const records = (run: string, type: string): Rec[] =>
  readFileSync(join(run, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec)
    .filter((r) => r.type === type);

/** The largest relative difference of the losses of each iteration (timing fields aside). */
function lossDiff(a: Rec[], b: Rec[]): number {
  assert.equal(a.length, b.length, "iteration counts differ");
  let worst = 0;
  for (const [i, ra] of a.entries()) {
    const rb = b[i]!;
    for (const [k, v] of Object.entries(ra)) {
      if (typeof v !== "number" || k === "imgPerSec" || k.startsWith("lr_")) continue;
      const w = rb[k] as number;
      assert.equal(typeof w, "number", `iteration ${i}: ${k} missing`);
      worst = Math.max(worst, Math.abs(v - w) / Math.max(Math.abs(w), 1e-12));
    }
  }
  return worst;
}

/** The relative difference ||a - b|| / ||b|| of all floating-point weights of two weight files together. */
function weightDiff(a: string, b: string): number {
  const fa = loadSafetensors(a);
  const fb = loadSafetensors(b);
  try {
    assert.deepEqual([...fa.tensors.keys()].sort(), [...fb.tensors.keys()].sort());
    let diff = 0;
    let norm = 0;
    for (const [k, t] of fa.tensors) {
      if (!t.dtype.startsWith("float")) continue;
      const u = fb.tensors.get(k)!;
      diff += t.sub(u).pow(2).sum().item() as number;
      norm += u.pow(2).sum().item() as number;
    }
    return Math.sqrt(diff / norm);
  } finally {
    for (const t of [...fa.tensors.values(), ...fb.tensors.values()]) t.dispose();
  }
}

/**
 * The bound for a difference from the one-process run: 1e-4, or twice the difference between the one-process run and
 * itself with oneDNN held to its SSE4.1 kernels when that is larger. Six SGD steps of these tiny networks amplify
 * float32 rounding: the same steps summed in another order, which is all that data parallelism changes, may differ
 * as much as the kernels of another CPU do (1e-7 in the first loss, 3e-5 in S→T's weights, measured). A batch norm
 * over a channel nearly constant in the batch (a ReLU gone dead) divides by sqrt(var + eps) ≈ 3e-3 and so amplifies
 * the rounding of its mean's sum, whose order data parallelism changes and the SSE4.1 run does not: on an AMD EPYC
 * L→T's losses moved by 4.4e-5 and its weights by 2.0e-5 while that run differed by 1e-7. Averaging the gradients
 * wrongly (summing them: the task's learning rate doubled) moves L→T's losses by 2.5e-2 and its weights by 2.9e-3,
 * 25 times the bound.
 */
const bound = (floor: number) => Math.max(1e-4, 2 * floor);
/**
 * The losses' bound is 1e-4: a batch norm over a channel that is nearly constant in the batch (a ReLU gone dead)
 * divides by sqrt(var + eps) ≈ 3e-3 and so amplifies the rounding of its mean's sum, whose order data parallelism
 * changes and the SSE4.1 run does not; on an AMD EPYC this alone moved L→T's losses by 4.4e-5 in epoch 2 while
 * the final weights agreed to 3e-8. A wrong gradient average moves the losses by 1e-3 and more.
 */
const lossBound = (floor: number) => Math.max(1e-4, 2 * floor);

for (const [label, recipe, over] of RECIPES) {
  test(`${label}: 2 processes x batch 2 equal 1 process x batch 4`, { skip: noDist }, (t) => {
    const dir = tempDir(`dist-${recipe.name as string}`);
    const one = train(join(dir, "one"), config(recipe, over, 4));
    const two = train(join(dir, "two"), config(recipe, over, 2), 2);
    const sse = train(join(dir, "sse41"), config(recipe, over, 4), undefined, { DNNL_MAX_CPU_ISA: "SSE41" });
    // Before any update both runs hold the same weights: the first losses agree to float32 rounding.
    const [first2, first1] = [records(two, "train").slice(0, 1), records(one, "train").slice(0, 1)];
    assert.ok(lossDiff(first2, first1) <= 1e-6, `first losses: ${JSON.stringify([first2, first1])}`);
    const ld = lossDiff(records(two, "train"), records(one, "train"));
    const lf = lossDiff(records(sse, "train"), records(one, "train"));
    assert.ok(
      ld <= lossBound(lf),
      `losses: relative difference ${ld.toExponential(2)} (SSE4.1 run: ${lf.toExponential(2)})`,
    );
    for (const f of ["sr.safetensors", "task.safetensors"]) {
      if (!existsSync(join(one, f))) continue;
      const d = weightDiff(join(two, f), join(one, f));
      const floor = weightDiff(join(sse, f), join(one, f));
      t.diagnostic(`${f}: 2 x B vs 1 x 2B ${d.toExponential(2)}, SSE4.1 run vs 1 x 2B ${floor.toExponential(2)}`);
      assert.ok(
        d <= bound(floor),
        `${f}: relative difference ${d.toExponential(2)} (SSE4.1 run: ${floor.toExponential(2)})`,
      );
    }
    // The evaluation is sharded by batch and merged: the same images, so the same numbers.
    const final = (run: string) =>
      (JSON.parse(readFileSync(join(run, "results.json"), "utf8")) as { final: Record<string, number> }).final;
    const [r1, r2] = [final(one), final(two)];
    assert.deepEqual(Object.keys(r2).sort(), Object.keys(r1).sort());
    for (const [k, v] of Object.entries(r1)) {
      assert.ok(Math.abs(r2[k]! - v) <= 1e-3 * Math.max(1, Math.abs(v)), `final ${k}: ${r2[k]} vs ${v}`);
    }
  });
}
