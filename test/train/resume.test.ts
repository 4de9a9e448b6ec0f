/**
 * Resume is bit-exact on the CPU: a run stopped mid-epoch (iteration limit, abort signal, a crash, a killed process)
 * and resumed from its latest checkpoint logs the same per-iteration losses and ends with the same weights as an
 * uninterrupted run. The run exercises every random stream: shuffled batches with background prefetch, random
 * crops and flips, seeded LR noise, CQMix masks, and SR4IR's TDP switching on at the epoch boundary.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import type { RunConfig } from "../../src/config/schema.js";
import { setNumThreads } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { buildRun } from "../../src/train/build.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/train/checkpoint.js";
import { readResults, runFiles, trainRun } from "../../src/train/run.js";
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
  /** results.json's evaluations. */
  resultEvals: unknown;
}

const results = (out: string, c: RunConfig = cfg) => readResults(join(out, c.name));

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
    final: results(out, c).final,
    resultEvals: results(out, c).evals,
  };
}

function assertSameRun(got: Outcome, want: Outcome, what: string): void {
  assert.equal(want.train.length, 6);
  assert.deepEqual(got.train, want.train, `${what}: per-iteration losses`);
  assert.deepEqual(got.evals, want.evals, `${what}: evaluations`);
  assert.ok(got.sr.equals(want.sr), `${what}: final SR weights bit-identical`);
  assert.ok(got.task.equals(want.task), `${what}: final task weights bit-identical`);
  assert.deepEqual(got.final, want.final);
  assert.deepEqual(got.resultEvals, want.resultEvals, `${what}: results.json lists every evaluation`);
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
  // Both segments' evaluations and time: epoch 1's evaluation ran in the first segment.
  const r = results(out);
  assert.deepEqual(
    r.evals.map((e) => e.epoch),
    [1, 2],
  );
  assert.ok(r.seconds > second.seconds + first.seconds / 2, `${r.seconds} s: both segments' time`);
  assert.ok(r.seconds <= first.seconds + second.seconds + 0.05, `${r.seconds} s: no more than both segments`);
});

test("resuming a finished run trains, evaluates and writes nothing", async () => {
  const out = tempDir("resume-finished");
  await trainRun(cfg, { out, log: quiet });
  const f = runFiles(join(out, cfg.name));
  const before = [f.results, f.sr, f.task, f.latest, join(f.dir, "metrics.jsonl")].map((p) => readFileSync(p));
  const lines: string[] = [];
  const again = await trainRun(cfg, { out, log: (l) => lines.push(l), resume: "auto" });
  assert.deepEqual([again.stopped, again.iterations, again.finishedBefore], ["completed", 6, true]);
  assert.deepEqual(again.results?.final, reference.final);
  assert.deepEqual(
    [f.results, f.sr, f.task, f.latest, join(f.dir, "metrics.jsonl")].map((p) => readFileSync(p)),
    before,
    "results, weights, checkpoint and metrics.jsonl are unchanged (no extra eval record)",
  );
  assert.match(lines.join("\n"), /has finished: nothing to train/);
});

test("a kill after the last checkpoint but before the final weights: the final evaluation is recorded once", async () => {
  const out = tempDir("resume-final");
  await trainRun(cfg, { out, log: quiet });
  const f = runFiles(join(out, cfg.name));
  for (const p of [f.results, f.sr, f.task]) rmSync(p);
  await trainRun(cfg, { out, log: quiet, resume: "auto" });
  assertSameRun(outcome(out), reference, "resumed at the end");
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

test("resuming with a different config is an error naming both hashes; the folder keeps the run's config", async () => {
  const out = tempDir("resume-hash");
  await trainRun(cfg, { out, log: quiet, stopAfterIters: 1 });
  const f = runFiles(join(out, cfg.name));
  const kept = [f.config, join(f.dir, "cmd.txt")].map((p) => readFileSync(p, "utf8"));
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
  assert.deepEqual(
    [f.config, join(f.dir, "cmd.txt")].map((p) => readFileSync(p, "utf8")),
    kept,
    "config.resolved.yaml (read by eval --run) and cmd.txt are as before the refused resume",
  );
});

test("checkpoint writes are atomic: a half-written temp file never replaces or spoils the latest checkpoint", async () => {
  const out = tempDir("resume-atomic");
  await trainRun(cfg, { out, log: quiet, stopAfterIters: 4 });
  const f = runFiles(join(out, cfg.name));
  const good = readFileSync(f.latest);
  // A crash between writing the temp file and renaming it leaves a temp file (here cut short) next to latest; the
  // next run removes it. Resuming from such a file (a copy, which no run removes) is an error.
  const temp = `${f.latest}.tmp-4242-0badc0de`;
  writeFileSync(temp, good.subarray(0, good.length >> 1));
  const cut = join(out, "cut.safetensors");
  writeFileSync(cut, good.subarray(0, good.length >> 1));
  await assert.rejects(
    trainRun(cfg, { out, log: quiet, resume: cut }),
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
  assert.ok(!existsSync(temp), "the temp file is removed");
  assertSameRun(outcome(out), reference, "after a half-written temp file");
});

test("opening a run removes the temp files of dead writers and keeps a live writer's", async () => {
  const out = tempDir("resume-temps");
  await trainRun(cfg, { out, log: quiet, stopAfterIters: 4 });
  const f = runFiles(join(out, cfg.name));
  const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
  const deadTemps = [`${f.latest}.tmp-${dead}-0badc0de`, join(f.dir, `results.json.tmp-${dead}-1234abcd`)];
  for (const p of deadTemps) writeFileSync(p, "cut short");
  // The parent of this test process is alive: its temp file may still be renamed into place.
  const live = join(f.dir, `notes.txt.tmp-${process.ppid}-00ff00ff`);
  writeFileSync(live, "being written");
  const lines: string[] = [];
  await trainRun(cfg, { out, log: (l) => lines.push(l), resume: "auto" });
  assert.deepEqual(
    deadTemps.filter((p) => existsSync(p)),
    [],
    "dead writers' temp files are removed",
  );
  assert.ok(existsSync(live), "a live writer's temp file is kept");
  assert.match(lines[0]!, /removed 2 temp file\(s\) left by killed writes/);
  assertSameRun(outcome(out), reference, "after removing temp files");
});

test("a kill between writing latest and the epoch snapshot: the snapshot is recreated on resume", async () => {
  const out = tempDir("resume-snapshot");
  const crash = (l: string) => {
    if (l.includes("] it 4/")) throw new Error("simulated crash");
  };
  await assert.rejects(trainRun(cfg, { out, log: crash }), /simulated crash/);
  const f = runFiles(join(out, cfg.name));
  const snapshot = join(dirname(f.latest), "epoch_001.safetensors");
  const written = readFileSync(snapshot);
  // As if killed after latest (end of epoch 1) was renamed into place and before epoch_001 was.
  rmSync(snapshot);
  const lines: string[] = [];
  await trainRun(cfg, { out, log: (l) => lines.push(l), resume: "auto" });
  assert.ok(existsSync(snapshot), "epoch_001 exists again");
  assert.ok(readFileSync(snapshot).equals(written), "byte for byte the snapshot the trainer wrote");
  assert.ok(lines.some((l) => l.startsWith(`recreated ${snapshot}`)));
  assert.deepEqual(readdirSync(dirname(f.latest)).sort(), [
    "epoch_001.safetensors",
    "epoch_002.safetensors",
    "latest.safetensors",
  ]);
  assertSameRun(outcome(out), reference, "after recreating the snapshot");
});
