/**
 * T→S (= TDSR, methods.md B2/F) and S+T (A10) on a tiny classification set: T→S trains S with
 * alpha * L_rec + beta * L_task through a frozen eval-mode task net, on staged (iters:alpha:beta) schedules;
 * S+T trains both networks from one backward of L_pix + L_task.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setNumThreads } from "../../src/engine/index.js";
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
  writeWeights,
} from "../support/train_runs.js";

// Many small ops: one intra-op thread is much faster than spinning OpenMP workers on a loaded machine.
setNumThreads(1);
const root = await writeClassTree();
// The frozen judge of T→S: a resnet-tiny for the tree's 3 classes (an H→T run's weights in real use).
const taskWeights = writeWeights("resnet-tiny", "task.classification", { numClasses: 3 }, 5);
const tdsr = (recipe: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  tinyConfig(
    root,
    { name: "task2sr", ...recipe },
    {
      taskNet: { weights: taskWeights },
      optim: { sr: { type: "adam", lr: 1e-4 }, task: undefined },
      ...over,
    },
  );
const oneIter = { train: { epochs: 1, itersPerEpoch: 1, batchSize: 4, logEvery: 1, seed: 3 } };

/** SR gradients at the first optimizer step of a one-iteration run, and how often the task loss ran. */
async function firstSrGrads(cfg: ReturnType<typeof tinyConfig>) {
  return withRun(cfg, async (p) => {
    let grads: (Float32Array | undefined)[] | undefined;
    let taskCalls = 0;
    const lossOf = p.task.loss;
    p.task.loss = (x, batch) => {
      taskCalls++;
      return lossOf(x, batch);
    };
    hookStep(p.srStep!, {
      before: () => {
        grads ??= gradsOf(p.sr!);
      },
    });
    await train(p);
    return { grads: grads!, taskCalls };
  });
}

function records(runDir: string): Record<string, number>[] {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number> & { type: string })
    .filter((r) => r.type === "train");
}

/** max |a - b| / max |b| over all values of two gradient lists. */
function relDiff(a: readonly (Float32Array | undefined)[], b: readonly (Float32Array | undefined)[]): number {
  let diff = 0;
  let scale = 0;
  for (const [i, g] of a.entries()) {
    const h = b[i];
    assert.equal(g === undefined, h === undefined, `gradient ${i} present in one list only`);
    if (g === undefined || h === undefined) continue;
    for (let k = 0; k < g.length; k++) {
      diff = Math.max(diff, Math.abs(g[k]! - h[k]!));
      scale = Math.max(scale, Math.abs(h[k]!));
    }
  }
  return diff / scale;
}

test("T→S: the task net is a frozen eval-mode judge (weights and BatchNorm statistics unchanged); S trains", async () => {
  await withRun(tdsr({ beta: 0.5 }), async (p) => {
    assert.equal(p.taskStep, undefined);
    const seen: boolean[] = [];
    const lossOf = p.task.loss;
    p.task.loss = (x, batch) => {
      const net = p.task.net;
      seen.push(!net.training && net.parameters().every((t) => !t.requiresGrad) && x.requiresGrad);
      return lossOf(x, batch);
    };
    const sr = snapshot(p.sr!);
    const task = snapshot(p.task.net);
    const run = await train(p);
    assert.deepEqual(seen, [true, true, true]);
    assert.deepEqual(changedKeys(task, p.task.net), [], "task net unchanged");
    const changed = changedKeys(sr, p.sr!);
    assert.deepEqual(
      trainableKeys(p.sr!).filter((k) => !changed.includes(k)),
      [],
      "every trainable SR parameter changes",
    );
    assertFlat(run.live, "T→S");
    disposeAll([...sr.values(), ...task.values()]);
  });
});

test("T→S: S's gradient holds the task term iff beta > 0 and is alpha * rec + beta * task", async (t) => {
  const srFt = await firstSrGrads(
    tinyConfig(root, { name: "sr-ft" }, { optim: { sr: { type: "adam", lr: 1e-4 }, task: undefined }, ...oneIter }),
  );
  const rec = await firstSrGrads(tdsr({ alpha: 1, beta: 0 }, oneIter));
  const both = await firstSrGrads(tdsr({ alpha: 1, beta: 0.5 }, oneIter));
  const task = await firstSrGrads(tdsr({ alpha: 0, beta: 0.5 }, oneIter));
  assert.equal(rec.taskCalls, 0, "beta = 0 runs no task forward");
  assert.equal(both.taskCalls, 1);
  assert.ok(sameGrads(rec.grads, srFt.grads), "beta = 0: SR-FT's gradient, bit-exactly");
  assert.ok(!sameGrads(both.grads, rec.grads), "beta > 0 changes the gradient");
  const sum = rec.grads.map((g, i) => g?.map((v, k) => v + task.grads[i]![k]!));
  const err = relDiff(both.grads, sum);
  assert.ok(err < 1e-5, `grad(1, 0.5) vs grad(1, 0) + grad(0, 0.5): relative error ${err}`);
  t.diagnostic(`grad(1, 0.5) vs grad(1, 0) + grad(0, 0.5): relative error ${err.toExponential(2)}`);
});

test("T→S: staged schedules switch alpha/beta at stage boundaries, in iterations or epochs", async () => {
  const betas = async (stages: string, loop: Record<string, unknown>) =>
    withRun(tdsr({ stages }, { train: { logEvery: 1, seed: 3, batchSize: 4, ...loop } }), async (p) =>
      records((await train(p)).runDir).map((r) => [r.alpha, r.beta, r.task !== undefined]),
    );
  assert.deepEqual(await betas("1:1:0+2:1:0.5", { epochs: 1 }), [
    [1, 0, false],
    [1, 0.5, true],
    [1, 0.5, true],
  ]);
  assert.deepEqual(await betas("1ep:1:0+1ep:1:0.01", { epochs: 3, itersPerEpoch: 1, evalEvery: 3 }), [
    [1, 0, false],
    [1, 0.01, true],
    [1, 0.01, true],
  ]);
});

test("S+T: one backward fills both gradients (S's includes the task term), then both optimizers step", async () => {
  const joint = (taskWeight: number, over: Record<string, unknown> = {}) =>
    tinyConfig(root, { name: "joint", taskWeight }, over);
  await withRun(joint(1), async (p) => {
    const order: string[] = [];
    const taskParams = p.taskStep!.optimizer.paramGroups.flatMap((g) => g.params);
    hookStep(p.srStep!, { before: () => order.push(`sr:${taskParams.every((t) => t.grad !== undefined)}`) });
    hookStep(p.taskStep!, { before: () => order.push("task") });
    const sr = snapshot(p.sr!);
    const task = snapshot(p.task.net);
    const run = await train(p);
    assert.deepEqual(order, ["sr:true", "task", "sr:true", "task", "sr:true", "task"]);
    assertAllTrainablesChanged([
      [sr, p.sr!],
      [task, p.task.net],
    ]);
    assertFlat(run.live, "S+T");
    disposeAll([...sr.values(), ...task.values()]);
  });
  const srFt = await firstSrGrads(tinyConfig(root, { name: "sr-ft" }, { optim: { task: undefined }, ...oneIter }));
  const zero = await firstSrGrads(joint(0, oneIter));
  const one = await firstSrGrads(joint(1, oneIter));
  assert.ok(sameGrads(zero.grads, srFt.grads), "task weight 0: SR-FT's gradient, bit-exactly");
  assert.ok(!sameGrads(one.grads, srFt.grads), "task weight 1: the task term reaches S");
});
