/**
 * Distributed evaluation, two local processes over Gloo: for classification, segmentation and detection, the
 * strided validation batches merged over the ranks give every rank the one-process result (task metrics and image
 * count exactly, PSNR/SSIM up to the order of their sums).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import type { RunConfig } from "../../src/config/schema.js";
import { primaryMetric } from "../../src/report/settings.js";
import type { EvalResult } from "../../src/train/evaluate.js";
import { tasksr } from "../support/cli.js";
import { pattern, put, putImage, putMask, tempDir, writeCocoBoxes } from "../support/data_trees.js";
import { noDist, resultOf, runRanks } from "../support/dist.js";
import { tinyConfig, writeClassTree } from "../support/train_runs.js";

/**
 * A VOC year folder of five 24x16 images whose masks are stripes of all 21 classes, shifted per image, under a 255
 * border row: whichever classes the untrained segmenter predicts, some pixels agree, so mIoU is above 0 (with masks of
 * three classes it predicted none of them, and an all-zero mIoU would hide a wrongly merged confusion matrix).
 */
async function writeVocSeg(): Promise<string> {
  const root = tempDir("dist-eval-voc");
  const ids = Array.from({ length: 5 }, (_, k) => `2008_00000${k + 1}`);
  for (const [k, id] of ids.entries()) {
    await putImage(join(root, "JPEGImages", `${id}.jpg`), pattern(24, 16, k));
    putMask(join(root, "SegmentationClass", `${id}.png`), 24, 16, (x, y) => (y === 0 ? 255 : (x + 5 * k + y) % 21));
  }
  put(join(root, "ImageSets", "Segmentation", "train.txt"), `${ids.join("\n")}\n`);
  return root;
}

/** Five 64x48 images with one or two filled rectangles of categories 3 and 5 on a gradient. */
const writeCocoDet = () =>
  writeCocoBoxes("dist-eval-coco", [
    [[6, 8, 30, 40, 3]],
    [[20, 4, 60, 30, 5]],
    [
      [2, 20, 24, 46, 3],
      [34, 6, 62, 28, 5],
    ],
    [[14, 10, 50, 42, 5]],
    [
      [4, 4, 28, 24, 5],
      [30, 18, 60, 44, 3],
    ],
  ]);

/**
 * S+T with untrained (seeded) edsr-tiny x4 and task nets, so that the evaluation has an SR image to score and the
 * task net sees noisy LR through it: 5 images in batches of 2 are 3 batches, ranks 0 and 1 get 2 and 1 of them
 * (the last one partial), and the per-batch noise seeding decides whether the ranks' LR images are one process's.
 */
const joint = { name: "joint" };
const common = {
  degrade: { noise: { sigma: 8 } },
  eval: { batchSize: 2, limit: 5, psnr: ["sr4ir", "basicsr"], ssim: true },
};

const classRoot = await writeClassTree();
const vocRoot = await writeVocSeg();
const cocoRoot = await writeCocoDet();
const coco = { type: "coco-det", root: cocoRoot, images: "images", annotations: "instances.json" };

const CASES: [string, RunConfig][] = [
  // The val split holds 6 images; eval.limit keeps 5.
  ["classification", tinyConfig(classRoot, joint, common)],
  [
    "segmentation",
    tinyConfig(classRoot, joint, {
      ...common,
      task: "segmentation",
      data: {
        train: { type: "voc-seg", root: vocRoot },
        val: { type: "voc-seg", root: vocRoot },
        // Short side 32: the sr4ir PSNR protocol crops 2 x scale = 8 px per side.
        transforms: { resize: 32, crop: 32 },
      },
      taskNet: { arch: "deeplabv3-mobilenetv3-light" },
    }),
  ],
  [
    "detection",
    tinyConfig(classRoot, joint, {
      ...common,
      task: "detection",
      data: { train: coco, val: coco, transforms: undefined },
      // The light settings of the detection training tests; at the default box score threshold (0.05) the untrained
      // detector already reports boxes that match (AP > 0 below).
      taskNet: {
        arch: "fasterrcnn-mobilenet-v3-light",
        options: {
          minSize: 64,
          maxSize: 96,
          rpnPostNmsTopNTest: 100,
          boxBatchSizePerImage: 64,
          rpnBatchSizePerImage: 64,
        },
      },
    }),
  ],
];

type Result = Omit<EvalResult, "seconds">;

/** Runs dist_eval.js on `cfg` as `world` ranks and returns every rank's result. */
async function evaluate(cfg: RunConfig, world: number): Promise<Result[]> {
  const path = join(tempDir("dist-eval-cfg"), `${cfg.task}.json`);
  writeFileSync(path, JSON.stringify(cfg));
  const r = await runRanks("dist_eval.js", [path], world);
  assert.equal(r.status, 0, r.workers.map((w) => `${w.stdout}\n${w.stderr}`).join("\n"));
  return Array.from({ length: world }, (_, rank) => resultOf<Result>(r, rank));
}

/** Equal up to the rounding of a sum taken in another order (the merged ranks add their images 0, 1, 4, then 2, 3). */
function assertClose(a: number | undefined, b: number | undefined, what: string): void {
  assert.ok(a !== undefined && b !== undefined && Number.isFinite(b), `${what}: ${a} vs ${b}`);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.abs(b), `${what}: ${a} (2 processes) vs ${b} (1 process)`);
}

for (const [label, cfg] of CASES) {
  test(`${label}: 2 processes evaluate what 1 process does`, { skip: noDist }, async (t) => {
    const [one] = await evaluate(cfg, 1);
    const two = await evaluate(cfg, 2);
    t.diagnostic(`1 process: ${JSON.stringify(one)}`);
    // Both ranks merge the same states in the same order.
    assert.deepEqual(two[1], two[0]);
    const got = two[0]!;
    assert.equal(one!.images, 5);
    assert.equal(got.images, one!.images);
    assert.deepEqual(got.task, one!.task);
    assert.deepEqual(Object.keys(got.psnr).sort(), ["basicsr", "sr4ir"]);
    for (const p of ["sr4ir", "basicsr"] as const) assertClose(got.psnr[p], one!.psnr[p], `psnr ${p}`);
    assertClose(got.ssim, one!.ssim, "ssim");
    const values = Object.values(one!.task);
    assert.ok(values.length > 0 && values.every(Number.isFinite), `task metrics ${JSON.stringify(one!.task)}`);
    // Not an empty result (0) taken for equality: some pixels agree, some detections match.
    const primary = primaryMetric(cfg.task);
    assert.ok(one!.task[primary]! > 0, `${primary} ${one!.task[primary]}`);
  });
}

/**
 * Training of the other two tasks through `tasksr train --nproc-per-node 2`: the segmenter with SyncBatchNorm and
 * the detector (frozen backbone stages, aspect-ratio grouped global batches, per-rank proposal sampling) run to the
 * end without a collective left waiting. Their losses are not compared with one process: dropout, the detector's
 * sampling and per-rank loss normalisation differ by design (docs/distributed.md).
 */
for (const [label, cfg] of CASES.filter(([l]) => l !== "classification")) {
  test(`${label}: trains with 2 processes to the end`, { skip: noDist }, () => {
    const dir = tempDir(`dist-train-${label}`);
    const path = join(dir, "c.json");
    writeFileSync(path, JSON.stringify({ ...cfg, train: { ...cfg.train, batchSize: 2, syncBatchNorm: true } }));
    const r = tasksr("train", "--config", path, "--out", dir, "--nproc-per-node", "2");
    assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
    // 5 images padded to 6, global batches of 4: one step.
    const res = JSON.parse(readFileSync(join(dir, cfg.name, "results.json"), "utf8")) as { iterations: number };
    assert.equal(res.iterations, 1);
  });
}
