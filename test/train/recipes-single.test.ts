/**
 * The single-network recipes (methods.md A10) on a tiny classification set: which network trains, on which input.
 * H→T: the task net on HR; L→T: on the bilinear (align_corners) upsampling of LR; SR-FT: the SR net on L1 only;
 * S→T: the task net on the output of a frozen SR net loaded from weights.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { noGrad, scope, setNumThreads, type Tensor } from "../../src/engine/index.js";
import type { BuiltRun } from "../../src/train/build.js";
import { evaluateRun } from "../../src/train/trainer.js";
import {
  assertAllTrainablesChanged,
  assertFlat,
  changedKeys,
  disposeAll,
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
const noSr = { sr: undefined, optim: { sr: undefined } };

/** Calls `check(x, lr, batch)` on every task-loss input of a training step (LR from the trainer's synthesis). */
function onTaskInput(
  p: BuiltRun,
  check: (x: Tensor, lr: Tensor, batch: Parameters<BuiltRun["task"]["loss"]>[1]) => void,
) {
  let lr: Tensor | undefined;
  const recipe = p.recipe;
  p.recipe = {
    ...recipe,
    step(ctx, batch, l) {
      lr = l;
      return recipe.step(ctx, batch, l);
    },
  };
  const loss = p.task.loss;
  p.task.loss = (x, batch) => {
    check(x, lr!, batch);
    return loss(x, batch);
  };
}

/** Keys of `net` (parameters and buffers) that changed, checked against what must and must not change. */
function assertChanged(before: Map<string, Tensor>, net: BuiltRun["task"]["net"], trains: boolean, what: string): void {
  if (trains) assertAllTrainablesChanged([[before, net]], what);
  else assert.deepEqual(changedKeys(before, net), [], `${what}: nothing changes`);
}

/** Reference bilinear upsampling with align_corners=True ([N, C, h, w] -> [N, C, H, W]), from the formula. */
function bilinearAlignCorners(src: ArrayLike<number>, shape: readonly number[], H: number, W: number): Float64Array {
  const [n, c, h, w] = shape as [number, number, number, number];
  const out = new Float64Array(n * c * H * W);
  const at = (plane: number, y: number, x: number) => src[(plane * h + y) * w + x]!;
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < H; y++) {
      const sy = H > 1 ? (y * (h - 1)) / (H - 1) : 0;
      const y0 = Math.floor(sy);
      const y1 = Math.min(y0 + 1, h - 1);
      const fy = sy - y0;
      for (let x = 0; x < W; x++) {
        const sx = W > 1 ? (x * (w - 1)) / (W - 1) : 0;
        const x0 = Math.floor(sx);
        const x1 = Math.min(x0 + 1, w - 1);
        const fx = sx - x0;
        const top = (1 - fx) * at(plane, y0, x0) + fx * at(plane, y0, x1);
        const bottom = (1 - fx) * at(plane, y1, x0) + fx * at(plane, y1, x1);
        out[(plane * H + y) * W + x] = (1 - fy) * top + fy * bottom;
      }
    }
  }
  return out;
}

test("H→T: only the task net trains, on the HR batch, in training mode; evaluation reports no PSNR", async () => {
  await withRun(tinyConfig(root, { name: "hr2task" }, noSr), async (p) => {
    assert.equal(p.sr, undefined);
    assert.equal(p.srStep, undefined);
    const seen: boolean[] = [];
    onTaskInput(p, (x, _lr, batch) => seen.push(scope(() => x.equal(batch.hr)) && p.task.net.training));
    const before = snapshot(p.task.net);
    const run = await train(p);
    assert.deepEqual(seen, [true, true, true]);
    assertChanged(before, p.task.net, true, "task net");
    assert.deepEqual(run.result.final?.psnr, {});
    assert.ok(run.result.final?.task.top1 !== undefined);
    assertFlat(run.live, "H→T");
    disposeAll(before.values());
  });
});

test("L→T: the task net sees the bilinear align_corners=True upsampling of the LR batch (1e-6)", async () => {
  await withRun(tinyConfig(root, { name: "lr2task" }, noSr), async (p) => {
    const errors: number[] = [];
    onTaskInput(p, (x, lr) => {
      assert.deepEqual(x.shape, [4, 3, 32, 32]);
      assert.deepEqual(lr.shape, [4, 3, 8, 8]);
      assert.equal(x.requiresGrad, false);
      const want = bilinearAlignCorners(lr.toArray(), lr.shape, 32, 32);
      const got = x.toArray();
      errors.push(Math.max(...want.map((v, i) => Math.abs(v - got[i]!))));
    });
    const before = snapshot(p.task.net);
    const run = await train(p);
    assert.equal(errors.length, 3);
    for (const e of errors) assert.ok(e < 1e-6, `max |upsampled - reference| = ${e}`);
    assertChanged(before, p.task.net, true, "task net");
    assertFlat(run.live, "L→T");
    disposeAll(before.values());
  });
});

test("SR-FT: only the SR net trains (its frozen mean shifts stay); the task net is untouched", async () => {
  await withRun(tinyConfig(root, { name: "sr-ft" }, { optim: { task: undefined } }), async (p) => {
    assert.equal(p.taskStep, undefined);
    assert.equal(p.evaluateTask, false);
    const sr = snapshot(p.sr!);
    const task = snapshot(p.task.net);
    const run = await train(p);
    const changed = changedKeys(sr, p.sr!);
    assert.deepEqual(
      trainableKeys(p.sr!).filter((k) => !changed.includes(k)),
      [],
      "every trainable SR parameter changes",
    );
    assert.deepEqual(
      changed.filter((k) => k.startsWith("sub_mean") || k.startsWith("add_mean")),
      [],
      "mean shifts stay",
    );
    assertChanged(task, p.task.net, false, "task net");
    assert.deepEqual(run.result.final?.task, {});
    assert.ok(run.result.final?.psnr.basicsr !== undefined);
    assertFlat(run.live, "SR-FT");
    disposeAll([...sr.values(), ...task.values()]);
  });
});

test("S→T: the task net trains on the frozen SR net's output (eval mode, no gradient); the SR net is unchanged", async () => {
  const weights = writeWeights("edsr-tiny", "sr", { scale: 4 }, 7);
  const cfg = tinyConfig(root, { name: "sr2task" }, { sr: { weights }, optim: { sr: undefined } });
  await withRun(cfg, async (p) => {
    assert.equal(p.srStep, undefined);
    assert.ok(p.sr!.parameters().every((t) => !t.requiresGrad));
    const seen: boolean[] = [];
    onTaskInput(p, (x, lr) => {
      const sr = noGrad(() => p.sr!.call(lr));
      seen.push(!x.requiresGrad && scope(() => x.equal(sr)));
      sr.dispose();
    });
    const sr = snapshot(p.sr!);
    const task = snapshot(p.task.net);
    const run = await train(p);
    assert.deepEqual(seen, [true, true, true]);
    assertChanged(sr, p.sr!, false, "SR net");
    assertChanged(task, p.task.net, true, "task net");
    assertFlat(run.live, "S→T");
    disposeAll([...sr.values(), ...task.values()]);
  });
});

test("evaluation runs the task net in eval mode, leaves it unchanged, and sees the same LR images every time", async () => {
  const cfg = tinyConfig(root, { name: "sr4ir", cqmix: { grid: 4 } }, { degrade: { noise: { sigma: 8 } } });
  await withRun(cfg, async (p) => {
    const modes: boolean[] = [];
    const evaluatorOf = p.task.evaluator;
    p.task.evaluator = () => {
      const ev = evaluatorOf();
      return {
        ...ev,
        update(x, batch) {
          modes.push(p.task.net.training);
          ev.update(x, batch);
        },
      };
    };
    const before = snapshot(p.task.net);
    p.task.net.train();
    const first = await evaluateRun(p);
    const second = await evaluateRun(p);
    assert.deepEqual(modes, [false, false]);
    assert.equal(p.task.net.training, true, "the training mode is restored");
    assert.deepEqual(changedKeys(before, p.task.net), []);
    assert.deepEqual([second.task, second.psnr], [first.task, first.psnr]);
    disposeAll(before.values());
  });
});
