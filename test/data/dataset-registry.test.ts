import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { z } from "zod";
import { createDataset, datasetSchema, datasetTypes } from "../../src/data/datasets/registry.js";
import { VocDetection } from "../../src/data/datasets/voc_detection.js";
import { TasksrError } from "../../src/errors.js";
import { tempDir, writeTinyVoc } from "../support/data_trees.js";

const fails = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === code && re.test(e.message);

test("the registry knows the seven dataset types", () => {
  assert.deepEqual(datasetTypes(), ["coco-det", "coco-semantic", "idx", "image-folder", "voc-det", "voc-seg", "yolo"]);
  const schema = z.toJSONSchema(datasetSchema("voc-det")) as { properties: Record<string, unknown> };
  assert.deepEqual(Object.keys(schema.properties).sort(), [
    "classes",
    "difficult",
    "emptyImages",
    "onBadSample",
    "root",
    "split",
  ]);
});

test("createDataset opens {type, ...options} with relative paths taken from baseDir", async () => {
  const base = tempDir("registry");
  await writeTinyVoc(join(base, "VOC2012"));
  const ds = await createDataset({ type: "voc-det", root: "VOC2012", split: "train" }, { baseDir: base });
  assert.ok(ds instanceof VocDetection);
  assert.equal(ds.length, 3);
  const seg = await createDataset({ type: "voc-seg", root: "VOC2012" }, { baseDir: base });
  assert.equal(seg.task, "segmentation");
});

test("config errors name the path: unknown keys, wrong values, unknown types, missing type", async () => {
  await assert.rejects(
    createDataset({ type: "voc-det", root: "/x", splt: "train", difficult: "maybe" }, { where: "data.train" }),
    fails(
      "E_CONFIG",
      /data\.train\.difficult: Invalid option: expected one of "keep"\|"ignore"; data\.train\.splt: unknown key/,
    ),
  );
  await assert.rejects(
    createDataset({ type: "coco-semantic", images: "i", masks: "m", classes: [0] }, { where: "data.val" }),
    fails("E_CONFIG", /data\.val\.classes\[0\]: category ids start at 1 \(0 means unlabeled\)/),
  );
  await assert.rejects(
    createDataset({ type: "yolo", images: "i", classes: 5 }, { where: "data.val" }),
    fails("E_CONFIG", /data\.val\.classes: expected a list of class names or the path of a class-name file/),
  );
  await assert.rejects(
    createDataset({ type: "pascal", root: "/x" }, { where: "data.train" }),
    fails(
      "E_UNKNOWN_NAME",
      /data\.train\.type: unknown dataset type "pascal"; known: coco-det, coco-semantic, idx, image-folder, voc-det, voc-seg, yolo/,
    ),
  );
  await assert.rejects(createDataset({ root: "/x" }), fails("E_CONFIG", /dataset\.type: expected one of coco-det/));
  await assert.rejects(
    createDataset({ type: "coco-semantic", images: "i", masks: "m" }),
    fails("E_CONFIG", /dataset: give "categories"/),
  );
});
