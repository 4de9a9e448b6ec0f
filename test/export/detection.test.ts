// SSD export: the graph's raw outputs (softmax scores, decoded boxes) against the engine through onnxruntime-node,
// and the JS post-processing (src/infer/detect_post.ts) on those outputs against the engine's own detections — both
// of its NMS paths (one shifted NMS for small inputs, per class for large). Faster R-CNN is two graphs
// (test/export/faster-rcnn.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { manualSeed, noGrad, rand, scope, type Tensor } from "../../src/engine/index.js";
import { exportGraph } from "../../src/export/networks.js";
import { exportOnnx } from "../../src/export/onnx.js";
import { checkWithOnnxRuntime } from "../../src/export/verify.js";
import { ssdPostprocess } from "../../src/infer/detect_post.js";
import { readOnnxMetadata } from "../../src/infer/metadata.js";
import type { LoadedTask } from "../../src/infer/sources.js";
import type { DetectorOutput } from "../../src/models/detection/types.js";
import { buildArch } from "../../src/models/index.js";
import type { Module } from "../../src/nn/module.js";

function detector(arch: string, options: Record<string, unknown>): LoadedTask {
  manualSeed(4);
  const net = buildArch(arch, options) as unknown as Module<never[], unknown>;
  net.eval();
  return { adapter: { task: "detection", net } as unknown as LoadedTask["adapter"], arch, description: arch };
}

for (const size of [[64, 80], undefined] as const) {
  test(`ssd-light export (${size ? "fixed input size" : "any input size: default boxes computed in the graph"}): scores and boxes equal the engine's through onnxruntime-node at two input sizes`, async () => {
    const task = detector("ssd-light", { numClasses: 5, ...(size ? { size } : {}) });
    const g = exportGraph("task", { task, scale: 1, where: "test" });
    assert.equal(g.output, "detections");
    assert.deepEqual(g.detection?.imageSize, size ?? null);
    const metadata = { "tasksr.detection": JSON.stringify(g.detection) };
    const { bytes, outputs } = exportOnnx(g.forward, { output: g.output, metadata });
    assert.deepEqual(Object.keys(outputs), ["scores", "boxes"]);
    assert.deepEqual(
      JSON.parse(readOnnxMetadata(bytes)["tasksr.detection"]!),
      g.detection,
      "settings travel in the file",
    );
    for (const r of await checkWithOnnxRuntime(bytes, g.forward, [
      [1, 50, 70],
      [2, 90, 61],
    ])) {
      // Boxes are pixels (up to ~100): float32 resolution there is ~1e-5.
      assert.ok(r.maxAbsDiff <= 1e-4 * Math.max(1, r.maxAbs), `at ${r.size}: ${r.maxAbsDiff} (|y| ${r.maxAbs})`);
    }
    task.adapter.net.dispose();
  });
}

for (const [name, options] of [
  ["one shifted NMS (few candidates)", { topkCandidates: 40, size: [64, 80] }],
  ["one NMS per class (many candidates)", { size: [64, 80] }],
  ["an SSD that keeps the input size", { topkCandidates: 40 }],
] as const) {
  test(`ssd post-processing in JS == the engine's detections: ${name}`, () => {
    const task = detector("ssd-light", { numClasses: 5, ...options });
    const g = exportGraph("task", { task, scale: 1, where: "test" });
    const net = task.adapter.net as unknown as Module<[Tensor], DetectorOutput>;
    noGrad(() =>
      scope(() => {
        const x = rand([1, 3, 57, 73]);
        const engine = net.call(x).detections[0]!;
        const raw = g.forward(x) as Record<string, Tensor>;
        const js = ssdPostprocess(raw.scores!.data<"float32">(), raw.boxes!.data<"float32">(), g.detection!, [57, 73]);
        const labels = engine.labels.toArray();
        assert.ok(labels.length > 10, "enough detections to compare");
        assert.deepEqual(Array.from(js.labels), labels, "same labels in the same order");
        const scores = engine.scores.data<"float32">();
        const boxes = engine.boxes.data<"float32">();
        for (let i = 0; i < scores.length; i++) assert.ok(Math.abs(js.scores[i]! - scores[i]!) <= 1e-6);
        for (let i = 0; i < boxes.length; i++) assert.ok(Math.abs(js.boxes[i]! - boxes[i]!) <= 1e-3, `box value ${i}`);
      }),
    );
    task.adapter.net.dispose();
  });
}

test("ssd300-vgg16 export: raw outputs equal the engine's through onnxruntime-node", async () => {
  const task = detector("ssd300-vgg16", { numClasses: 4 });
  const g = exportGraph("task", { task, scale: 1, where: "test" });
  const { bytes } = exportOnnx(g.forward, { output: g.output, sampleSize: [40, 48] });
  const [r] = await checkWithOnnxRuntime(bytes, g.forward, [[1, 45, 59]]);
  assert.ok(r!.maxAbsDiff <= 1e-4 * Math.max(1, r!.maxAbs), `${r!.maxAbsDiff} (|y| ${r!.maxAbs})`);
  task.adapter.net.dispose();
});

test("a Faster R-CNN, once refused with E_EXPORT, exports as two graphs with JS between them", () => {
  const task = detector("fasterrcnn-mobilenet-v3-light", { numClasses: 3 });
  const g = exportGraph("task", { task, scale: 1, where: "test" });
  assert.equal(g.output, "detections");
  assert.equal(g.rcnn?.graphs.settings.kind, "faster-rcnn");
  assert.deepEqual(g.rcnn?.graphs.settings.pooledNames, ["0", "1"]);
  task.adapter.net.dispose();
});
