import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CocoDetection } from "../../src/data/datasets/coco_detection.js";
import { CocoSemantic } from "../../src/data/datasets/coco_semantic.js";
import { YoloDetection } from "../../src/data/datasets/yolo.js";
import { FIXTURES, SHARED_DATA } from "../support/paths.js";

const ROOT = join(SHARED_DATA, "coco-val2017-128");
const REF = JSON.parse(readFileSync(join(FIXTURES, "data", "coco128.json"), "utf8")) as {
  yolo: Record<string, { width: number; height: number; boxes: number; boxSum: number; labelSum: number }>;
  semantic: Record<string, { labelSum: number; ignored: number }>;
};
const PANOPTIC = "panoptic_segmentation/annotations/panoptic_val2017.json";

/** Every sample of `ds` in index order, decoding four at a time (sharp decodes on its thread pool). */
async function all<S>(ds: { length: number; get(i: number): Promise<S> }, count = ds.length): Promise<S[]> {
  const out: S[] = [];
  for (let i = 0; i < count; i += 4) {
    const batch = Array.from({ length: Math.min(4, count - i) }, (_, k) => ds.get(i + k));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

test("yolo: all 128 COCO-128 images load with their boxes in pixels (NumPy reference)", async () => {
  const ds = await YoloDetection.open({
    root: ROOT,
    images: "images/val2017",
    labels: "object_detection/labels/val2017",
    classes: "object_detection/config.yaml",
  });
  assert.equal(ds.length, 128);
  assert.equal(ds.classes.length, 80);
  assert.equal(ds.classes[0], "person");
  const seen: string[] = [];
  for (const s of await all(ds)) {
    const ref = REF.yolo[s.id]!;
    assert.deepEqual([s.image.width, s.image.height], [ref.width, ref.height], s.id);
    assert.equal(s.target.labels.length, ref.boxes, s.id);
    assert.equal(
      s.target.labels.reduce((a, b) => a + b, 0),
      ref.labelSum,
      s.id,
    );
    const sum = s.target.boxes.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - ref.boxSum) < 1e-3 * Math.max(1, ref.boxes), `${s.id}: box sum ${sum} vs ${ref.boxSum}`);
    seen.push(s.id);
  }
  assert.equal(ds.skipped.length, 0);
  assert.deepEqual(seen, Object.keys(REF.yolo).sort());
});

test("coco-semantic: the 100 masks load (NumPy reference); panoptic PNGs give the same labels", async () => {
  const semantic = await CocoSemantic.open({
    root: ROOT,
    images: "images/val2017",
    masks: "semantic_segmentation/masks/val2017",
    categories: PANOPTIC,
  });
  const panoptic = await CocoSemantic.open({
    root: ROOT,
    images: "images/val2017",
    masks: "panoptic_segmentation/annotations/panoptic_val2017",
    panoptic: PANOPTIC,
  });
  assert.equal(semantic.length, 100);
  assert.equal(panoptic.length, 100);
  assert.equal(semantic.classes.length, 133);
  assert.deepEqual(semantic.classes, panoptic.classes);
  // Decoding every image twice would double the run time; 25 panoptic samples cover the second format.
  const fromPanoptic = new Map<string, Uint8Array>();
  for (const s of await all(panoptic, 25)) {
    fromPanoptic.set(s.id.padStart(12, "0"), s.target.mask);
  }
  for (const s of await all(semantic)) {
    const ref = REF.semantic[s.id]!;
    assert.deepEqual([s.target.width, s.target.height], [s.image.width, s.image.height], s.id);
    let sum = 0;
    let ignored = 0;
    for (const v of s.target.mask) {
      sum += v;
      if (v === 255) ignored++;
    }
    assert.deepEqual({ labelSum: sum, ignored }, ref, s.id);
    const other = fromPanoptic.get(s.id);
    if (other !== undefined) assert.ok(Buffer.from(s.target.mask).equals(other), `${s.id}: formats disagree`);
    fromPanoptic.delete(s.id);
  }
  assert.equal(fromPanoptic.size, 0, "every panoptic sample was compared");
});

test("coco-semantic: class names from the YAML config and a user class list (unlisted -> 255)", async () => {
  const ds = await CocoSemantic.open({
    root: ROOT,
    images: "images/val2017",
    masks: "semantic_segmentation/masks/val2017",
    categories: "semantic_segmentation/config.yaml",
    classes: ["person", 3],
  });
  assert.deepEqual(ds.classes, ["person", "car"]);
  const s = await ds.get(0);
  const values = new Set(s.target.mask);
  assert.ok([...values].every((v) => v === 0 || v === 1 || v === 255));
});

test("coco-det reads the panoptic JSON: thing segments become boxes, iscrowd kept", async () => {
  const ds = await CocoDetection.open({ root: ROOT, images: "images/val2017", annotations: PANOPTIC });
  assert.equal(ds.length, 100);
  assert.equal(ds.classes.length, 80);
  // Image 632: 18 thing segments, one of them a crowd. Samples follow the JSON's "images" order.
  const json = JSON.parse(readFileSync(join(ROOT, PANOPTIC), "utf8")) as { images: { id: number }[] };
  const index = json.images.findIndex((im) => im.id === 632);
  const s = await ds.get(index);
  assert.equal(s.id, "632");
  assert.equal(s.target.labels.length, 18);
  assert.equal(
    s.target.iscrowd.reduce((a, b) => a + b, 0),
    1,
  );
  assert.deepEqual(await ds.size(index), { width: s.image.width, height: s.image.height });
});
