// Segmentation confusion matrix / IoU / mIoU against the NumPy reference of tools/fixtures/miou.py.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { TasksrError } from "../../src/errors.js";
import { ConfusionMatrix, type NanPolicy, type SegmentationSummary } from "../../src/metrics/index.js";
import { FIXTURES } from "../support/paths.js";

interface Scores {
  matrix: number[];
  pixels: number;
  pixel_accuracy: number;
  class_accuracy: (number | null)[];
  iou: (number | null)[];
  miou_propagate: number | null;
  miou_ignore: number;
  miou_zero: number;
}
interface Case {
  gt_b64: string;
  pred_b64: string;
  scores: Scores;
}
const DOC = JSON.parse(readFileSync(join(FIXTURES, "metrics", "miou_cases.json"), "utf8")) as {
  num_classes: number;
  cases: Case[];
  all: Scores;
};
const N = DOC.num_classes;
const TOL = 1e-12;
const maps = (c: Case) => ({
  gt: new Uint8Array(Buffer.from(c.gt_b64, "base64")),
  pred: new Uint8Array(Buffer.from(c.pred_b64, "base64")),
});

function close(got: number, want: number | null, what: string): void {
  if (want === null) assert.ok(Number.isNaN(got), `${what}: ${got}, expected NaN`);
  else assert.ok(Math.abs(got - want) <= TOL, `${what}: ${got} vs ${want}`);
}

function check(r: SegmentationSummary, want: Scores, miou: number | null, what: string): void {
  assert.equal(r.pixels, want.pixels, `${what} pixels`);
  close(r.pixelAccuracy, want.pixel_accuracy, `${what} pixel accuracy`);
  for (let c = 0; c < N; c++) {
    close(r.iou[c]!, want.iou[c]!, `${what} IoU[${c}]`);
    close(r.classAccuracy[c]!, want.class_accuracy[c]!, `${what} accuracy[${c}]`);
  }
  close(r.miou, miou, `${what} mIoU`);
}

test("confusion matrix, IoU, accuracies and mIoU equal NumPy for every NaN policy (void pixels ignored)", () => {
  const policies: [NanPolicy, (s: Scores) => number | null][] = [
    ["propagate", (s) => s.miou_propagate],
    ["ignore", (s) => s.miou_ignore],
    ["zero", (s) => s.miou_zero],
  ];
  for (const [nan, pick] of policies) {
    for (const [i, c] of DOC.cases.entries()) {
      const m = new ConfusionMatrix(N, { nan });
      const { gt, pred } = maps(c);
      m.update(gt, pred);
      assert.deepEqual([...m.matrix], c.scores.matrix, `case ${i} matrix`);
      check(m.compute(), c.scores, pick(c.scores), `${nan} case ${i}`);
    }
  }
  assert.equal(DOC.cases[1]!.scores.miou_propagate, null, "the fixture has a class absent from case 1");
});

test("merging per-worker matrices equals one pass over all maps", () => {
  const whole = new ConfusionMatrix(N);
  const parts = DOC.cases.map(() => new ConfusionMatrix(N));
  for (const [i, c] of DOC.cases.entries()) {
    const { gt, pred } = maps(c);
    whole.update(gt, pred);
    parts[i]!.update(gt, pred);
  }
  for (const p of parts.slice(1)) parts[0]!.merge(p);
  check(whole.compute(), DOC.all, DOC.all.miou_propagate, "one pass");
  check(parts[0]!.compute(), DOC.all, DOC.all.miou_propagate, "merged");
  whole.reset();
  assert.equal(whole.compute().pixels, 0);
});

test("confusion matrix rejects out-of-range predictions and mismatched lengths", () => {
  const m = new ConfusionMatrix(3);
  const isArg = (e: unknown) => e instanceof TasksrError && e.code === "E_TENSOR_ARG";
  assert.throws(() => m.update([0, 1], [0, 3]), isArg);
  assert.throws(() => m.update([0, 1], [0]), isArg);
  assert.throws(() => m.merge(new ConfusionMatrix(4) as never), isArg);
  m.update([0, 255, -1, 3, 2], [0, 7, 9, 1, 2]);
  assert.equal(m.compute().pixels, 2, "GT outside [0, N) is ignored whatever the prediction");
});
