/**
 * Resume is bit-exact on the CPU: a run stopped mid-epoch (iteration limit, abort signal, a crash, a killed process)
 * and resumed from its latest checkpoint logs the same per-iteration losses and ends with the same weights as an
 * uninterrupted run. The run exercises every random stream: shuffled batches with background prefetch, random
 * crops and flips, seeded LR noise, CQMix masks, and SR4IR's TDP switching on at the epoch boundary.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { RunConfig } from "../../src/config/schema.js";
import { setNumThreads } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { buildRun } from "../../src/train/build.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/train/checkpoint.js";
import { runFiles, trainRun } from "../../src/train/run.js";
import { checkpointParts } from "../../src/train/trainer.js";
import { tempDir } from "../support/data_trees.js";
import { REPO } from "../support/paths.js";
import { tinyConfig, writeClassTree } from "../support/train_runs.js";

// Many small ops: one intra-op thread is much faster than spinning OpenMP workers on a loaded machine.
setNumThreads(1);
const root = await writeClassTree();
// Two epochs of three iterations; TDP from epoch 2.
const cfg = tinyConfig(
  root,
  { name: "sr4ir", warmup: { length: 1 }, tdp: { taps: { l4: 1 } }, cqmix: { grid: 4 } },
  { name: "resume", degrade: { noise: { sigma: 5 } }, train: { epochs: 2 } },
);
const quiet = () => {};

interface Outcome {
  /** Per-iteration records without the throughput. */
  train: Record<string, unknown>[];
  evals: Record<string, unknown>[];
  sr: Buffer;
  task: Buffer;
  final: unknown;
}

function outcome(out: string, c: RunConfig = cfg): Outcome {
  const f = runFiles(join(out, c.name));
  const records = readFileSync(join(f.dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    train: records.filter((r) => r.type === "train").map(({ imgPerSec: _, ...r }) => r),
    evals: records.filter((r) => r.type === "eval"),
    sr: readFileSync(f.sr),
    task: readFileSync(f.task),
    final: (JSON.parse(readFileSync(f.results, "utf8")) as { final: unknown }).final,
  };
}

function assertSameRun(got: Outcome, want: Outcome, what: string): void {
  assert.equal(want.train.length, 6);
  assert.deepEqual(got.train, want.train, `${what}: per-iteration losses`);
  assert.deepEqual(got.evals, want.evals, `${what}: evaluations`);
  assert.ok(got.sr.equals(want.sr), `${what}: final SR weights bit-identical`);
  assert.ok(got.task.equals(want.task), `${what}: final task weights bit-identical`);
  assert.deepEqual(got.final, want.final);
}

const reference = await (async () => {
  const out = tempDir("resume-ref");
  const r = await trainRun(cfg, { out, log: quiet });
  assert.equal(r.stopped, "completed");
  return outcome(out);
})();

test("stopped after 4 iterations (mid-epoch 2) and resumed: same losses and weights", async () => {
  const out = tempDir("resume-limit");
  const first = await trainRun(cfg, { out, log: quiet, stopAfterIters: 4 });
  assert.deepEqual([first.stopped, first.iterations], ["limit", 4]);
  const second = await trainRun(cfg, { out, log: quiet, resume: "auto" });
  assert.deepEqual([second.stopped, second.iterations], ["completed", 6]);
  assertSameRun(outcome(out), reference, "iteration limit");
  // Resuming the finished run trains nothing and reports the same final result again.
  const again = await trainRun(cfg, { out, log: quiet, resume: "auto" });
  assert.deepEqual([again.stopped, again.iterations], ["completed", 6]);
  assert.deepEqual(outcome(out).final, reference.final);
});

test("aborted by a signal mid-epoch 1 and resumed: same losses and weights", async () => {
  const out = tempDir("resume-abort");
  const ac = new AbortController();
  const log = (l: string) => {
    if (l.includes("] it 2/")) ac.abort();
  };
  const first = await trainRun(cfg, { out, log, signal: ac.signal });
  assert.deepEqual([first.stopped, first.iterations], ["aborted", 2]);
  await trainRun(cfg, { out, log: quiet, resume: "auto" });
  assertSameRun(outcome(out), reference, "abort");
});

test("a crash mid-epoch 2 resumes from the epoch-1 checkpoint; metrics.jsonl is rewound, not duplicated", async () => {
  const out = tempDir("resume-crash");
  const log = (l: string) => {
    if (l.includes("] it 5/")) throw new Error("simulated crash");
  };
  await assert.rejects(trainRun(cfg, { out, log }), /simulated crash/);
  const f = runFiles(join(out, cfg.name));
  const logged = readFileSync(join(f.dir, "metrics.jsonl"), "utf8");
  assert.match(logged, /"iter":5/, "iterations after the checkpoint were logged before the crash");
  await trainRun(cfg, { out, log: quiet, resume: "auto" });
  assertSameRun(outcome(out), reference, "crash");
});

test("a killed training process resumes with the same losses and weights", async () => {
  const out = tempDir("resume-kill");
  const cfgPath = join(out, "config.json");
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const child = join(REPO, "dist", "test", "support", "train_child.js");
  const run = (killAt?: string) =>
    new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
      const p = spawn(process.execPath, [child, cfgPath, out], { stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      p.stdout.on("data", (d: Buffer) => {
        text += d.toString();
        if (killAt && text.includes(killAt)) p.kill("SIGKILL");
      });
      p.on("error", reject);
      p.on("exit", (code, signal) => resolve({ code, signal }));
    });
  assert.deepEqual(await run("] it 4/"), { code: null, signal: "SIGKILL" });
  assert.ok(existsSync(runFiles(join(out, cfg.name)).latest), "the epoch-1 checkpoint survives the kill");
  assert.deepEqual(await run(), { code: 0, signal: null });
  assertSameRun(outcome(out), reference, "kill");
});

test("resuming with a different config is an error naming both hashes", async () => {
  const out = tempDir("resume-hash");
  await trainRun(cfg, { out, log: quiet, stopAfterIters: 1 });
  const changed = { ...cfg, optim: { ...cfg.optim, sr: { ...cfg.optim.sr!, lr: 2e-3 } } };
  await assert.rejects(
    trainRun(changed, { out, log: quiet, resume: "auto" }),
    (e: unknown) =>
      e instanceof TasksrError &&
      e.code === "E_CONFIG" &&
      /latest\.safetensors was written by a run with a different config \(hash [0-9a-f]{16}, now [0-9a-f]{16}\)/.test(
        e.message,
      ),
  );
});

test("checkpoint writes are atomic: a half-written temp file never replaces or spoils the latest checkpoint", async () => {
  const out = tempDir("resume-atomic");
  await trainRun(cfg, { out, log: quiet, stopAfterIters: 4 });
  const f = runFiles(join(out, cfg.name));
  const good = readFileSync(f.latest);
  // A crash between writing the temp file and renaming it leaves a temp file (here cut short) next to latest.
  const temp = `${f.latest}.tmp-4242-0badc0de`;
  writeFileSync(temp, good.subarray(0, good.length >> 1));
  await assert.rejects(
    trainRun(cfg, { out, log: quiet, resume: temp }),
    (e: unknown) => e instanceof TasksrError && e.code === "E_BAD_FILE",
  );
  // A save that fails while gathering state leaves the previous file as it was.
  const p = await buildRun(cfg);
  try {
    const parts = checkpointParts(p);
    const broken = {
      ...parts,
      optimizers: {
        ...parts.optimizers,
        task: {
          stateDict: () => {
            throw new Error("simulated failure while saving");
          },
          loadStateDict: () => {},
        },
      },
    };
    const state = { epoch: 1, iteration: 5, batchInEpoch: 2, configHash: "x", extra: {} };
    assert.throws(() => saveCheckpoint(f.latest, broken, state), /simulated failure/);
    assert.ok(readFileSync(f.latest).equals(good), "latest is byte-identical");
    assert.equal(loadCheckpoint(f.latest, parts).iteration, 4);
  } finally {
    p.dispose();
  }
  await trainRun(cfg, { out, log: quiet, resume: "auto" });
  assertSameRun(outcome(out), reference, "after a half-written temp file");
});
