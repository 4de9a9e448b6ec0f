/**
 * Detection through the trainer: `trainRun` on a tiny COCO tree for two iterations of H→T and of SR4IR (TDP on the
 * detector's pyramid tap "0"), with both light detectors. Every tensor is freed by the end of a run and the
 * evaluation reports a COCO AP.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { validateRun } from "../../src/config/load.js";
import type { RunConfigInput } from "../../src/config/schema.js";
import { memory } from "../../src/engine/index.js";
import { trainRun } from "../../src/train/run.js";
import { writeCocoBoxes } from "../support/data_trees.js";

/** Four 64x48 images with one or two filled rectangles on a gradient (categories 3 "box" and 5 "disc"). */
const tinyCocoTree = () =>
  writeCocoBoxes("det-train", [
    [[6, 8, 30, 40, 3]],
    [[20, 4, 60, 30, 5]],
    [
      [2, 20, 24, 46, 3],
      [34, 6, 62, 28, 5],
    ],
    [[14, 10, 50, 42, 5]],
  ]);

function config(root: string, name: string, taskNet: RunConfigInput["taskNet"], sr4ir: boolean): RunConfigInput {
  const data = { type: "coco-det", root, images: "images", annotations: "instances.json" };
  const base: RunConfigInput = {
    name,
    task: "detection",
    scale: 2,
    device: "cpu",
    data: { train: data, val: data, prefetch: 0 },
    taskNet,
    recipe: { name: "hr2task" },
    optim: { task: { type: "sgd", lr: 0.005 } },
    train: { epochs: 1, batchSize: 2, itersPerEpoch: 2, logEvery: 1, seed: 3 },
    eval: { batchSize: 2, ssim: false },
  };
  if (!sr4ir) return base;
  return {
    ...base,
    sr: { arch: "edsr-tiny" },
    recipe: { name: "sr4ir", tdp: { taps: { "0": 1 } }, cqmix: { grid: 4 } },
    optim: { sr: { type: "adam", lr: 1e-4 }, task: { type: "sgd", lr: 0.005 } },
  };
}

const DETECTORS: [string, RunConfigInput["taskNet"]][] = [
  [
    "frcnn",
    {
      arch: "fasterrcnn-mobilenet-v3-light",
      options: {
        minSize: 64,
        maxSize: 96,
        rpnPostNmsTopNTest: 100,
        boxBatchSizePerImage: 64,
        rpnBatchSizePerImage: 64,
      },
    },
  ],
  ["ssd", { arch: "ssd-light" }],
];

for (const [short, taskNet] of DETECTORS) {
  for (const recipe of ["hr2task", "sr4ir"] as const) {
    test(`trainRun ${recipe} with ${taskNet.arch}: two iterations, flat live tensors, COCO AP`, async () => {
      const root = await tinyCocoTree();
      const cfg = validateRun(config(root, `${short}-${recipe}`, taskNet, recipe === "sr4ir"), "test config");
      const before = memory().liveTensors;
      const r = await trainRun(cfg, { out: join(root, "runs"), log: () => {}, argv: ["test"] });
      assert.equal(memory().liveTensors, before, "live tensors after the run");
      assert.equal(r.stopped, "completed");
      assert.equal(r.iterations, 2);
      const ap = r.results!.final.AP;
      assert.ok(ap !== undefined && Number.isFinite(ap) && ap >= 0 && ap <= 100, `AP ${ap}`);
      if (recipe === "sr4ir") assert.ok(Number.isFinite(r.results!.final.psnr_sr4ir ?? Number.NaN), "SR PSNR reported");
    });
  }
}
