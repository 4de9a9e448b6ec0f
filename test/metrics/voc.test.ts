// VOC AP against the shared fixture (expected values of review_object_detection_metrics' tests/test_eval_pascal.py)
// and hand-computed difficult/duplicate cases; the file readers on the same data written as VOC XML / devkit txt.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { TasksrError } from "../../src/errors.js";
import {
  classOfResultFile,
  readVocDetections,
  readVocGroundTruth,
  type VocDetection,
  VocEvaluator,
  type VocGroundTruth,
  type VocObject,
} from "../../src/metrics/index.js";
import { SHARED_DATA } from "../support/paths.js";

const CASE = join(SHARED_DATA, "detection-metric-fixtures", "review_object_detection_metrics", "tests", "test_case_1");

/** The fixture's text files: GT "<class> <left> <top> <w> <h>", detections "<class> <conf> <left> <top> <w> <h>". */
function readFixture(): { gt: VocGroundTruth; dets: VocDetection[] } {
  const images: string[] = [];
  const objects: VocObject[] = [];
  const dets: VocDetection[] = [];
  for (const f of readdirSync(join(CASE, "gts")).sort()) {
    const imageId = f.replace(/\.txt$/, "");
    images.push(imageId);
    const rows = (dir: string) =>
      readFileSync(join(CASE, dir, f), "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => l.trim().split(/\s+/));
    for (const [c, ...v] of rows("gts")) {
      const [x, y, w, h] = v.map(Number) as [number, number, number, number];
      objects.push({ imageId, className: c!, box: [x, y, x + w, y + h] });
    }
    for (const [c, s, ...v] of rows("dets")) {
      const [x, y, w, h] = v.map(Number) as [number, number, number, number];
      dets.push({ imageId, className: c!, score: Number(s), box: [x, y, x + w, y + h] });
    }
  }
  return { gt: { images, objects }, dets };
}

const EXPECTED = {
  "11pt": { 0.1: 0.3333333333, 0.3: 0.2683982683, 0.5: 0.0303030303, 0.75: 0.0 },
  area: { 0.1: 0.3371980676, 0.3: 0.2456866804, 0.5: 0.0222222222, 0.75: 0.0 },
} as const;
// The expected values are printed with 10 decimals.
const TOL = 1e-9;

test("shared fixture: 11-point and all-point AP at IoU 0.1/0.3/0.5/0.75 (inclusive pixel boxes)", () => {
  const { gt, dets } = readFixture();
  assert.equal(gt.objects.length, 15);
  assert.equal(dets.length, 24);
  for (const metric of ["11pt", "area"] as const) {
    for (const [iou, want] of Object.entries(EXPECTED[metric])) {
      const ev = new VocEvaluator(gt, { iou: Number(iou), metric, boxes: "inclusive" });
      ev.update(dets);
      const r = ev.compute();
      assert.equal(r.classes.length, 1);
      assert.ok(Math.abs(r.classes[0]!.ap - want) <= TOL, `${metric} @${iou}: ${r.classes[0]!.ap} vs ${want}`);
      assert.equal(r.map, r.classes[0]!.ap);
    }
  }
  const continuous = new VocEvaluator(gt, { iou: 0.1, metric: "11pt", boxes: "continuous" });
  continuous.update(dets);
  assert.ok(Math.abs(continuous.compute().map - EXPECTED["11pt"][0.1]) > 1e-3, "the fixture needs the +1 convention");
});

test("difficult objects: ignored (VOC07) or counted; duplicates are false positives", () => {
  const gt: VocGroundTruth = {
    images: ["a", "b"],
    objects: [
      { imageId: "a", className: "dog", box: [0, 0, 9, 9], difficult: true },
      { imageId: "a", className: "dog", box: [20, 20, 29, 29] },
    ],
  };
  const dets: VocDetection[] = [
    { imageId: "a", className: "dog", score: 0.9, box: [0, 0, 9, 9] },
    { imageId: "b", className: "dog", score: 0.8, box: [0, 0, 9, 9] },
    { imageId: "a", className: "dog", score: 0.7, box: [20, 20, 29, 29] },
    { imageId: "a", className: "dog", score: 0.6, box: [20, 20, 29, 29] },
    { imageId: "a", className: "cat", score: 0.6, box: [20, 20, 29, 29] },
  ];
  // Ignore: d1 is neither TP nor FP; then FP, TP, FP(duplicate): points (0, 0), (1, 1/2), (1, 1/3).
  const ignore = new VocEvaluator(gt, { metric: "area" });
  ignore.update(dets);
  const r = ignore.compute();
  assert.deepEqual(r.classes[0], { className: "dog", ap: 0.5, positives: 1, detections: 4, tp: 1, fp: 2 });
  assert.equal(r.unevaluatedDetections, 1);
  // Count: TP, FP, TP, FP: points (1/2, 1), (1/2, 1/2), (1, 2/3), (1, 1/2).
  const count = new VocEvaluator(gt, { metric: "11pt", difficult: "count" });
  count.update(dets);
  assert.ok(Math.abs(count.compute().map - (6 * 1 + 5 * (2 / 3)) / 11) <= 1e-15);
  const countArea = new VocEvaluator(gt, { metric: "area", difficult: "count" });
  countArea.update(dets);
  assert.ok(Math.abs(countArea.compute().map - (0.5 * 1 + 0.5 * (2 / 3))) <= 1e-15);
});

test("merging evaluators equals one evaluator; bad detections are rejected whole", () => {
  const { gt, dets } = readFixture();
  const whole = new VocEvaluator(gt, { iou: 0.3 });
  whole.update(dets);
  const a = new VocEvaluator(gt, { iou: 0.3 });
  const b = new VocEvaluator(gt, { iou: 0.3 });
  a.update(dets.slice(0, 10));
  b.update(dets.slice(10));
  a.merge(b);
  assert.deepEqual(a.compute(), whole.compute());
  const isArg = (e: unknown) => e instanceof TasksrError && e.code === "E_TENSOR_ARG";
  assert.throws(() => a.update([{ imageId: "nope", className: "object", score: 1, box: [0, 0, 1, 1] }]), isArg);
  assert.throws(() => a.merge(new VocEvaluator(gt, { iou: 0.5 }) as never), isArg);
  a.reset();
  assert.equal(a.compute().classes[0]!.detections, 0);
});

const TMP = mkdtempSync(join(tmpdir(), "tasksr-voc-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

/** Writes the fixture as VOC XML annotations and devkit result files (xmax = x + w, as the fixture's reader). */
function writeVocFiles(): { ann: string; res: string } {
  const { gt, dets } = readFixture();
  const ann = join(TMP, "Annotations");
  const res = join(TMP, "results");
  mkdirSync(ann, { recursive: true });
  mkdirSync(res, { recursive: true });
  for (const id of gt.images) {
    const objs = gt.objects
      .filter((o) => o.imageId === id)
      .map(
        (o, i) =>
          `<object><name>person</name><difficult>0</difficult><bndbox><xmin>${o.box[0]}</xmin><ymin>${o.box[1]}</ymin>` +
          `<xmax>${o.box[2]}</xmax><ymax>${o.box[3]}</ymax></bndbox>${i === 0 ? "<part><name>head</name></part>" : ""}</object>`,
      );
    writeFileSync(join(ann, `${id}.xml`), `<annotation><filename>${id}.jpg</filename>${objs.join("")}</annotation>\n`);
  }
  const lines = dets.map((d) => `${d.imageId} ${d.score} ${d.box.join(" ")}`);
  writeFileSync(join(res, "comp4_det_test_person.txt"), `${lines.join("\n")}\n`);
  return { ann, res };
}

test("VOC XML annotations + devkit result files reproduce the fixture's APs", () => {
  const { ann, res } = writeVocFiles();
  const gt = readVocGroundTruth(ann);
  assert.equal(gt.format, "voc-xml");
  const ev = new VocEvaluator(gt, { iou: 0.3, metric: "area" });
  ev.update(readVocDetections(res, gt));
  const r = ev.compute();
  assert.equal(r.classes[0]!.className, "person");
  assert.ok(Math.abs(r.map - EXPECTED.area[0.3]) <= TOL);
  assert.equal(classOfResultFile("comp3_det_val_pottedplant.txt"), "pottedplant");
  assert.equal(classOfResultFile("my_class.txt"), "my_class");
});

test("VOC file errors name the file and the field", () => {
  const bad = (code: string, msg: RegExp) => (e: unknown) =>
    e instanceof TasksrError && e.code === code && msg.test(e.message);
  const dir = join(TMP, "broken");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "x.xml"), "<annotation><object><name>dog</name></annotation>");
  assert.throws(() => readVocGroundTruth(dir), bad("E_BAD_FILE", /x\.xml: malformed XML at line 1/));
  writeFileSync(
    join(dir, "x.xml"),
    "<annotation><object><name>dog</name><bndbox><xmin>1</xmin><ymin>a</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>",
  );
  assert.throws(
    () => readVocGroundTruth(dir),
    bad("E_BAD_FILE", /x\.xml: <object> 0 <bndbox><ymin>: expected a number/),
  );
  assert.throws(() => readVocGroundTruth(join(TMP, "missing")), bad("E_BAD_FILE", /missing/));
  const { ann } = writeVocFiles();
  const gt = readVocGroundTruth(ann);
  const txt = join(TMP, "dog.txt");
  writeFileSync(txt, "00001 0.5 1 2 3 4\n00009 0.5 1 2 3 4\n");
  assert.throws(() => readVocDetections(txt, gt), bad("E_BAD_FILE", /dog\.txt:2: image "00009" is not an image/));
  writeFileSync(txt, "00001 0.5 1 2 3\n");
  assert.throws(() => readVocDetections(txt, gt), bad("E_BAD_FILE", /dog\.txt:1: expected "<image id> <score>/));
  const json = join(TMP, "dets.json");
  writeFileSync(json, "[]");
  assert.throws(() => readVocDetections(json, gt), bad("E_CLI_ARG", /needs a COCO ground-truth JSON/));
});
