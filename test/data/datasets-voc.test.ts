import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { VocDetection } from "../../src/data/datasets/voc_detection.js";
import { VOC_SEG_CLASSES, VocSegmentation } from "../../src/data/datasets/voc_segmentation.js";
import { TasksrError } from "../../src/errors.js";
import { pattern, put, putImage, putMask, tempDir, vocXml, writeTinyVoc } from "../support/data_trees.js";

const badFile = (re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === "E_BAD_FILE" && re.test(e.message);

test("voc-det keeps difficult objects with their flag, boxes as [xmin-1, ymin-1, xmax, ymax]", async () => {
  const root = tempDir("voc");
  await writeTinyVoc(root);
  const ds = await VocDetection.open({ root, split: "train" });
  assert.equal(ds.task, "detection");
  assert.equal(ds.classes.length, 20);
  assert.equal(ds.length, 3);
  const s = await ds.get(0);
  assert.equal(s.id, "2008_000001");
  assert.deepEqual([s.image.width, s.image.height, s.image.channels], [24, 16, 3]);
  assert.deepEqual(Array.from(s.target.boxes), [2, 1, 20, 15, 0, 0, 5.5, 9]);
  assert.deepEqual(Array.from(s.target.labels), [11, 14]); // dog, person
  assert.deepEqual(Array.from(s.target.difficult), [0, 1]);
  assert.deepEqual(Array.from(s.target.iscrowd), [0, 0]);
  const empty = await ds.get(2);
  assert.equal(empty.target.boxes.length, 0);
  assert.deepEqual(await ds.size(1), { width: 24, height: 16 });
});

test("voc-det difficult: ignore drops them; emptyImages: drop drops images left without boxes", async () => {
  const root = tempDir("voc");
  await writeTinyVoc(root);
  const ds = await VocDetection.open({ root, difficult: "ignore", emptyImages: "drop" });
  assert.deepEqual(await Promise.all([0, 1].map(async (i) => (await ds.get(i)).id)), ["2008_000001", "2008_000002"]);
  assert.equal(ds.length, 2);
  const s = await ds.get(0);
  assert.deepEqual(Array.from(s.target.labels), [11]);
  assert.deepEqual(Array.from(s.target.difficult), [0]);
});

test("voc-det: an object without <bndbox> is an error naming the file and object; skip reports it", async () => {
  const root = tempDir("voc");
  await writeTinyVoc(root);
  const xml = join(root, "Annotations", "2008_000002.xml");
  writeFileSync(xml, readFileSync(xml, "utf8").replace(/<bndbox>(?![\s\S]*<bndbox>)[\s\S]*?<\/bndbox>/, ""));
  await assert.rejects(
    VocDetection.open({ root }),
    badFile(/VOC annotation .*2008_000002\.xml: object\[1\] \(cat\) has no <bndbox>/),
  );
  const ds = await VocDetection.open({ root, onBadSample: "skip" });
  assert.equal(ds.length, 2);
  assert.deepEqual(
    ds.skipped.map((s) => s.id),
    ["2008_000002"],
  );
  assert.match(ds.skipSummary(), /skipped 1 of 3 samples\n {2}2008_000002: .*object\[1\]/);
});

test("voc-det: unknown class names and missing images are bad samples", async () => {
  const root = tempDir("voc");
  await writeTinyVoc(root);
  put(join(root, "Annotations", "2008_000003.xml"), vocXml("x.jpg", 24, 16, [{ name: "unicorn", box: [1, 1, 3, 3] }]));
  await assert.rejects(
    VocDetection.open({ root }),
    badFile(/object\[0\] has class "unicorn", not one of the 20 classes/),
  );
  put(join(root, "ImageSets", "Main", "val.txt"), "2008_000001\n2008_000009\n");
  await assert.rejects(VocDetection.open({ root, split: "val" }), badFile(/2008_000009\.xml: cannot read \(ENOENT\)/));
  await assert.rejects(VocDetection.open({ root, split: "test" }), badFile(/VOC split list .*Main\/test\.txt/));
});

test("voc-seg: 21 classes, palette indices kept, 255 = ignore", async () => {
  const root = tempDir("vocseg");
  await writeTinyVoc(root);
  const ds = await VocSegmentation.open({ root });
  assert.deepEqual(ds.classes, VOC_SEG_CLASSES);
  assert.equal(ds.length, 3);
  const s = await ds.get(1);
  assert.equal(s.target.kind, "mask");
  assert.deepEqual([s.target.width, s.target.height], [24, 16]);
  const at = (x: number, y: number) => s.target.mask[y * 24 + x];
  assert.deepEqual([at(0, 0), at(9, 9), at(20, 2), at(20, 10)], [0, 12, 255, 8]);
});

test("voc-seg: a mask whose size differs from its image and a truncated image are documented errors", async () => {
  const root = tempDir("vocseg");
  await writeTinyVoc(root);
  putMask(join(root, "SegmentationClass", "2008_000002.png"), 23, 16, () => 0);
  const jpg = join(root, "JPEGImages", "2008_000003.jpg");
  await putImage(jpg, pattern(64, 64, 3));
  writeFileSync(jpg, readFileSync(jpg).subarray(0, 300));
  const ds = await VocSegmentation.open({ root });
  await assert.rejects(ds.get(1), badFile(/mask .*2008_000002\.png: is 23x16 but its image is 24x16/));
  await assert.rejects(ds.get(2), badFile(/cannot decode image .*2008_000003\.jpg/));

  const skipping = await VocSegmentation.open({ root, onBadSample: "skip" });
  assert.equal((await skipping.get(1)).id, "2008_000001"); // 1 and 2 are bad: wraps to 0
  assert.equal((await skipping.get(0)).id, "2008_000001");
  assert.deepEqual(
    skipping.skipped.map((s) => s.id),
    ["2008_000002", "2008_000003"],
  );
  assert.match(skipping.skipSummary(), /skipped 2 of 3 samples/);
});

test("voc-seg: mask values that are neither classes nor 255 are errors", async () => {
  const root = tempDir("vocseg");
  await writeTinyVoc(root);
  putMask(join(root, "SegmentationClass", "2008_000001.png"), 24, 16, (x, y) => (x === 5 && y === 3 ? 21 : 0));
  const ds = await VocSegmentation.open({ root });
  await assert.rejects(ds.get(0), badFile(/value 21 at \(x 5, y 3\) is neither a class index below 21 nor 255/));
});
