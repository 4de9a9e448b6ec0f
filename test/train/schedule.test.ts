import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { TasksrError } from "../../src/errors.js";
import {
  cosine,
  cosineRestart,
  linearWarmup,
  multiStep,
  parseLossStages,
  type Schedule,
  sequential,
  stageAt,
  totalIters,
} from "../../src/train/schedule.js";
import { FIXTURES } from "../support/paths.js";

const ref = JSON.parse(readFileSync(join(FIXTURES, "train", "schedules.json"), "utf8")) as Record<string, number[]>;

function close(s: Schedule, want: number[], name: string): void {
  want.forEach((v, t) => {
    assert.ok(Math.abs(s.lr(t) - v) <= 1e-12 + 1e-9 * Math.abs(v), `${name} t=${t}: ${s.lr(t)} vs ${v}`);
  });
}

test("closed-form schedules equal torch's schedulers step by step (1e-9 relative)", () => {
  close(cosine(0.1, 20, 1e-3), ref.cosine!, "cosine");
  close(linearWarmup(0.1, 10, 0.01), ref.linear!, "linear");
  close(multiStep(0.1, [5, 9], 0.1), ref.multistep!, "multistep");
  close(cosineRestart(0.1, [10, 30], 1e-4), ref.cosine_restart!, "cosine_restart");
});

test("cosine restart restarts from base at the period boundary", () => {
  const s = cosineRestart(1, [4, 8], 0);
  assert.equal(s.lr(0), 1);
  assert.ok(Math.abs(s.lr(4)) < 1e-12);
  assert.ok(Math.abs(s.lr(5) - 0.5 * (1 + Math.cos(Math.PI / 8))) < 1e-12);
});

test("sequential runs parts with local iteration counts (det warm-up then cosine)", () => {
  const s = sequential([
    { iters: 10, schedule: linearWarmup(0.02, 10, 0.1) },
    { iters: 100, schedule: cosineRestart(0.02, [20, 80], 1e-4) },
  ]);
  assert.ok(Math.abs(s.lr(0) - 0.002) < 1e-15);
  assert.equal(s.lr(10), 0.02);
  assert.ok(s.lr(30) < 1e-3);
});

test("TDSR loss schedules parse and select the active stage", () => {
  const st = parseLossStages("100k:1:0+200k:1:0.01");
  assert.deepEqual(st, [
    { iters: 100000, alpha: 1, beta: 0 },
    { iters: 200000, alpha: 1, beta: 0.01 },
  ]);
  assert.equal(totalIters(st), 300000);
  assert.equal(stageAt(st, 99999).beta, 0);
  assert.equal(stageAt(st, 100000).beta, 0.01);
  assert.equal(stageAt(st, 10 ** 9).index, 1);
  assert.deepEqual(parseLossStages("2ep:1:0 + 3.5ep:0.5:1e-2", 10), [
    { iters: 20, alpha: 1, beta: 0 },
    { iters: 35, alpha: 0.5, beta: 0.01 },
  ]);
  assert.throws(
    () => parseLossStages("100k:1"),
    (e: unknown) => e instanceof TasksrError && e.code === "E_CONFIG",
  );
  assert.throws(() => parseLossStages("3ep:1:0"), /epoch length is unknown/);
});
