/**
 * Optimisation options of a run (methods.md A9): optimizer types and their hyper-parameters, parameter groups (the
 * segmentation aux head at 10x the lr), per-iteration schedules with periods in epochs and a linear warm-up,
 * gradient accumulation, and AMP (bf16 autocast on the CPU; fp16 is CUDA-only).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ScheduleConfig } from "../../src/config/schema.js";
import { Adam, AdamW, cpuBf16Problem, F, ones, SGD, scope, setNumThreads } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { buildRun, makeSchedule } from "../../src/train/build.js";
import { cosine, cosineRestart, linearWarmup, sequential } from "../../src/train/schedule.js";
import { tempDir, writeTinyVoc } from "../support/data_trees.js";
import {
  assertAllTrainablesChanged,
  assertFlat,
  disposeAll,
  hookStep,
  snapshot,
  tinyConfig,
  train,
  withRun,
  writeClassTree,
} from "../support/train_runs.js";

// Many small ops: one intra-op thread is much faster than spinning OpenMP workers on a loaded machine.
setNumThreads(1);
const root = await writeClassTree();
const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.abs(b);

function trainRecords(runDir: string): Record<string, number>[] {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number> & { type: string })
    .filter((r) => r.type === "train");
}

test("optimizer types and hyper-parameters come from the config", async () => {
  const cfg = tinyConfig(
    root,
    { name: "joint" },
    {
      optim: {
        sr: { type: "adam", lr: 2e-4, betas: [0.8, 0.99], eps: 1e-7, weightDecay: 0.01 },
        task: { type: "sgd", lr: 0.03, momentum: 0.5, weightDecay: 1e-4, nesterov: true },
      },
    },
  );
  await withRun(cfg, async (p) => {
    const sr = p.srStep!.optimizer;
    const task = p.taskStep!.optimizer;
    assert.ok(sr instanceof Adam && !(sr instanceof AdamW));
    assert.ok(task instanceof SGD);
    const a = sr.paramGroups[0] as unknown as Record<string, unknown>;
    assert.deepEqual([a.lr, a.betas, a.eps, a.weightDecay], [2e-4, [0.8, 0.99], 1e-7, 0.01]);
    const g = task.paramGroups[0] as unknown as Record<string, unknown>;
    assert.deepEqual([g.lr, g.momentum, g.weightDecay, g.nesterov], [0.03, 0.5, 1e-4, true]);
  });
  await withRun(tinyConfig(root, { name: "sr-ft" }, { optim: { task: undefined } }), async (p) => {
    const o = p.srStep!.optimizer;
    assert.ok(o instanceof AdamW);
    // SR4IR's AdamW has no weight decay (A9), unlike torch's default of 0.01.
    assert.equal((o.paramGroups[0] as unknown as { weightDecay: number }).weightDecay, 0);
  });
});

test("segmentation: the aux head is its own parameter group at 10x the lr, through the schedule", async () => {
  const voc = tempDir("train-voc");
  await writeTinyVoc(voc);
  const cfg = tinyConfig(
    root,
    { name: "hr2task" },
    {
      task: "segmentation",
      sr: undefined,
      data: {
        train: { type: "voc-seg", root: voc },
        val: { type: "voc-seg", root: voc },
        transforms: { resize: 32, crop: 32 },
      },
      taskNet: { arch: "deeplabv3-mobilenetv3-light" },
      optim: { sr: undefined, task: { type: "sgd", lr: 0.02, momentum: 0 } },
      schedule: { task: { type: "cosine", periods: [3], unit: "iters", etaMin: 1e-3 } },
      train: { epochs: 3, batchSize: 2, evalEvery: 3 },
      eval: { batchSize: 1, limit: 1, psnr: [] },
    },
  );
  await withRun(cfg, async (p) => {
    const groups = p.taskStep!.optimizer.paramGroups;
    const aux = new Set(
      p.task.net
        .namedParameters()
        .filter(([k]) => k.startsWith("aux_classifier."))
        .map(([, t]) => t),
    );
    assert.equal(groups.length, 2);
    assert.ok(aux.size > 0 && groups[1]!.params.length === aux.size && groups[1]!.params.every((t) => aux.has(t)));
    assert.ok(groups[0]!.params.every((t) => !aux.has(t)));
    // With plain SGD (no momentum, no decay) a step moves each parameter by -lr_group * grad: read lr_group back.
    const effective: number[][] = [];
    let before: { value: Float32Array; grad: Float32Array }[] = [];
    const probes = groups.map((g) => g.params[0]!);
    hookStep(p.taskStep!, {
      before: () => {
        before = scope(() =>
          probes.map((t) => ({ value: t.detach().data<"float32">(), grad: t.grad!.data<"float32">() })),
        );
      },
      after: () => {
        effective.push(
          probes.map((t, i) => {
            const now = scope(() => t.detach().data<"float32">());
            const { value, grad } = before[i]!;
            let num = 0;
            let den = 0;
            for (let k = 0; k < now.length; k++) {
              num += (value[k]! - now[k]!) * grad[k]!;
              den += grad[k]! * grad[k]!;
            }
            return num / den;
          }),
        );
      },
    });
    await train(p);
    const want = (t: number) => [cosine(0.02, 3, 1e-3).lr(t), cosine(0.2, 3, 1e-3).lr(t)];
    assert.equal(effective.length, 3);
    for (const [t, [main, head]] of effective.entries()) {
      const [wantMain, wantHead] = want(t);
      assert.ok(close(main!, wantMain!, 1e-4), `iteration ${t}: main lr ${main} vs ${wantMain}`);
      assert.ok(close(head!, wantHead!, 1e-4), `iteration ${t}: aux lr ${head} vs ${wantHead}`);
    }
  });
});

test("schedules step per iteration: cosine restarts with periods in epochs after a linear warm-up", async () => {
  const cfg = tinyConfig(
    root,
    { name: "sr-ft" },
    {
      optim: { task: undefined },
      schedule: {
        sr: {
          type: "cosine-restart",
          periods: [1, 1],
          unit: "epochs",
          etaMin: 1e-6,
          warmup: { length: 2, unit: "iters", startFactor: 0.1 },
        },
      },
      train: { epochs: 3, evalEvery: 3 },
    },
  );
  await withRun(cfg, async (p) => {
    const run = await train(p);
    const want = sequential([
      { iters: 2, schedule: linearWarmup(1e-3, 2, 0.1) },
      { iters: Number.POSITIVE_INFINITY, schedule: cosineRestart(1e-3, [3, 3], 1e-6) },
    ]);
    const lrs = trainRecords(run.runDir).map((r) => r.lr_sr!);
    assert.equal(lrs.length, 9);
    lrs.forEach((lr, t) => {
      assert.ok(close(lr, want.lr(t), 1e-12), `iteration ${t}: ${lr} vs ${want.lr(t)}`);
    });
    assert.ok(
      close(lrs[2]!, 1e-3, 1e-12) && close(lrs[5]!, 1e-6, 1e-12) && close(lrs[6]!, 1e-3 * 0.75 + 0.25e-6, 1e-9),
    );
  });
  // Multi-step milestones and the warm-up in epochs (the det warm-up: factor 1/iters -> 1 over one epoch).
  const s = makeSchedule(
    ScheduleConfig.parse({ type: "multistep", milestones: [1, 2], gamma: 0.1, warmup: { length: 1 } }),
    0.1,
    10,
  );
  assert.ok(close(s.lr(0), 0.01, 1e-12) && close(s.lr(5), 0.055, 1e-12));
  assert.ok(close(s.lr(10), 0.1, 1e-12) && close(s.lr(19), 0.1, 1e-12));
  assert.ok(close(s.lr(20), 0.01, 1e-12) && close(s.lr(30), 0.001, 1e-12));
});

test("gradient accumulation: 2 x 2 images per step matches 4 images per step (one schedule step per window)", async () => {
  const run = async (batchSize: number, gradAccum: number) => {
    const over = {
      optim: { task: undefined },
      schedule: { sr: { type: "cosine", periods: [3], unit: "iters" } },
      train: { epochs: 1, batchSize, gradAccum },
    };
    return withRun(tinyConfig(root, { name: "sr-ft" }, over), async (p) => {
      let steps = 0;
      hookStep(p.srStep!, { after: () => steps++ });
      const r = await train(p);
      const weights = scope(() => p.sr!.parameters().map((t) => t.detach().data<"float32">()));
      return { steps, records: trainRecords(r.runDir), weights };
    });
  };
  const whole = await run(4, 1);
  const split = await run(2, 2);
  assert.equal(whole.steps, 3);
  assert.equal(split.steps, 3);
  assert.deepEqual(
    split.records.map((r) => r.lr_sr),
    whole.records.map((r) => r.lr_sr),
  );
  for (const [i, r] of split.records.entries()) {
    assert.ok(close(r.pix!, whole.records[i]!.pix!, 1e-5), `iteration ${i}: logged loss is the window mean`);
  }
  let diff = 0;
  let moved = 0;
  for (const [i, w] of split.weights.entries()) {
    for (let k = 0; k < w.length; k++) {
      diff = Math.max(diff, Math.abs(w[k]! - whole.weights[i]![k]!));
      moved = Math.max(moved, Math.abs(w[k]!));
    }
  }
  assert.ok(diff <= 1e-5 * moved, `max weight difference ${diff}`);
});

/** The message of a plain bfloat16 convolution's failure on this CPU, undefined when it runs. */
function plainBf16ConvError(): string | undefined {
  try {
    // The result leaves the scope: dispose it, or the live-tensor count of the run below drops when GC frees it.
    scope(() =>
      F.conv2d(ones([1, 3, 4, 4], { dtype: "bfloat16" }), ones([3, 3, 1, 1], { dtype: "bfloat16" })),
    ).dispose();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

test("AMP: bf16 autocast trains on a CPU that runs bf16 convolutions and is one E_DEVICE error before the run on one that cannot; fp16 on the CPU is a config error", async (t) => {
  const sr4ir = { name: "sr4ir", tdp: { taps: { l4: 1 } }, cqmix: { grid: 4 } };
  const cfg = tinyConfig(root, sr4ir, { train: { amp: "bf16", itersPerEpoch: 2 } });
  // Both branches run in CI: the AVX-512 machine's own kernels run bf16; under DNNL_MAX_CPU_ISA=SSE41 oneDNN cannot.
  const problem = cpuBf16Problem();
  const plain = plainBf16ConvError();
  assert.equal(problem === undefined, plain === undefined, `probe: ${problem}; a plain bf16 conv2d: ${plain}`);
  t.diagnostic(problem ? `bf16 unavailable here: ${problem}` : "bf16 available here");
  if (problem) {
    await assert.rejects(
      buildRun(cfg),
      (e: unknown) =>
        e instanceof TasksrError &&
        e.code === "E_DEVICE" &&
        e.message.includes(problem) &&
        /^train\.amp: bf16 autocast cannot run on this CPU: .*; use amp: off \[E_DEVICE/.test(e.message),
    );
  } else
    await withRun(cfg, async (p) => {
      const dtypes = new Set<string>();
      const tapsOf = p.task.taps;
      p.task.taps = (x, names, batch) => {
        dtypes.add(x.dtype);
        return tapsOf(x, names, batch);
      };
      const sr = snapshot(p.sr!);
      const task = snapshot(p.task.net);
      const run = await train(p);
      assert.ok(dtypes.has("bfloat16"), `SR output dtypes under autocast: ${[...dtypes]}`);
      for (const { type, ...values } of trainRecords(run.runDir)) {
        assert.ok(Object.values(values).every(Number.isFinite), `${type}: ${JSON.stringify(values)}`);
      }
      assertAllTrainablesChanged([
        [sr, p.sr!],
        [task, p.task.net],
      ]);
      assertFlat(run.live, "bf16");
      disposeAll([...sr.values(), ...task.values()]);
    });
  await assert.rejects(
    buildRun(tinyConfig(root, sr4ir, { train: { amp: "fp16" } })),
    (e: unknown) =>
      e instanceof TasksrError && e.code === "E_CONFIG" && /train\.amp: fp16 .*CUDA.*bf16/.test(e.message),
  );
});
