/**
 * SR4IR (methods.md A8) on a tiny classification set, observed between its two phases through hooks on the steppers,
 * the task adapter and the recipe: phase 1 moves only S (task net frozen in eval mode, HR taps without gradient,
 * TDP off during the warm-up), phase 2 moves only T on SR (S re-run, detached), HR and CQMix inputs; and the
 * ablations (no TDP, no CQMix, no alternation) as config changes.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { noGrad, scope, setNumThreads, type Tensor } from "../../src/engine/index.js";
import type { BuiltRun } from "../../src/train/build.js";
import {
  assertAllTrainablesChanged,
  assertFlat,
  changedKeys,
  disposeAll,
  gradsOf,
  hookStep,
  sameGrads,
  snapshot,
  tinyConfig,
  train,
  trainableKeys,
  withRun,
  writeClassTree,
} from "../support/train_runs.js";

// Many small ops: one intra-op thread is much faster than spinning OpenMP workers on a loaded machine.
setNumThreads(1);
const root = await writeClassTree();
const SR4IR = { name: "sr4ir", tdp: { taps: { l3: 0.5, l4: 1 } }, cqmix: { grid: 4 } };

type Net = BuiltRun["task"]["net"];
const noGrads = (net: Net): boolean => scope(() => net.parameters().every((t) => t.grad === undefined));
const allGrads = (params: readonly Tensor[]): boolean => scope(() => params.every((t) => t.grad !== undefined));
const taskTrainables = (p: BuiltRun): Tensor[] => p.taskStep!.optimizer.paramGroups.flatMap((g) => g.params);
const frozen = (p: BuiltRun): boolean => taskTrainables(p).every((t) => !t.requiresGrad);

/** The per-iteration training records of a run folder's metrics.jsonl. */
function trainRecords(runDir: string): Record<string, number>[] {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number> & { type: string })
    .filter((r) => r.type === "train");
}

/**
 * Per pixel of a CQMix batch: "s" where it equals the SR batch only, "h" the HR batch only, "=" both, "x" neither
 * (over all three channels). [N, 3, H, W] -> N*H*W characters.
 */
function pixelSources(mix: Tensor, sr: Tensor, hr: Tensor): string {
  const [n, c, h, w] = mix.shape as [number, number, number, number];
  const [m, s, r] = [mix.toArray(), sr.toArray(), hr.toArray()];
  let out = "";
  for (let i = 0; i < n; i++)
    for (let p = 0; p < h * w; p++) {
      let isS = true;
      let isH = true;
      for (let k = 0; k < c; k++) {
        const j = (i * c + k) * h * w + p;
        isS &&= m[j] === s[j];
        isH &&= m[j] === r[j];
      }
      out += isS && isH ? "=" : isS ? "s" : isH ? "h" : "x";
    }
  return out;
}

test("SR4IR: phase 1 moves only S through a frozen eval-mode T; phase 2 moves only T on SR, HR and CQMix", async () => {
  await withRun(tinyConfig(root, SR4IR), async (p) => {
    const sr = p.sr!;
    const net = p.task.net;
    const facts: Record<string, boolean>[] = [];
    let fact: Record<string, boolean> = {};
    let pre: { sr: Map<string, Tensor>; task: Map<string, Tensor> } | undefined;
    let afterPhase1: Map<string, Tensor> | undefined;
    const taps: { train: boolean; frozen: boolean; outGrad: boolean }[] = [];
    const inputs: { x: Tensor; train: boolean; frozen: boolean }[] = [];

    hookStep(p.srStep!, {
      before: () => {
        fact.phase1TaskGradsEmpty = noGrads(net);
        fact.phase1TaskFrozen = frozen(p);
      },
      after: () => {
        fact.phase1TaskUntouched = changedKeys(pre!.task, net).length === 0;
        const changed = changedKeys(pre!.sr, sr);
        fact.phase1SrMoved = trainableKeys(sr).every((k) => changed.includes(k));
        afterPhase1 = snapshot(sr);
      },
    });
    hookStep(p.taskStep!, {
      before: () => {
        fact.phase2SrGradsEmpty = noGrads(sr);
        fact.phase2TaskGrads = allGrads(taskTrainables(p));
      },
      after: () => {
        fact.phase2SrUntouched = changedKeys(afterPhase1!, sr).length === 0;
        const changed = changedKeys(pre!.task, net);
        fact.phase2TaskMoved = trainableKeys(net).every((k) => changed.includes(k));
      },
    });
    const tapsOf = p.task.taps;
    p.task.taps = (x, names, batch) => {
      const out = tapsOf(x, names, batch);
      taps.push({ train: net.training, frozen: frozen(p), outGrad: [...out.values()].every((t) => t.requiresGrad) });
      return out;
    };
    const lossOf = p.task.loss;
    p.task.loss = (x, batch) => {
      inputs.push({ x, train: net.training, frozen: frozen(p) });
      return lossOf(x, batch);
    };
    const recipe = p.recipe;
    p.recipe = {
      ...recipe,
      step(ctx, batch, lr) {
        pre = { sr: snapshot(sr), task: snapshot(net) };
        fact = {};
        taps.length = 0;
        inputs.length = 0;
        const values = recipe.step(ctx, batch, lr);
        // Phase 1's taps: HR first without gradient, then SR with gradient; T in eval mode with frozen weights.
        fact.tapsHrThenSr =
          taps.length === 2 && !taps[0]!.outGrad && taps[1]!.outGrad && taps.every((t) => !t.train && t.frozen);
        // Phase 2's inputs: SR from the updated S (detached), HR, their CQMix; T in training mode, trainable.
        const [xs, xh, xm] = inputs;
        fact.threeTaskInputs = inputs.length === 3 && inputs.every((i) => i.train && !i.frozen);
        fact.srInputIsUpdatedS = !xs!.x.requiresGrad && scope(() => xs!.x.equal(noGrad(() => sr.call(lr))));
        fact.hrInputIsHr = scope(() => xh!.x.equal(batch.hr));
        const sources = pixelSources(xm!.x, xs!.x, xh!.x);
        fact.mixHasOnlySrAndHrPixels = !sources.includes("x");
        fact.mixHasBoth = sources.includes("s") && sources.includes("h");
        fact.tdpLogged = (values.tdp ?? 0) > 0 && values.task_cqmix !== undefined;
        facts.push(fact);
        disposeAll([...pre.sr.values(), ...pre.task.values(), ...afterPhase1!.values()]);
        return values;
      },
    };
    const run = await train(p);
    assert.equal(facts.length, 3);
    for (const [i, f] of facts.entries()) {
      assert.deepEqual(
        Object.entries(f).filter(([, ok]) => !ok),
        [],
        `iteration ${i}: properties that do not hold`,
      );
      assert.equal(Object.keys(f).length, 15, `iteration ${i}: every property was observed`);
    }
    assertFlat(run.live, "SR4IR");
  });
});

test("SR4IR warm-up: TDP is off (S's gradient is L1's alone, bit-exactly) until the warm-up ends", async () => {
  // Three one-iteration epochs, TDP from epoch 3; the reference run has no TDP at all (the "no TDP" ablation).
  const over = { train: { epochs: 3, itersPerEpoch: 1, evalEvery: 3 } };
  const grads = async (recipe: Record<string, unknown>) =>
    withRun(tinyConfig(root, recipe, over), async (p) => {
      const out: (Float32Array | undefined)[][] = [];
      let tapCalls = 0;
      const tapsOf = p.task.taps;
      p.task.taps = (x, names, batch) => {
        tapCalls++;
        return tapsOf(x, names, batch);
      };
      hookStep(p.srStep!, { before: () => out.push(gradsOf(p.sr!)) });
      const run = await train(p);
      assertFlat(run.live, `SR4IR ${recipe.tdp ? "with" : "without"} TDP`);
      return { out, tapCalls, records: trainRecords(run.runDir) };
    });
  const withTdp = await grads({ ...SR4IR, warmup: { length: 2, unit: "epochs" } });
  const without = await grads({ name: "sr4ir", cqmix: { grid: 4 } });
  assert.deepEqual(
    withTdp.records.map((r) => r.tdp !== undefined),
    [false, false, true],
  );
  assert.equal(withTdp.tapCalls, 2, "taps run only after the warm-up (HR and SR)");
  assert.equal(without.tapCalls, 0);
  assert.ok(sameGrads(withTdp.out[0]!, without.out[0]!), "iteration 1: same SR gradient");
  assert.ok(sameGrads(withTdp.out[1]!, without.out[1]!), "iteration 2: same SR gradient");
  assert.ok(!sameGrads(withTdp.out[2]!, without.out[2]!), "iteration 3: TDP changes the SR gradient");
});

test("SR4IR without CQMix: T sees SR and HR only and no mask is drawn", async () => {
  const recipe = { ...SR4IR, cqmix: undefined, taskInputs: ["sr", "hr"], inputWeight: 0.5 };
  await withRun(tinyConfig(root, recipe), async (p) => {
    let calls = 0;
    const lossOf = p.task.loss;
    p.task.loss = (x, batch) => {
      calls++;
      return lossOf(x, batch);
    };
    const state = p.cqmixGenerator.getState();
    const run = await train(p);
    assert.equal(calls, 2 * 3);
    assert.ok(
      scope(() => p.cqmixGenerator.getState().equal(state)),
      "the CQMix stream is untouched",
    );
    state.dispose();
    const r = trainRecords(run.runDir);
    assert.ok(r.every((v) => v.task_cqmix === undefined && v.task_sr! > 0 && v.task_hr! > 0));
    assertFlat(run.live, "SR4IR without CQMix");
  });
});

test("SR4IR without alternation: one backward fills both networks' gradients, then both step", async () => {
  await withRun(tinyConfig(root, { ...SR4IR, alternate: false }), async (p) => {
    const order: string[] = [];
    hookStep(p.srStep!, {
      before: () => order.push(`sr:${allGrads(taskTrainables(p))}`),
    });
    hookStep(p.taskStep!, { before: () => order.push("task") });
    const sr = snapshot(p.sr!);
    const task = snapshot(p.task.net);
    const run = await train(p);
    assert.deepEqual(order, ["sr:true", "task", "sr:true", "task", "sr:true", "task"]);
    assertAllTrainablesChanged([
      [sr, p.sr!],
      [task, p.task.net],
    ]);
    assertFlat(run.live, "SR4IR without alternation");
    disposeAll([...sr.values(), ...task.values()]);
  });
});
