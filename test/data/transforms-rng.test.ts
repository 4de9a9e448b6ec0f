import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../src/data/transforms/rng.js";

const draws = (r: Rng, n: number) => Array.from({ length: n }, () => r.uint32());

test("the same keys give the same stream; any changed key gives another", () => {
  assert.deepEqual(draws(new Rng(7, 2, 41), 16), draws(new Rng(7, 2, 41), 16));
  const base = draws(new Rng(7, 2, 41), 16);
  for (const keys of [
    [7, 2, 42],
    [7, 3, 41],
    [8, 2, 41],
    [7, 41, 2],
    [7, 2, 41, 0],
    [7, 2, 41 + 2 ** 32],
  ]) {
    assert.notDeepEqual(draws(new Rng(...keys), 16), base, `keys ${keys}`);
  }
});

test("uniform, int and bool have the expected ranges and moments", () => {
  const r = new Rng(1);
  let sum = 0;
  const counts = new Array(6).fill(0);
  let heads = 0;
  const n = 60000;
  for (let i = 0; i < n; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    counts[r.int(0, 5)]++;
    if (r.bool(0.25)) heads++;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
  for (const c of counts) assert.ok(Math.abs(c / n - 1 / 6) < 0.01, `int counts ${counts}`);
  assert.ok(Math.abs(heads / n - 0.25) < 0.01, `bool rate ${heads / n}`);
  let m = 0;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    m += z;
    v += z * z;
  }
  assert.ok(Math.abs(m / n) < 0.02 && Math.abs(v / n - 1) < 0.03, `normal moments ${m / n} ${v / n}`);
});

test("shuffle is a permutation and depends on the stream", () => {
  const a = new Rng(3).shuffle(Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.notDeepEqual(a, new Rng(4).shuffle(Array.from({ length: 50 }, (_, i) => i)));
});

test("invalid keys are rejected", () => {
  assert.throws(() => new Rng(-1), /non-negative/);
  assert.throws(() => new Rng(0.5), /non-negative/);
});
