/**
 * Gradient parity with a plain PyTorch re-implementation (tools/fixtures/sr4ir_step.py): one SR4IR iteration (both
 * phases, A8; TDP on l3 and l4, CQMix with the fixture's mask) and one T→S iteration, from the same weights and
 * inputs, run through our recipes. Both sides run in float64 (weights drawn in float32): in float32 the result
 * depends on the kernels oneDNN and OpenBLAS pick for the CPU, and AdamW's first step, g / (|g| + eps), amplifies
 * that rounding to 5e-4 relative on some parameters. Loss terms and every state-dict entry after the iteration agree
 * to TOL relative; parameters are compared by their update (after - before), which is what the iteration computed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { validateRun } from "../../src/config/load.js";
import { mixWithMask } from "../../src/data/cqmix.js";
import type { BuiltinBatch } from "../../src/data/loader/collate.js";
import { AdamW, Generator, memory, SGD, scope, setNumThreads } from "../../src/engine/index.js";
import { ResNet } from "../../src/models/classification/resnet.js";
import { Edsr } from "../../src/models/sr/edsr.js";
import type { Module } from "../../src/nn/module.js";
import { classificationAdapter } from "../../src/tasks/classification/adapter.js";
import { sr4ir } from "../../src/train/recipes/sr4ir.js";
import { task2sr } from "../../src/train/recipes/task2sr.js";
import type { Recipe, RecipeContext } from "../../src/train/recipes/types.js";
import { constant } from "../../src/train/schedule.js";
import { Stepper } from "../../src/train/stepper.js";
import { fixture, relErr } from "../support/compare.js";
import { FIXTURES } from "../support/paths.js";

// Many small ops: one intra-op thread is much faster than spinning OpenMP workers on a loaded machine.
setNumThreads(1);
/**
 * Float64 never reaches oneDNN; ATen's own vectorised kernels still sum in an order that depends on the CPU. Measured
 * worst relative error: 0 with ATEN_CPU_CAPABILITY=avx2, 2.5e-14 with avx512, 9.3e-14 with default (no SIMD), under
 * every DNNL_MAX_CPU_ISA. A TDP tap weight off by 1e-5 relative already moves the updates by more than 1e-7.
 */
const TOL = 1e-10;
const fx = fixture(join(FIXTURES, "train", "sr4ir_step.safetensors"));

/**
 * A run config with this iteration's recipe and optimizer settings, validated like a user's; the recipe options come
 * from it. The networks are built below from the fixture's weights (the task net is resnet-tiny's layout at width 4).
 */
const cfg = validateRun(
  {
    name: "parity",
    task: "classification",
    scale: 2,
    data: { train: { type: "image-folder", root: "unused" }, val: { type: "image-folder", root: "unused" } },
    sr: { arch: "edsr", options: { numBlocks: 2, numFeatures: 8 } },
    taskNet: { arch: "resnet-tiny" },
    recipe: { name: "sr4ir", tdp: { taps: { l3: 0.5, l4: 1 } }, cqmix: { grid: 4 } },
    optim: {
      sr: { type: "adamw", lr: 1e-2, weightDecay: 0.01 },
      task: { type: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 1e-4 },
    },
    train: { epochs: 1, batchSize: 2 },
  },
  "parity config",
);

function nets() {
  const sr = new Edsr({ scale: 2, numBlocks: 2, numFeatures: 8 }).to("float64");
  sr.loadStateDict(fx.sub("init.sr."));
  const task = new ResNet({ block: "basic", layers: [1, 1, 1, 1], width: 4, numClasses: 3, stem: "small" }).to(
    "float64",
  );
  task.loadStateDict(fx.sub("init.task."));
  return { sr, task, adapter: classificationAdapter(task, { numClasses: 3 }) };
}

function context(o: Pick<RecipeContext, "sr" | "task" | "srStep" | "taskStep">): RecipeContext {
  return {
    ...o,
    cfg,
    cqmixGenerator: new Generator(0),
    iteration: 0,
    epoch: 0,
    itersPerEpoch: 1,
    shard: undefined,
    autocast: (fn) => fn(),
  };
}

const batch = (): BuiltinBatch => ({
  task: "classification",
  ids: ["0", "1"],
  hr: fx.get("x_hr"),
  labels: fx.get("labels"),
});

/** One recipe step; returns its logged values. */
const step = (recipe: Recipe, ctx: RecipeContext): Record<string, number> =>
  scope(() => recipe.step(ctx, batch(), fx.get("x_lr")));

function assertScalar(got: number | undefined, key: string): void {
  const want = scope(() => fx.get(key).item());
  assert.ok(got !== undefined, `${key}: not logged`);
  assert.ok(Math.abs(got - want) <= TOL * Math.abs(want), `${key}: ${got} vs ${want}`);
}

/**
 * Every state-dict entry after the iteration against the reference: float entries by their update from the
 * initial weights (relative to the largest reference update; entries the iteration leaves alone stay bit-equal),
 * integer entries (num_batches_tracked) exactly. Returns the worst relative error.
 */
function assertStates(net: Module<never[], unknown>, init: string, after: string): number {
  const want = fx.sub(after);
  const sd = net.stateDict();
  assert.deepEqual([...sd.keys()].sort(), [...want.keys()].sort(), `${after} keys`);
  let worst = 0;
  scope(() => {
    for (const [k, t] of sd) {
      const w = want.get(k)!;
      if (t.dtype === "int64") {
        assert.ok(t.equal(w), `${after}${k}: ${t.item()} vs ${w.item()}`);
        continue;
      }
      const start = fx.get(`${init}${k}`);
      const dw = w.sub(start);
      if (dw.abs().max().item() === 0) {
        assert.ok(t.equal(start), `${after}${k}: the reference leaves it unchanged, ours changed it`);
        continue;
      }
      const e = relErr(t.sub(start), dw);
      assert.ok(e <= TOL, `${after}${k}: update differs, relative error ${e.toExponential(2)}`);
      worst = Math.max(worst, e);
    }
  });
  return worst;
}

test("SR4IR: one iteration (phase 1 AdamW on S with L1 + TDP, phase 2 SGD on T over SR/HR/CQMix) equals PyTorch", (t) => {
  const before = memory().liveTensors;
  const { sr, task, adapter } = nets();
  const srOpt = new AdamW(
    sr.parameters().filter((p) => p.requiresGrad),
    { lr: 1e-2, weightDecay: 0.01 },
  );
  const taskOpt = new SGD(
    adapter.paramGroups().map((g) => ({ params: g.params, lr: 0.05 * g.lrMult })),
    { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 },
  );
  const srStep = new Stepper(srOpt, [constant(1e-2)]);
  const taskStep = new Stepper(taskOpt, [constant(0.05)]);
  const mask = fx.get("mask");
  const recipeCfg = cfg.recipe as Extract<typeof cfg.recipe, { name: "sr4ir" }>;
  const recipe = sr4ir({ cfg: recipeCfg, warmupIters: 0, cqmix: (s, h) => mixWithMask(s, h, mask) });
  const v = step(recipe, context({ sr, task: adapter, srStep, taskStep }));
  for (const k of ["pix", "tdp", "task_sr", "task_hr", "task_cqmix"]) assertScalar(v[k], `sr4ir.loss.${k}`);
  assertScalar(v.pix! + v.tdp!, "sr4ir.loss.phase1");
  assertScalar(0.34 * (v.task_sr! + v.task_hr! + v.task_cqmix!), "sr4ir.loss.phase2");
  const eSr = assertStates(sr, "init.sr.", "sr4ir.sr.");
  const eTask = assertStates(task, "init.task.", "sr4ir.task.");
  t.diagnostic(`worst relative update error: SR ${eSr.toExponential(2)}, task ${eTask.toExponential(2)}`);
  srOpt.dispose();
  taskOpt.dispose();
  sr.dispose();
  task.dispose();
  assert.equal(memory().liveTensors, before);
});

test("T→S: one iteration (SGD on S with L1 + 0.5 x CE through the frozen eval-mode T) equals PyTorch", (t) => {
  const before = memory().liveTensors;
  const { sr, task, adapter } = nets();
  task.requiresGrad_(false).eval();
  const srOpt = new SGD(
    sr.parameters().filter((p) => p.requiresGrad),
    { lr: 0.5, momentum: 0.9 },
  );
  const recipe = task2sr({ recLoss: "l1", stages: [{ iters: Number.POSITIVE_INFINITY, alpha: 1, beta: 0.5 }] });
  const v = step(
    recipe,
    context({ sr, task: adapter, srStep: new Stepper(srOpt, [constant(0.5)]), taskStep: undefined }),
  );
  assertScalar(v.rec, "tdsr.loss.rec");
  assertScalar(v.task, "tdsr.loss.task");
  const e = assertStates(sr, "init.sr.", "tdsr.sr.");
  assert.deepEqual(
    scope(() => [...task.stateDict()].filter(([k, w]) => !w.equal(fx.get(`init.task.${k}`))).map(([k]) => k)),
    [],
    "the task net is unchanged",
  );
  t.diagnostic(`worst relative update error: SR ${e.toExponential(2)}`);
  srOpt.dispose();
  sr.dispose();
  task.dispose();
  assert.equal(memory().liveTensors, before);
});
