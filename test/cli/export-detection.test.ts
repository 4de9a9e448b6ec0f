// `tasksr export` of a detection run (SR4IR with ssd-light at any input size, trained two iterations on a tiny COCO
// tree): the sr+task graph's scores and boxes through onnxruntime-node, then the package's JS post-processing with
// the settings from the file's metadata, give the engine's detections for the same LR image. A Faster R-CNN run's
// export writes two files and its check compares both stages and the final detections.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { validateRun } from "../../src/config/load.js";
import { manualSeed, noGrad, rand, scope, type Tensor } from "../../src/engine/index.js";
import { planFromRun } from "../../src/eval/plan.js";
import { ssdPostprocess } from "../../src/infer/detect_post.js";
import { readOnnxMetadata } from "../../src/infer/metadata.js";
import { onnxRuntime } from "../../src/infer/ort.js";
import type { DetectorOutput } from "../../src/models/detection/types.js";
import { trainRun } from "../../src/train/run.js";
import { tasksr } from "../support/cli.js";
import { writeCocoBoxes } from "../support/data_trees.js";

test("tasksr export --part sr+task of an SSD run: onnxruntime + JS post-processing == the engine's detections", async () => {
  const root = await writeCocoBoxes("det-export", [[[6, 8, 30, 40, 3]], [[20, 4, 60, 30, 5]]]);
  const data = { type: "coco-det", root, images: "images", annotations: "instances.json" };
  const cfg = validateRun(
    {
      name: "ssd-sr4ir",
      task: "detection",
      scale: 2,
      device: "cpu",
      data: { train: data, val: data, prefetch: 0 },
      sr: { arch: "edsr-tiny", options: { residual: true } },
      taskNet: { arch: "ssd-light", options: { topkCandidates: 30 } },
      recipe: { name: "sr4ir", tdp: { taps: { "0": 1 } }, cqmix: { grid: 4 } },
      optim: { sr: { type: "adam", lr: 1e-4 }, task: { type: "sgd", lr: 0.005 } },
      train: { epochs: 1, batchSize: 2, itersPerEpoch: 2, logEvery: 1, seed: 3 },
      eval: { batchSize: 2, ssim: false },
    },
    "test config",
  );
  await trainRun(cfg, { out: join(root, "runs"), log: () => {}, argv: ["test"] });
  const run = join(root, "runs", "ssd-sr4ir");
  const file = join(root, "det.onnx");
  const r = tasksr("export", "--run", run, "--part", "sr+task", "--out", file, "--json");
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { ok: boolean; outputs: Record<string, unknown[]> };
  assert.ok(res.ok);
  assert.deepEqual(Object.keys(res.outputs), ["scores", "boxes"]);
  const bytes = readFileSync(file);
  const settings = JSON.parse(readOnnxMetadata(bytes)["tasksr.detection"]!);
  assert.equal(settings.imageSize, null, "ssd-light keeps each input's size");

  const plan = await planFromRun(run, { device: "cpu", limit: 1 });
  try {
    const sr = (plan.input as { net: { call(x: Tensor): Tensor } }).net;
    const det = plan.task.adapter.net as unknown as { call(x: Tensor): DetectorOutput };
    const [h, w] = [27, 35];
    const { lr, engine } = noGrad(() =>
      scope(() => {
        manualSeed(2);
        const x = rand([1, 3, h, w]);
        const d = det.call(sr.call(x)).detections[0]!;
        return { lr: x.data<"float32">(), engine: { labels: d.labels.toArray(), boxes: d.boxes.data<"float32">() } };
      }),
    );
    const ort = await onnxRuntime();
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ lr: new ort.Tensor("float32", lr, [1, 3, h, w]) });
    const js = ssdPostprocess(out.scores!.data as Float32Array, out.boxes!.data as Float32Array, settings, [
      2 * h,
      2 * w,
    ]);
    await session.release();
    assert.ok(engine.labels.length > 0, "the detector reports boxes");
    // onnxruntime's scores differ from the engine's in the last bits, which can swap near-equal candidates; the
    // strongest detections must agree.
    const n = Math.min(10, engine.labels.length);
    assert.deepEqual(Array.from(js.labels.subarray(0, n)), engine.labels.slice(0, n));
    for (let i = 0; i < 4 * n; i++) assert.ok(Math.abs(js.boxes[i]! - engine.boxes[i]!) <= 1e-2, `box value ${i}`);
  } finally {
    plan.dispose();
  }
});

test("tasksr export --part task of a Faster R-CNN run: two files, raw stages and detections checked", async () => {
  const root = await writeCocoBoxes("frcnn-export", [[[6, 8, 30, 40, 3]], [[20, 4, 60, 30, 5]]]);
  const data = { type: "coco-det", root, images: "images", annotations: "instances.json" };
  const cfg = validateRun(
    {
      name: "frcnn-h2t",
      task: "detection",
      scale: 2,
      device: "cpu",
      data: { train: data, val: data, prefetch: 0 },
      taskNet: { arch: "fasterrcnn-mobilenet-v3-light", options: { minSize: 64, maxSize: 96 } },
      recipe: { name: "hr2task" },
      optim: { task: { type: "sgd", lr: 0.005 } },
      train: { epochs: 1, batchSize: 2, itersPerEpoch: 1, logEvery: 1, seed: 3 },
      eval: { batchSize: 2, ssim: false },
    },
    "test config",
  );
  await trainRun(cfg, { out: join(root, "runs"), log: () => {}, argv: ["test"] });
  const file = join(root, "frcnn.onnx");
  const r = tasksr("export", "--run", join(root, "runs", "frcnn-h2t"), "--part", "task", "--out", file, "--json");
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as {
    ok: boolean;
    outputs: Record<string, unknown[]>;
    stage2: { out: string; outputs: Record<string, unknown[]> };
    check: { stage1Diff: number; stage2Diff: number; detections: { agree: boolean } };
  };
  assert.ok(res.ok, JSON.stringify(res.check));
  assert.deepEqual(Object.keys(res.stage2.outputs), ["scores", "boxes"]);
  assert.equal(res.stage2.out, join(root, "frcnn.stage2.onnx"));
  assert.ok(res.check.detections.agree);
  const meta = readOnnxMetadata(readFileSync(file));
  assert.equal(meta["tasksr.stage2"], "frcnn.stage2.onnx");
  assert.equal(JSON.parse(meta["tasksr.rcnn"]!).kind, "faster-rcnn");
});

test("tasksr export --part sr+task of a Faster R-CNN run: SR then the detector's stage 1 in one graph, detections checked", async () => {
  const root = await writeCocoBoxes("frcnn-sr-export", [[[6, 8, 30, 40, 3]], [[20, 4, 60, 30, 5]]]);
  const data = { type: "coco-det", root, images: "images", annotations: "instances.json" };
  const cfg = validateRun(
    {
      name: "frcnn-joint",
      task: "detection",
      scale: 2,
      device: "cpu",
      data: { train: data, val: data, prefetch: 0 },
      sr: { arch: "swinir-tiny", options: { residual: true } },
      taskNet: { arch: "fasterrcnn-mobilenet-v3-light", options: { minSize: 64, maxSize: 96 } },
      recipe: { name: "joint" },
      optim: { sr: { type: "adam", lr: 1e-4 }, task: { type: "sgd", lr: 0.005 } },
      train: { epochs: 1, batchSize: 2, itersPerEpoch: 1, logEvery: 1, seed: 3 },
      eval: { batchSize: 2, ssim: false },
    },
    "test config",
  );
  await trainRun(cfg, { out: join(root, "runs"), log: () => {}, argv: ["test"] });
  const file = join(root, "frcnn-sr.onnx");
  const r = tasksr("export", "--run", join(root, "runs", "frcnn-joint"), "--part", "sr+task", "--out", file, "--json");
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as {
    ok: boolean;
    outputs: Record<string, unknown[]>;
    check: { detections: { agree: boolean; engine: number } };
  };
  assert.ok(res.ok, JSON.stringify(res.check));
  assert.ok(res.check.detections.agree);
  assert.ok(res.check.detections.engine > 0, "the check compared detections, not two empty lists");
  assert.deepEqual(Object.keys(res.outputs).sort(), [
    "features.0",
    "features.1",
    "features.pool",
    "objectness",
    "proposals",
  ]);
  assert.equal(readOnnxMetadata(readFileSync(file))["tasksr.part"], "sr+task");
});
