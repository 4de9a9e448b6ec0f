import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { memory, noGrad, randn, scope, type Tensor } from "../../src/engine/index.js";
import { MobileNetV3Features, type MobileNetV3Options } from "../../src/models/backbones/mobilenetv3.js";
import type { Conv2dNormActivation } from "../../src/models/blocks/conv_norm_act.js";
import { buildArch } from "../../src/models/index.js";
import { Conv2d, FrozenBatchNorm2d } from "../../src/nn/index.js";
import { assertClose, fixture } from "../support/compare.js";
import { FIXTURES } from "../support/paths.js";
import { smokeTest } from "../support/smoke.js";

const fx = fixture(join(FIXTURES, "models", "mobilenetv3.safetensors"));
const TAPS = [0, 2, 4, 7, 13, 16];

/** Forward parity of every stage output and the input gradient of the fixture's probe, in eval mode. */
function checkParity(name: string, o: MobileNetV3Options, sdName: string): void {
  const net = new MobileNetV3Features(o).eval();
  net.loadStateDict(fx.sub(`${sdName}.sd.`));
  const x = fx.get("x");
  scope(() => {
    const maps = noGrad(() => net.forwardFeatures(x, TAPS));
    for (const i of TAPS) assertClose(maps.get(i)!, fx.get(`${name}.out.${i}`), 1e-4, `${name} layer ${i}`);
    const xg = x.detach().requiresGrad_();
    net
      .call(xg)
      .mul(fx.get(`${name}.probe`))
      .sum()
      .backward();
    assertClose(xg.grad!, fx.get(`${name}.gx`), 1e-4, `${name} input gradient`);
  });
  net.dispose();
}

test("MobileNetV3-Large width 0.25: stage outputs and input gradient match torchvision (1e-4)", () => {
  checkParity("a", { widthMult: 0.25 }, "a");
});

test("MobileNetV3-Large dilated + reduced tail: output stride 16 and parity with torchvision (1e-4)", () => {
  checkParity("b", { widthMult: 0.25, dilated: true, reducedTail: true }, "b");
  assert.deepEqual(fx.get("b.out.16").shape, [2, 144, 3, 3]);
});

test("MobileNetV3-Large with FrozenBatchNorm2d loads a BatchNorm state dict and matches torchvision (1e-4)", () => {
  checkParity("c", { widthMult: 0.25, dilated: true, reducedTail: true, norm: "frozen" }, "b");
});

test("MobileNetV3-Large keys, stage indices, channels and parameter count equal torchvision's", () => {
  const net = new MobileNetV3Features();
  assert.equal(net.numParameters(), 2_971_952);
  assert.deepEqual(net.stageIndices, [0, 2, 4, 7, 13, 16]);
  assert.deepEqual(
    TAPS.map((i) => net.channels[i]),
    [16, 24, 40, 80, 160, 960],
  );
  const keys = [...net.stateDict().keys()];
  for (const k of [
    "0.0.weight",
    "0.1.running_var",
    "1.block.0.0.weight",
    "4.block.2.fc1.weight",
    "4.block.2.fc2.bias",
    "4.block.3.1.num_batches_tracked",
    "16.0.weight",
  ]) {
    assert.ok(keys.includes(k), k);
  }
  // Same key set as the width-0.25 reference: nothing renamed, nothing extra.
  assert.deepEqual(
    [...new MobileNetV3Features({ widthMult: 0.25 }).stateDict().keys()].sort(),
    [...fx.sub("a.sd.").keys()].sort(),
  );
  net.dispose();
});

test("MobileNetV3-Large init follows torchvision: kaiming-normal fan_out convs, zero biases", () => {
  const net = new MobileNetV3Features();
  const conv = (net.at(16) as Conv2dNormActivation).conv; // 1x1, 160 -> 960: fan_out 960
  const std = scope(() => conv.weight.std().item());
  assert.ok(Math.abs(std - Math.sqrt(2 / 960)) < 0.05 * Math.sqrt(2 / 960), `std ${std}`);
  const se = net.stateDict().get("4.block.2.fc1.bias")!;
  assert.equal(
    scope(() => se.abs().max().item()),
    0,
  );
  net.dispose();
});

test("MobileNetV3-Large frozen norm has no trainable norm parameters; full dilated net is stride 16 with C5 960", () => {
  const before = memory().liveTensors;
  const net = new MobileNetV3Features({ dilated: true, norm: "frozen" }).eval();
  assert.ok((net.at(0) as Conv2dNormActivation).at(1) instanceof FrozenBatchNorm2d);
  const convParams = net.namedModules().reduce((a, [, m]) => a + (m instanceof Conv2d ? m.numParameters() : 0), 0);
  assert.equal(net.numParameters(), convParams);
  const maps = noGrad(() => scope(() => net.forwardFeatures(randn([1, 3, 64, 64]), [4, 13, 16])));
  assert.deepEqual(maps.get(4)!.shape, [1, 40, 8, 8]);
  assert.deepEqual(maps.get(13)!.shape, [1, 160, 4, 4]);
  assert.deepEqual(maps.get(16)!.shape, [1, 960, 4, 4]);
  for (const t of maps.values()) (t as Tensor).dispose();
  net.dispose();
  assert.equal(memory().liveTensors, before);
});

test("smoke: mobilenet-v3-large (width 0.25, dilated) forward, backward, Adam step, safetensors round trip, no leaks", () => {
  smokeTest(
    () => buildArch("mobilenet-v3-large", { widthMult: 0.25, dilated: true }, "backbone") as MobileNetV3Features,
    [2, 3, 32, 32],
  );
});
