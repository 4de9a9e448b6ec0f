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
import { put, putImage, tempDir } from "../support/data_trees.js";

/** Four 64x48 images with one or two filled rectangles on a gradient (categories 3 "box" and 5 "disc"). */
async function tinyCocoTree(): Promise<string> {
  const root = tempDir("det-train");
  const W = 64;
  const H = 48;
  const specs: [number, number, number, number, number][][] = [
    [[6, 8, 30, 40, 3]],
    [[20, 4, 60, 30, 5]],
    [
      [2, 20, 24, 46, 3],
      [34, 6, 62, 28, 5],
    ],
    [[14, 10, 50, 42, 5]],
  ];
  const images = [];
  const annotations = [];
  for (const [i, objects] of specs.entries()) {
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) data.set([(x * 4) % 256, (y * 5) % 256, 128], 3 * (y * W + x));
    }
    for (const [x1, y1, x2, y2, c] of objects) {
      for (let y = y1; y < y2; y++)
        for (let x = x1; x < x2; x++) data.set(c === 3 ? [230, 20, 20] : [20, 40, 230], 3 * (y * W + x));
      annotations.push({
        id: annotations.length + 1,
        image_id: i + 1,
        category_id: c,
        bbox: [x1, y1, x2 - x1, y2 - y1],
        area: (x2 - x1) * (y2 - y1),
        iscrowd: 0,
      });
    }
    await putImage(join(root, "images", `${i}.png`), { data, width: W, height: H, channels: 3 });
    images.push({ id: i + 1, file_name: `${i}.png`, width: W, height: H });
  }
  const categories = [
    { id: 3, name: "box" },
    { id: 5, name: "disc" },
  ];
  put(join(root, "instances.json"), JSON.stringify({ images, annotations, categories }));
  return root;
}

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
