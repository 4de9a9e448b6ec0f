import assert from "node:assert/strict";
import { test } from "node:test";
import { TasksrError } from "../../src/errors.js";
import { TopKAccuracy } from "../../src/metrics/index.js";

// 4 samples x 6 classes; hand-checked ranks of the true label: 0, 1, 5, 1 (sample 3 ties with class 0 and loses).
const SCORES = new Float32Array(
  [
    [5, 1, 0, 0, 0, 0],
    [0.1, 0.9, 0.3, 0.5, 0, 0],
    [6, 5, 4, 3, 2, 1],
    [2, 2, 1, 0, 0, 0],
  ].flat(),
);
const LABELS = [0, 3, 5, 1];

test("top-1 / top-5 count the label among the k highest scores, ties ranked by class index", () => {
  const m = new TopKAccuracy({ numClasses: 6, ks: [1, 2, 3, 5, 6] });
  m.update(SCORES, LABELS);
  const r = m.compute();
  assert.equal(r.samples, 4);
  assert.deepEqual(r.top, { 1: 1 / 4, 2: 3 / 4, 3: 3 / 4, 5: 3 / 4, 6: 1 });
});

test("accuracy is weighted by samples across batches and merges exactly", () => {
  const a = new TopKAccuracy({ numClasses: 6 });
  a.update(SCORES.subarray(0, 6), LABELS.slice(0, 1));
  const b = new TopKAccuracy({ numClasses: 6 });
  b.update(SCORES.subarray(6), LABELS.slice(1));
  a.merge(b);
  assert.deepEqual(a.compute(), { samples: 4, top: { 1: 0.25, 5: 0.75 } });
  a.reset();
  assert.ok(Number.isNaN(a.compute().top[1]!));
});

test("top-k rejects bad shapes, labels, NaN scores and k > classes", () => {
  const isArg = (e: unknown) => e instanceof TasksrError && e.code === "E_TENSOR_ARG";
  const m = new TopKAccuracy({ numClasses: 6 });
  assert.throws(() => m.update(SCORES, [0, 1, 2]), isArg);
  assert.throws(() => m.update(SCORES, [0, 1, 2, 6]), isArg);
  assert.throws(() => m.update(new Float64Array(6).fill(Number.NaN), [0]), isArg);
  assert.throws(() => new TopKAccuracy({ numClasses: 3 }), /k must be an integer in 1..3/);
});
