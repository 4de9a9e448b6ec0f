/**
 * Distributed runs that stop, resume and fail: resume from a checkpoint of 2 processes with 1 and the other way
 * round, Ctrl-C to `tasksr train --nproc-per-node 2` (every worker stops at the same step, one checkpoint), a killed
 * and a hung worker (the job ends with E_DIST naming the rank, non-zero, within the collective timeout).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import { stringify } from "yaml";
import type { RunConfig } from "../../src/config/schema.js";
import { readCheckpointState } from "../../src/train/checkpoint.js";
import { runFiles } from "../../src/train/run.js";
import { tempDir } from "../support/data_trees.js";
import { noDist, resultOf, runRanks } from "../support/dist.js";
import { descendantsOf, launch } from "../support/processes.js";
import { tinyConfig, writeNoiseClassTree } from "../support/train_runs.js";

const root = await writeNoiseClassTree("dist-faults", 32);

/** resnet-tiny H→T on 12 images, batch 2 per process; `epochs` long. */
const config = (name: string, epochs: number) =>
  tinyConfig(
    root,
    { name: "hr2task" },
    {
      name,
      sr: undefined,
      optim: { sr: undefined, task: { type: "sgd", lr: 0.01 } },
      data: { transforms: { resize: 32, crop: 32 }, prefetch: 1 },
      train: { epochs, batchSize: 2, logEvery: 1, seed: 1, syncBatchNorm: true },
      eval: { batchSize: 2, limit: 4, psnr: [], ssim: false },
    },
  );

function writeConfig(dir: string, cfg: RunConfig): string {
  const path = join(dir, `${cfg.name}.json`);
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

/** Trains with `world` ranks of test/support/dist_train.js; returns rank 0's result and output. */
async function trainRanks(world: number, path: string, out: string, stop?: number) {
  const r = await runRanks("dist_train.js", [path, out, ...(stop === undefined ? [] : [String(stop)])], world);
  assert.equal(r.status, 0, r.workers.map((w) => `${w.stdout}\n${w.stderr}`).join("\n"));
  return { ...resultOf<{ stopped: string; iterations: number }>(r, 0), log: r.workers[0]!.stdout };
}

test(
  "a run of 2 processes resumes with 1, mid-epoch and at its end, and a run of 1 with 2",
  { skip: noDist },
  async () => {
    const dir = tempDir("dist-resume");
    const out = join(dir, "runs");
    // 2 processes: 3 iterations of 2 x 2 images per epoch; stopped after 1 (sample 4 of 12).
    const path = writeConfig(dir, config("two-to-one", 2));
    const a = await trainRanks(2, path, out, 1);
    assert.deepEqual([a.stopped, a.iterations], ["limit", 1]);
    const latest = runFiles(join(out, "two-to-one")).latest;
    assert.deepEqual([readCheckpointState(latest).world, readCheckpointState(latest).batchInEpoch], [2, 1]);
    // 1 process: 6 iterations of 2 images per epoch; sample 4 is its iteration 2.
    const b = await trainRanks(1, path, out);
    assert.match(
      b.log,
      /written by 2 process\(es\), this run has 1: epoch 1 continues at sample 4 of the epoch \(was 4\), iteration 2 \(was 1\)/,
    );
    assert.deepEqual([b.stopped, b.iterations], ["completed", 12]);
    const results = JSON.parse(readFileSync(runFiles(join(out, "two-to-one")).results, "utf8")) as {
      iterations: number;
    };
    assert.equal(results.iterations, 12);

    // 1 process stopped after 3 iterations (sample 6), continued by 2: global batches of 4, so sample 4 (one window
    // seen again) is iteration 1 of 3 per epoch.
    const path2 = writeConfig(dir, config("one-to-two", 2));
    const c = await trainRanks(1, path2, out, 3);
    assert.deepEqual([c.stopped, c.iterations], ["limit", 3]);
    const d = await trainRanks(2, path2, out);
    assert.match(
      d.log,
      /written by 1 process\(es\), this run has 2: epoch 1 continues at sample 4 of the epoch \(was 6\), iteration 1 \(was 3\)/,
    );
    assert.deepEqual([d.stopped, d.iterations], ["completed", 6]);
  },
);

test(
  "Ctrl-C to `tasksr train --nproc-per-node 2` stops both workers with one checkpoint; --resume auto finishes",
  { skip: noDist },
  async () => {
    const dir = tempDir("dist-sigint");
    const path = join(dir, "long.yaml");
    // Long enough (20 epochs of 3 steps) that the stop comes first, short enough to finish when resumed.
    writeFileSync(path, stringify(config("long", 20)));
    const out = join(dir, "runs");
    const first = launch(["train", "--config", path, "--out", out, "--nproc-per-node", "2"]);
    await first.waitFor(/\] it 2\//, 60_000);
    first.proc.kill("SIGINT");
    const exit = await first.exited(60_000);
    assert.deepEqual(exit, { code: 130, signal: null }, first.output());
    const stopped = /stopped at epoch \d+, iteration (\d+); checkpoint saved/.exec(first.output());
    assert.ok(stopped, first.output());
    // One line from rank 0, not one per worker.
    assert.equal(first.output().match(/stopping after this step/g)?.length, 1, first.output());
    const state = readCheckpointState(runFiles(join(out, "long")).latest);
    assert.deepEqual([state.iteration, state.world], [Number(stopped[1]), 2]);
    const second = launch(["train", "--config", path, "--out", out, "--nproc-per-node", "2", "--resume", "auto"]);
    assert.deepEqual(await second.exited(120_000), { code: 0, signal: null }, second.output());
    assert.match(second.output(), new RegExp(`resumed from .* iteration ${stopped[1]}`));
    assert.match(second.output(), /done: long/);
  },
);

for (const how of ["killed", "hung"] as const) {
  test(
    `a ${how} worker ends the job with E_DIST naming the rank, a non-zero status and an intact checkpoint`,
    { skip: noDist },
    async () => {
      const dir = tempDir(`dist-${how}`);
      const path = join(dir, "long.yaml");
      writeFileSync(path, stringify(config("long", 500)));
      const out = join(dir, "runs");
      const job = launch(["train", "--config", path, "--out", out, "--nproc-per-node", "2", "--dist-timeout", "5"]);
      // After the first epoch's checkpoint.
      await job.waitFor(/\[epoch 1\/500\] eval/, 60_000);
      await job.waitFor(/\] it 5\//, 60_000);
      const rank1 = descendantsOf(job.proc.pid!).find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes("RANK=1");
        } catch {
          return false;
        }
      });
      assert.ok(rank1 !== undefined, "no rank 1 worker found");
      const t0 = performance.now();
      process.kill(rank1, how === "killed" ? "SIGKILL" : "SIGSTOP");
      const exit = await job.exited(60_000);
      const seconds = (performance.now() - t0) / 1000;
      assert.notEqual(exit.code, 0, job.output());
      const text = job.output();
      if (how === "killed") {
        assert.match(text, /worker rank 1 of 2 was killed by SIGKILL/);
        assert.ok(seconds < 5, `took ${seconds} s`);
      } else {
        // Rank 0 waits for the stopped rank until the collective timeout, then fails and the launcher ends the job.
        assert.match(text, /rank 0 of 2: .* failed \(collective timeout 5 s\)/);
        assert.match(text, /worker rank 0 of 2 exited/);
        assert.ok(seconds >= 4 && seconds < 20, `took ${seconds} s`);
      }
      assert.match(text, /E_DIST/);
      // The last checkpoint written is whole.
      const state = readCheckpointState(runFiles(join(out, "long")).latest);
      assert.equal(state.world, 2);
    },
  );
}
