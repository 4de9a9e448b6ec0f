import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { loadRunConfig } from "../../src/config/load.js";
import { classificationClassNames, classificationSynthSchema } from "../../src/data/synthetic/classification.js";
import { segmentationClassNames, segmentationSynthSchema } from "../../src/data/synthetic/segmentation.js";
import { REPO } from "../support/paths.js";

const DIR = join(REPO, "configs", "synthetic");

test("configs/synthetic load, read the default synthetic trees and list the generator's classes", () => {
  const files = readdirSync(DIR).sort();
  assert.deepEqual(files, ["cls_h2t_x4.yaml", "cls_l2t_x4.yaml", "seg_h2t_x4.yaml", "seg_l2t_x4.yaml"]);
  for (const f of files) {
    const cfg = loadRunConfig(join(DIR, f));
    const task = cfg.task;
    assert.equal(cfg.recipe.name, f.includes("h2t") ? "hr2task" : "lr2task");
    const root = resolve(DIR, String(cfg.data.train.root));
    const tree = join(REPO, ".cache", "synthetic", task);
    if (task === "classification") {
      assert.equal(root, join(tree, "train"));
      assert.deepEqual(cfg.data.transforms, { resize: 32, crop: 32 });
      assert.equal(classificationClassNames(classificationSynthSchema.parse({})).length, 10);
    } else {
      assert.equal(task, "segmentation");
      assert.equal(root, tree);
      assert.deepEqual(cfg.data.transforms, { resize: 64, crop: 64 });
      const classes = segmentationClassNames(segmentationSynthSchema.parse({}));
      assert.deepEqual(cfg.data.train.classes, classes);
      assert.deepEqual(cfg.data.val.classes, classes);
    }
  }
});
