// Faster R-CNN export (src/export/rcnn.ts): two graphs with the package's JS between them. A small random-weights
// detector exported, both stages' raw outputs against the engine through onnxruntime-node, and the detections of
// the whole onnxruntime + JS pipeline against the engine's eval-mode forward, at two input sizes (one odd, one
// portrait so the other side is the short one); then the files written to disk and run through `tasksr/onnx`'s
// createFasterRcnnDetector.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createFasterRcnnDetector } from "../../src/deploy.js";
import { manualSeed, noGrad, rand, scope, type Tensor } from "../../src/engine/index.js";
import { exportGraph } from "../../src/export/networks.js";
import { exportGraphOnnx, exportOnnx } from "../../src/export/onnx.js";
import { checkRcnnWithOnnxRuntime } from "../../src/export/rcnn.js";
import { readOnnxMetadata } from "../../src/infer/metadata.js";
import type { LoadedTask } from "../../src/infer/sources.js";
import type { DetectorOutput } from "../../src/models/detection/types.js";
import { buildArch } from "../../src/models/index.js";
import type { Module } from "../../src/nn/module.js";
import { fillSeeded, scaleEntries } from "../models/detection-helpers.js";

const HEAD_SCALES = {
  "rpn.head.cls_logits.weight": 0.2,
  "rpn.head.bbox_pred.weight": 0.05,
  "roi_heads.box_predictor.cls_score.weight": 0.05,
  "roi_heads.box_predictor.bbox_pred.weight": 0.2,
};
const TMP = mkdtempSync(join(tmpdir(), "tasksr-frcnn-export-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

/**
 * The light Faster R-CNN at 64-96 px with seeded weights of every role's scale (the parity tests' fillSeeded; the
 * default initialisation leaves the FPN maps near 0, so every roi gets the same scores, and ties make any order
 * right), heads and FPN scaled as there. The defaults' thresholds keep hundreds of proposals and tens of detections.
 */
function detector(): LoadedTask {
  manualSeed(5);
  const net = buildArch("fasterrcnn-mobilenet-v3-light", {
    numClasses: 4,
    minSize: 96,
    maxSize: 128,
    rpnPreNmsTopNTest: 300,
    rpnPostNmsTopNTest: 100,
    boxDetectionsPerImg: 40,
  }) as unknown as Module<never[], unknown>;
  fillSeeded(net, 77);
  scaleEntries(net, {
    ...HEAD_SCALES,
    "backbone.fpn.inner_blocks.0.0.weight": 0.01,
    "backbone.fpn.inner_blocks.1.0.weight": 0.01,
    "backbone.fpn.inner_blocks.0.0.bias": 0,
    "backbone.fpn.inner_blocks.1.0.bias": 0,
    "backbone.fpn.layer_blocks.0.0.bias": 0,
    "backbone.fpn.layer_blocks.1.0.bias": 0,
  });
  net.eval();
  const arch = "fasterrcnn-mobilenet-v3-light";
  return { adapter: { task: "detection", net } as unknown as LoadedTask["adapter"], arch, description: arch };
}

function exportBoth(task: LoadedTask) {
  const g = exportGraph("task", { task, scale: 1, where: "test" });
  assert.ok(g.rcnn, "a Faster R-CNN exports as two graphs");
  const meta = { "tasksr.rcnn": JSON.stringify(g.rcnn.graphs.settings) };
  const s1 = exportOnnx(g.forward, { output: g.output, metadata: { ...meta, "tasksr.stage2": "det.stage2.onnx" } });
  const s2 = exportGraphOnnx(g.rcnn.graphs.stage2, g.rcnn.graphs.stage2Inputs, {
    output: "detections",
    metadata: meta,
    sampleSize: [6, 7],
  });
  return { g, rcnn: g.rcnn, s1, s2 };
}

test("faster r-cnn export: both stages and the final detections equal the engine's through onnxruntime-node", async () => {
  const task = detector();
  const { g, rcnn, s1, s2 } = exportBoth(task);
  assert.deepEqual(Object.keys(s1.outputs), ["features.0", "features.1", "features.pool", "objectness", "proposals"]);
  assert.deepEqual(Object.keys(s2.outputs), ["scores", "boxes"]);
  const checks = await checkRcnnWithOnnxRuntime(
    s1.bytes,
    s2.bytes,
    g.forward as (x: Tensor) => Record<string, Tensor>,
    rcnn.graphs,
    rcnn.detect,
    1,
    [
      [1, 50, 71],
      [2, 83, 45],
    ],
  );
  for (const r of checks) {
    const d = r.detections;
    console.log(
      `at ${r.size}: stage 1 ${r.stage1Diff.toExponential(2)}, stage 2 ${r.stage2Diff.toExponential(2)}, ` +
        `${d.engine} detections, boxes ${d.maxBoxDiff.toExponential(2)} px, scores ${d.maxScoreDiff.toExponential(2)}`,
    );
    assert.ok(r.stage1Diff <= 1e-4 * Math.max(1, r.maxAbs), `stage 1 at ${r.size}: ${r.stage1Diff} (|y| ${r.maxAbs})`);
    assert.ok(r.stage2Diff <= 1e-4 * Math.max(1, r.maxAbs), `stage 2 at ${r.size}: ${r.stage2Diff}`);
    assert.ok(d.engine >= 10 * r.size[0], `at ${r.size}: only ${d.engine} detections to compare`);
    assert.ok(d.same, `at ${r.size}: ${d.onnx} detections vs the engine's ${d.engine}, or other labels`);
    // 1e-4 of the image's larger side (BOX_TOLERANCE): this random network's stage-1 maps differ by ~2e-5 relative.
    assert.ok(
      d.maxBoxDiff <= 1e-4 * Math.max(r.size[1], r.size[2]),
      `at ${r.size}: boxes differ by ${d.maxBoxDiff} px`,
    );
    assert.ok(d.maxScoreDiff <= 1e-4, `at ${r.size}: scores differ by ${d.maxScoreDiff}`);
    assert.ok(d.agree);
  }
  task.adapter.net.dispose();
});

test("faster r-cnn export: createFasterRcnnDetector runs the two files like the engine", async () => {
  const task = detector();
  const { s1, s2 } = exportBoth(task);
  const file = join(TMP, "det.onnx");
  writeFileSync(file, s1.bytes);
  writeFileSync(join(TMP, "det.stage2.onnx"), s2.bytes);
  assert.equal(JSON.parse(readOnnxMetadata(s1.bytes)["tasksr.rcnn"]!).kind, "faster-rcnn");
  const net = task.adapter.net as unknown as Module<[Tensor], DetectorOutput>;
  const dims = [1, 3, 77, 64] as const;
  const { lr, engine } = noGrad(() =>
    scope(() => {
      manualSeed(9);
      const x = rand([...dims]);
      const d = net.call(x).detections[0]!;
      return { lr: x.data<"float32">(), engine: { labels: d.labels.toArray(), boxes: d.boxes.data<"float32">() } };
    }),
  );
  const det = await createFasterRcnnDetector({ model: file, threads: 1 });
  const [js] = await det.detect(lr, dims);
  await det.release();
  assert.ok(engine.labels.length >= 10, "the detector reports boxes");
  assert.deepEqual(Array.from(js!.labels), engine.labels, "same labels in the same order");
  for (let i = 0; i < engine.boxes.length; i++) {
    assert.ok(
      Math.abs(js!.boxes[i]! - engine.boxes[i]!) <= 1e-2,
      `box value ${i}: ${js!.boxes[i]} vs ${engine.boxes[i]}`,
    );
  }
  task.adapter.net.dispose();
});
