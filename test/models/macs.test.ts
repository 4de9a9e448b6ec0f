import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { memory, zeros } from "../../src/engine/index.js";
import { countMacs, inspectArch } from "../../src/models/index.js";
import { Conv2d, ConvTranspose2d, Linear, ReLU, Sequential } from "../../src/nn/index.js";
import { FIXTURES } from "../support/paths.js";

test("MACs convention on single layers: conv, grouped conv, transposed conv (per input element), linear", () => {
  const net = new Sequential(
    new Conv2d(3, 8, 3, { stride: 2, padding: 1 }), // [1,3,9,9] -> [1,8,5,5]: 8·25 outputs × 3·9
    new ReLU(),
    new Conv2d(8, 8, 3, { padding: 1, groups: 8 }), // depthwise: 8·25 outputs × 1·9
    new ConvTranspose2d(8, 2, 4, { stride: 2, padding: 1 }), // [1,8,5,5] -> [1,2,10,10]: 8·25 inputs × 2·16
  );
  const lin = new Linear(16, 4);
  const before = memory().liveTensors;
  const x = zeros([1, 3, 9, 9]);
  const { macs, result } = countMacs(net, () => net.call(x).shape);
  assert.deepEqual(result, [1, 2, 10, 10]);
  assert.deepEqual(macs.byType, { conv: 8 * 25 * 27 + 8 * 25 * 9, convTranspose: 8 * 25 * 32, linear: 0 });
  assert.deepEqual(
    macs.layers.map((l) => l.name),
    ["0", "2", "3"],
  );
  const y = zeros([3, 16]);
  const counted = countMacs(lin, () => lin.call(y));
  assert.equal(counted.macs.total, 3 * 4 * 16);
  assert.deepEqual(counted.result.shape, [3, 4]);
  for (const t of [x, y, counted.result]) t.dispose();
  assert.equal(memory().liveTensors, before, "nothing of the counted run is left");
  // The observation is undone: the layers run their own forward again.
  assert.ok(!Object.hasOwn(lin, "forward") && !Object.hasOwn(net.at(0), "forward"));
  net.dispose();
  lin.dispose();
});

test("MAC counts equal forward-hook counts on the reference models (same convention)", () => {
  const ref = JSON.parse(readFileSync(join(FIXTURES, "models", "macs.json"), "utf8")) as Record<string, number>;
  const cases: [string, string, Parameters<typeof inspectArch>[1]][] = [
    ["resnet18@3x224x224", "resnet18", { input: [3, 224, 224] }],
    ["resnet50@3x64x64", "resnet50", { input: [3, 64, 64] }],
    ["mobilenet-v3-large@3x224x224", "mobilenet-v3-large", { input: [3, 224, 224] }],
    ["deeplabv3-mobilenetv3-large@3x128x128", "deeplabv3-mobilenetv3-large", { input: [3, 128, 128] }],
    ["edsr-baseline-x4@3x16x16", "edsr-baseline", { scale: 4, input: [3, 16, 16] }],
    ["dbpn-x4@3x8x8", "dbpn", { scale: 4, input: [3, 8, 8] }],
  ];
  for (const [key, arch, o] of cases) assert.equal(inspectArch(arch, o).macs.total, ref[key], key);
});
