// The visualiser's detection branch: padded batches are cropped back per image, detector labels (1-based) map to
// dataset classes, detections under the score threshold are not drawn, ground truth is drawn on HR.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readImage } from "../../src/data/io/image.js";
import { collateDetection, disposeBatch } from "../../src/data/loader/collate.js";
import type { BoxTarget, Sample } from "../../src/data/types.js";
import { memory, scope, type Tensor, tensor } from "../../src/engine/index.js";
import { Visualizer } from "../../src/eval/visualize.js";
import type { Module } from "../../src/nn/module.js";
import { classColour } from "../../src/report/draw.js";
import { pattern } from "../support/data_trees.js";

const TMP = mkdtempSync(join(tmpdir(), "tasksr-vis-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

const sample = (id: string, w: number, h: number, box: number[], label: number): Sample<BoxTarget> => ({
  id,
  image: pattern(w, h, 1),
  target: {
    kind: "boxes",
    boxes: Float32Array.from(box),
    labels: Int32Array.from([label]),
    difficult: new Uint8Array(1),
    iscrowd: new Uint8Array(1),
  },
});

/** A detector stand-in: per image, one confident box of detector label 2 and one weak box of label 1. */
const detector = {
  forwardTaps(images: readonly Tensor[]) {
    return {
      out: {
        detections: images.map(() => ({
          boxes: tensor(Float32Array.from([4, 4, 20, 18, 2, 2, 10, 10]), { shape: [2, 4] }),
          scores: tensor(Float32Array.from([0.9, 0.2])),
          labels: tensor(BigInt64Array.from([2n, 1n])),
        })),
      },
      taps: new Map(),
    };
  },
} as unknown as Module<never[], unknown>;

test("detection visualisation: per-image crops of a padded batch, labelled boxes in class colours", async () => {
  const before = memory().liveTensors;
  const batch = collateDetection([sample("a", 30, 22, [2, 3, 25, 20], 0), sample("b", 24, 26, [1, 1, 12, 22], 3)], {
    scale: 4,
  });
  assert.deepEqual(batch.hr.shape, [2, 3, 28, 32]);
  const vis = new Visualizer({ dir: TMP, classes: ["cat", "dog", "cow", "bus"], inputName: "sr" }, detector);
  scope(() => {
    const lr = batch.hr
      .narrow(2, 0, 7 * 4)
      .narrow(3, 0, 8 * 4)
      .reshape(2, 3, 7, 4, 8, 4)
      .mean([3, 5]); // [2, 3, 7, 8]
    vis.capture(lr, batch.hr, batch);
  });
  disposeBatch(batch);
  const files = (await vis.write()).map((f) => f.slice(TMP.length + 1)).sort();
  assert.deepEqual(files, readdirSync(TMP).sort());
  assert.ok(
    files.includes("000_a_pred_boxes.png") && files.includes("001_b_gt_boxes.png") && files.includes("grid.png"),
  );
  const pred = await readImage(join(TMP, "000_a_pred_boxes.png"));
  const gt = await readImage(join(TMP, "001_b_gt_boxes.png"));
  const lr = await readImage(join(TMP, "001_b_lr.png"));
  assert.deepEqual([pred.width, pred.height, gt.width, gt.height, lr.width, lr.height], [30, 22, 24, 26, 6, 6]);
  const at = (img: typeof pred, x: number, y: number) =>
    Array.from(img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3));
  // Detector label 2 is dataset class 1 ("dog"); its box's left edge at x = 4, below the label tab.
  assert.deepEqual(at(pred, 4, 17), [...classColour(1)]);
  // The 0.2-score box (left edge x = 2) is not drawn.
  assert.notDeepEqual(at(pred, 2, 8), [...classColour(0)]);
  // Ground truth of image b: class 3 ("bus"), right edge at x = 11 below its label tab.
  assert.deepEqual(at(gt, 11, 20), [...classColour(3)]);
  assert.equal(memory().liveTensors, before, "no tensor left behind");
});
