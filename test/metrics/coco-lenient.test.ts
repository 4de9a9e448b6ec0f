// Input that pycocotools evaluates leniently (detections of unknown categories, annotations on unlisted images or
// categories, reused annotation ids, degenerate boxes): by default the numbers of the real pycocotools
// (tools/fixtures/coco_lenient_cases.py) and counts for the warnings; under `strict` the E_BAD_FILE of each entry.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { TasksrError } from "../../src/errors.js";
import {
  type CocoDetection,
  CocoEvaluator,
  type CocoGroundTruth,
  type CocoLenientCounts,
  type CocoReadOptions,
  cocoLenientWarnings,
  formatCocoStats,
  STAT_KEYS,
} from "../../src/metrics/index.js";
import { COCO_EVAL_FIXTURE, FIXTURES, readJson } from "../support/paths.js";

const SHARED = COCO_EVAL_FIXTURE;

interface Numbers {
  stats: number[];
  category_ap: number[];
  printed: string;
}
interface Case extends Numbers {
  name: string;
  gt: CocoGroundTruth;
  dets: CocoDetection[];
  lenient: CocoLenientCounts;
}
const FIXTURE = readJson(join(FIXTURES, "metrics", "coco_lenient_cases.json")) as {
  shared: Numbers & {
    insert_every: number;
    unknown_detections: CocoDetection[];
    without: Numbers;
    lenient: CocoLenientCounts;
  };
  cases: Case[];
};
const [UNKNOWN_DETS, UNLISTED, REUSED] = FIXTURE.cases;
// As coco.test.ts: our arithmetic follows pycocotools operation by operation, so only the order of floating-point
// additions could differ; 1e-12 is the bar (measured: bit-identical on every case).
const TOL = 1e-12;

/** Without `o`, the evaluator's defaults. */
function evaluate(gt: CocoGroundTruth, dets: readonly unknown[], o?: CocoReadOptions) {
  const ev = new CocoEvaluator(gt, "gt.json", o);
  ev.update(dets, "dt.json");
  return ev.compute();
}

function assertPycocotools(r: ReturnType<typeof evaluate>, want: Numbers): void {
  for (const [i, w] of want.stats.entries()) {
    const got = r.stats[STAT_KEYS[i]!];
    assert.ok(Math.abs(got - w) <= TOL, `${STAT_KEYS[i]}: ${got} vs ${w}`);
  }
  assert.equal(r.categories.length, want.category_ap.length);
  for (const [k, w] of want.category_ap.entries()) {
    assert.ok(Math.abs(r.categories[k]!.ap - w) <= TOL, `category ${r.categories[k]!.id}: ${r.categories[k]!.ap}`);
  }
  assert.equal(`${formatCocoStats(r.stats)}\n`, want.printed);
}

const bad = (msg: RegExp) => (e: unknown) => e instanceof TasksrError && e.code === "E_BAD_FILE" && msg.test(e.message);

/** The shared results list with the fixture's unknown-category detections inserted as the script did. */
function sharedWithUnknown(): { gt: CocoGroundTruth; results: CocoDetection[]; merged: CocoDetection[] } {
  const gt = readJson(join(SHARED, "gts", "sampled_gts_bbox_area.json")) as CocoGroundTruth;
  const results = readJson(join(SHARED, "cocoapi_results.json")) as CocoDetection[];
  const { insert_every: every, unknown_detections: unknown } = FIXTURE.shared;
  const merged = results.flatMap((d, i) => (i % every === 0 ? [unknown[i / every]!, d] : [d]));
  return { gt, results, merged };
}

test("shared fixture with detections of unknown categories: pycocotools' numbers, those of the results alone", () => {
  const { gt, results, merged } = sharedWithUnknown();
  const r = evaluate(gt, merged);
  assertPycocotools(r, FIXTURE.shared);
  assert.deepEqual(r.lenient, FIXTURE.shared.lenient);
  assert.equal(r.lenient.detectionsOfUnknownCategories, FIXTURE.shared.unknown_detections.length);
  assert.equal(r.detections, results.length);
  const alone = evaluate(gt, results);
  assertPycocotools(alone, FIXTURE.shared.without);
  assert.deepEqual(r.stats, alone.stats);
});

for (const c of FIXTURE.cases) {
  test(`pycocotools case "${c.name}": stats, per-category AP, printed summary and lenient counts`, () => {
    const r = evaluate(c.gt, c.dets);
    assertPycocotools(r, c);
    assert.deepEqual(r.lenient, c.lenient);
  });
}

test("ignored detections and annotations: the same numbers as the files without them", () => {
  const cats = (gt: CocoGroundTruth) => new Set(gt.categories.map((x) => x.id));
  const known = cats(UNKNOWN_DETS!.gt);
  const clean = UNKNOWN_DETS!.dets.filter((d) => known.has(d.category_id));
  assert.ok(clean.length < UNKNOWN_DETS!.dets.length);
  assert.deepEqual(evaluate(UNKNOWN_DETS!.gt, UNKNOWN_DETS!.dets).stats, evaluate(UNKNOWN_DETS!.gt, clean).stats);

  const { gt, dets } = UNLISTED!;
  const images = new Set(gt.images.map((x) => x.id));
  const listed = cats(gt);
  const cleanGt = {
    ...gt,
    annotations: gt.annotations.filter((a) => images.has(a.image_id) && listed.has(a.category_id)),
  };
  const r = evaluate(
    cleanGt,
    dets.filter((d) => listed.has(d.category_id)),
  );
  assert.deepEqual(evaluate(gt, dets).stats, r.stats);
  assert.deepEqual(r.lenient, {
    annotationsOnUnlistedImages: 0,
    annotationsOfUnlistedCategories: 0,
    annotationsWithReusedIds: 0,
    detectionsOfUnknownCategories: 0,
  });
});

test("reused annotation ids: each annotation is evaluated as the last one with its id, as pycocotools", () => {
  const gt = structuredClone(REUSED!.gt);
  // Evaluating the file as written (every annotation its own) gives other numbers: the fixture tells them apart.
  gt.annotations.forEach((a, i) => {
    a.id = 10_000 + i;
  });
  const written = evaluate(gt, REUSED!.dets).stats;
  assert.notDeepEqual(written, evaluate(REUSED!.gt, REUSED!.dets).stats);
});

test("strict: each kind of lenient input is E_BAD_FILE naming the file, the entry and the field", () => {
  const { gt, dets } = UNKNOWN_DETS!;
  const first = dets.findIndex((d) => !gt.categories.some((x) => x.id === d.category_id));
  const ev = new CocoEvaluator(gt, "gt.json", { strict: true });
  assert.throws(
    () => ev.update(dets, "dt.json"),
    bad(
      new RegExp(
        `dt\\.json: \\[${first}\\]\\.category_id: expected a category id of the ground truth \\(gt\\.json\\), got ` +
          `${dets[first]!.category_id}`,
      ),
    ),
  );
  assert.equal(ev.detectionCount, 0, "a rejected list adds nothing");
  assert.throws(
    () => evaluate(UNLISTED!.gt, [], { strict: true }),
    bad(/gt\.json: annotations\[3\]\.category_id: expected the id of an entry of categories, got 7/),
  );
  const lost = structuredClone(UNKNOWN_DETS!.gt);
  (lost.annotations[0] as { image_id: number }).image_id = 4242;
  assert.throws(
    () => evaluate(lost, [], { strict: true }),
    bad(/gt\.json: annotations\[0\]\.image_id: expected the id of an entry of images, got 4242/),
  );
  assert.equal(evaluate(lost, []).lenient.annotationsOnUnlistedImages, 1);
  assert.throws(
    () => evaluate(REUSED!.gt, [], { strict: true }),
    bad(/gt\.json: annotations\[24\]\.id: expected an id not used before \(annotations\[5\]\), got 201/),
  );
  assert.deepEqual(evaluate(REUSED!.gt, []).lenient, { ...REUSED!.lenient, detectionsOfUnknownCategories: 0 });
});

test("lenient entries must still be well-formed (pycocotools never reads some of their fields)", () => {
  const { gt } = UNKNOWN_DETS!;
  const ev = new CocoEvaluator(gt, "gt.json");
  assert.throws(
    () => ev.update([{ image_id: 1, category_id: 77, bbox: [0, 0, 1, 1] }], "dt.json"),
    bad(/\[0\]\.score/),
  );
  assert.throws(
    () => ev.update([{ image_id: 1, category_id: "1", bbox: [0, 0, 1, 1], score: 1 }], "dt.json"),
    bad(/\[0\]\.category_id: expected a finite number/),
  );
  assert.throws(
    () => ev.update([{ image_id: 77, category_id: 77, bbox: [0, 0, 1, 1], score: 1 }], "dt.json"),
    bad(/\[0\]\.image_id: expected the id of an image/),
  );
  assert.equal(ev.compute().lenient.detectionsOfUnknownCategories, 0, "a rejected list counts nothing");
  const unlisted = {
    ...gt,
    annotations: [...gt.annotations, { id: 9999, image_id: 555, category_id: 1, bbox: [0, 0, 1] }],
  };
  assert.throws(() => new CocoEvaluator(unlisted, "gt.json"), bad(/annotations\[\d+\]\.bbox/));
});

test("detector outputs: labels that are not ground-truth categories are skipped and counted, or refused", () => {
  const { gt } = UNKNOWN_DETS!;
  const image = gt.images[0]!.id;
  const boxes = new Float32Array([0, 0, 10, 10, 5, 5, 40, 40, 20, 20, 60, 60]);
  const scores = [0.9, 0.8, 0.7];
  const ev = new CocoEvaluator(gt);
  ev.updateImage(image, { boxes, scores, labels: Int32Array.from([1, 404, 2]) });
  const clean = new CocoEvaluator(gt);
  clean.updateImage(image, {
    boxes: new Float32Array([...boxes.subarray(0, 4), ...boxes.subarray(8)]),
    scores: [0.9, 0.7],
    labels: Int32Array.from([1, 2]),
  });
  const r = ev.compute();
  assert.equal(r.detections, 2);
  assert.equal(r.lenient.detectionsOfUnknownCategories, 1);
  assert.deepEqual(r.stats, clean.compute().stats);
  const strict = new CocoEvaluator(gt, "gt.json", { strict: true });
  assert.throws(
    () => strict.updateImage(image, { boxes, scores, labels: [1, 404, 2] }),
    (e: unknown) =>
      e instanceof TasksrError && e.code === "E_TENSOR_ARG" && /label 404 \(detection 1\)/.test(e.message),
  );
});

test("merge adds the counts of unknown-category detections; reset clears them", () => {
  const { gt, dets } = UNKNOWN_DETS!;
  const a = new CocoEvaluator(gt);
  const b = new CocoEvaluator(a.gt);
  a.update(dets.slice(0, 40));
  b.update(dets.slice(40));
  a.merge(b);
  const whole = evaluate(gt, dets);
  const merged = a.compute();
  assert.deepEqual(merged.stats, whole.stats);
  assert.equal(merged.lenient.detectionsOfUnknownCategories, UNKNOWN_DETS!.lenient.detectionsOfUnknownCategories);
  a.reset();
  assert.equal(a.compute().lenient.detectionsOfUnknownCategories, 0);
});

test("warnings: one line per kind present, naming the file and the count", () => {
  const none = { ...UNKNOWN_DETS!.lenient, detectionsOfUnknownCategories: 0 };
  assert.deepEqual(cocoLenientWarnings(none, "gt.json", "dt.json"), []);
  const lines = cocoLenientWarnings(
    {
      annotationsOnUnlistedImages: 2,
      annotationsOfUnlistedCategories: 3,
      annotationsWithReusedIds: 4,
      detectionsOfUnknownCategories: 5,
    },
    "gt.json",
    "dt.json",
  );
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^dt\.json: 5 detection\(s\) with a category_id that is not a category of gt\.json/);
  assert.match(lines[1]!, /^gt\.json: 2 annotation\(s\) with an image_id not in images/);
  assert.match(lines[2]!, /^gt\.json: 3 annotation\(s\) with a category_id not in categories/);
  assert.match(lines[3]!, /^gt\.json: 4 annotation\(s\) whose id a later annotation uses again/);
  for (const l of lines) assert.match(l, /as pycocotools does \(--strict refuses them\)$/);
});
