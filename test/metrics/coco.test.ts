// COCO bbox evaluation against pycocotools: the shared fixture (official numbers in its SOURCE.txt) and the edge
// cases of tools/fixtures/coco_eval_cases.py (numbers from the real pycocotools, full precision).
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { TasksrError } from "../../src/errors.js";
import {
  type CocoDetection,
  CocoEvaluator,
  type CocoGroundTruth,
  formatCocoStats,
  IOU_THRESHOLDS,
  RECALL_THRESHOLDS,
  STAT_KEYS,
} from "../../src/metrics/index.js";
import { COCO_EVAL_FIXTURE, FIXTURES, readJson } from "../support/paths.js";

const SHARED = COCO_EVAL_FIXTURE;

interface Case {
  name: string;
  gt: CocoGroundTruth;
  dets: CocoDetection[];
  stats: number[];
  category_ap: number[];
  printed: string;
}
const CASES = readJson(join(FIXTURES, "metrics", "coco_cases.json")) as {
  iou_thresholds: number[];
  recall_thresholds: number[];
  cases: Case[];
};
// Our arithmetic follows pycocotools operation by operation (NumPy's pairwise summation included); only the order of
// floating-point additions could differ, so 1e-12 is the bar (measured: bit-identical on every case).
const TOL = 1e-12;

test("shared fixture: the 12 numbers equal official pycocotools (SOURCE.txt, 6 decimals)", () => {
  const ev = new CocoEvaluator(readJson(join(SHARED, "gts", "sampled_gts_bbox_area.json")) as CocoGroundTruth);
  ev.update(readJson(join(SHARED, "cocoapi_results.json")));
  const want = [
    0.503647, 0.696973, 0.571667, 0.593252, 0.557991, 0.489363, 0.386813, 0.59368, 0.595353, 0.654764, 0.60313,
    0.553744,
  ];
  const got = Object.values(ev.compute().stats);
  for (const [i, w] of want.entries()) {
    assert.ok(Math.abs(got[i]! - w) <= 5e-7 + 1e-12, `${STAT_KEYS[i]}: ${got[i]} vs ${w}`);
  }
});

test("thresholds equal NumPy's linspace values bit for bit", () => {
  assert.deepEqual([...IOU_THRESHOLDS], CASES.iou_thresholds);
  assert.deepEqual([...RECALL_THRESHOLDS], CASES.recall_thresholds);
});

for (const c of CASES.cases) {
  test(`pycocotools case "${c.name}": stats, per-category AP and printed summary`, () => {
    const ev = new CocoEvaluator(c.gt);
    ev.update(c.dets);
    const r = ev.compute();
    const got = STAT_KEYS.map((k) => r.stats[k]);
    for (const [i, w] of c.stats.entries())
      assert.ok(Math.abs(got[i]! - w) <= TOL, `${STAT_KEYS[i]}: ${got[i]} vs ${w}`);
    assert.equal(r.categories.length, c.category_ap.length);
    for (const [k, w] of c.category_ap.entries()) {
      assert.ok(
        Math.abs(r.categories[k]!.ap - w) <= TOL,
        `category ${r.categories[k]!.id}: ${r.categories[k]!.ap} vs ${w}`,
      );
    }
    assert.equal(`${formatCocoStats(r.stats)}\n`, c.printed);
  });
}

test("merging evaluators (split by image or by arrival) equals one evaluator over all detections", () => {
  const c = CASES.cases[0]!;
  const whole = new CocoEvaluator(c.gt);
  whole.update(c.dets);
  const want = whole.compute().stats;
  const odd = new CocoEvaluator(whole.gt);
  const even = new CocoEvaluator(c.gt);
  odd.update(c.dets.filter((d) => d.image_id % 2 === 1));
  even.update(c.dets.filter((d) => d.image_id % 2 === 0));
  odd.merge(even);
  assert.deepEqual(odd.compute().stats, want);
  const head = new CocoEvaluator(whole.gt);
  const tail = new CocoEvaluator(whole.gt);
  head.update(c.dets.slice(0, 100));
  tail.update(c.dets.slice(100));
  head.merge(tail);
  assert.deepEqual(head.compute().stats, want);
  head.reset();
  assert.equal(head.detectionCount, 0);
});

test("detector outputs per image (xyxy float32 boxes) give the same result as the results list", () => {
  const c = CASES.cases[3]!;
  const ev = new CocoEvaluator(c.gt);
  ev.update(c.dets);
  const viaImage = new CocoEvaluator(c.gt);
  // Integer boxes: exact in float32, so xyxy -> xywh reproduces the listed widths exactly.
  const boxes = new Float32Array(
    c.dets.flatMap((d) => [d.bbox[0]!, d.bbox[1]!, d.bbox[0]! + d.bbox[2]!, d.bbox[1]! + d.bbox[3]!]),
  );
  viaImage.updateImage(1, {
    boxes,
    scores: c.dets.map((d) => d.score),
    labels: Int32Array.from(c.dets, (d) => d.category_id),
  });
  assert.deepEqual(viaImage.compute().stats, ev.compute().stats);
});

// Input pycocotools evaluates leniently (unknown categories, unlisted images, reused ids) is in coco-lenient.test.ts.
test("malformed ground truth or detections fail with E_BAD_FILE naming the entry and field", () => {
  const c = CASES.cases[2]!;
  const bad = (msg: RegExp) => (e: unknown) =>
    e instanceof TasksrError && e.code === "E_BAD_FILE" && msg.test(e.message);
  const ev = new CocoEvaluator(c.gt, "gt.json");
  assert.throws(
    () => ev.update([...c.dets, { image_id: 77, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }], "dt.json"),
    bad(/dt\.json: \[11\]\.image_id: expected the id of an image of the ground truth \(gt\.json\), got 77/),
  );
  assert.equal(ev.detectionCount, 0, "a rejected list adds nothing");
  assert.throws(
    () => ev.update([{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 1 }], "dt.json"),
    bad(/\[0\]\.bbox/),
  );
  assert.throws(() => ev.update([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }], "dt.json"), bad(/\[0\]\.score/));
  assert.throws(() => ev.update({ annotations: [] }, "dt.json"), bad(/top level/));
  assert.throws(() => new CocoEvaluator({ images: [], categories: [] } as never, "gt.json"), bad(/annotations/));
  const crowd = structuredClone(c.gt);
  (crowd.annotations[0] as { iscrowd: number }).iscrowd = 2;
  assert.throws(() => new CocoEvaluator(crowd, "gt.json"), bad(/annotations\[0\]\.iscrowd: expected 0 or 1, got 2/));
});

test("printed summary rounds exact ties half to even, like Python's format", () => {
  const stats = Object.fromEntries(STAT_KEYS.map((k, i) => [k, [0.0625, 0.1875, 0.3125, 0.5625, -1, 0.0005][i % 6]!]));
  const values = formatCocoStats(stats as never)
    .split("\n")
    .map((l) => l.slice(-6).trim());
  assert.deepEqual(values.slice(0, 6), ["0.062", "0.188", "0.312", "0.562", "-1.000", "0.001"]);
});
