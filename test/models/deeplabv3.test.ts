import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { noGrad, rand, scope, type Tensor } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { buildArch } from "../../src/models/index.js";
import {
  DEEPLAB_TAPS,
  DeepLabV3MobileNetV3,
  type DeepLabV3Options,
  imagenetBackboneRemap,
} from "../../src/models/segmentation/deeplabv3.js";
import { BatchNorm2d } from "../../src/nn/layers/norm.js";
import type { Module } from "../../src/nn/module.js";
import { assertClose, fixture } from "../support/compare.js";
import { fillDeterministic } from "../support/norms.js";
import { FIXTURES } from "../support/paths.js";
import { smokeTest } from "../support/smoke.js";

const fx = fixture(join(FIXTURES, "models", "deeplabv3.safetensors"));

/** `out`, `aux`, taps C0…C5 and the input gradient of the probes against torchvision, in eval mode. */
function checkParity(name: string, o: DeepLabV3Options, seed: number): void {
  const net = new DeepLabV3MobileNetV3(o).eval();
  fillDeterministic(net, seed);
  const x = fx.get(`${name}.x`);
  scope(() => {
    const { out, taps } = noGrad(() => net.forwardTaps(x, DEEPLAB_TAPS));
    assertClose(out.out, fx.get(`${name}.out`), 1e-4, `${name} out`);
    assertClose(out.aux!, fx.get(`${name}.aux`), 1e-4, `${name} aux`);
    for (const k of DEEPLAB_TAPS) assertClose(taps.get(k)!, fx.get(`${name}.tap.${k}`), 1e-4, `${name} tap ${k}`);
    const xg = x.detach().requiresGrad_();
    const y = net.call(xg);
    y.out
      .mul(fx.get(`${name}.probe.out`))
      .sum()
      .add(y.aux!.mul(fx.get(`${name}.probe.aux`)).sum())
      .backward();
    assertClose(xg.grad!, fx.get(`${name}.gx`), 1e-4, `${name} input gradient`);
  });
  net.dispose();
}

test("deeplabv3_mobilenet_v3_large (21 classes, aux): out, aux, taps C0..C5 and input gradient match torchvision (1e-4): x=[1,3,33,37]", () => {
  checkParity("full", {}, 7);
});

test("light variant (width 0.5, reduced tail, 64-channel head) matches torchvision's pieces (1e-4): x=[2,3,30,26]", () => {
  checkParity("light", { numClasses: 5, widthMult: 0.5, reducedTail: true, headChannels: 64 }, 8);
});

test("parameter count (21 classes, aux) is torchvision's 11,029,328; keys use backbone.{0..16}", () => {
  const net = buildArch("deeplabv3-mobilenetv3-large", {}, "task.segmentation") as DeepLabV3MobileNetV3;
  assert.equal(net.numParameters(), 11_029_328);
  const keys = [...net.stateDict().keys()];
  for (const k of [
    "backbone.0.0.weight",
    "backbone.16.1.running_var",
    "backbone.13.block.1.0.weight",
    "classifier.0.convs.0.0.weight",
    "classifier.0.convs.3.1.bias",
    "classifier.0.convs.4.1.weight",
    "classifier.0.project.0.weight",
    "classifier.1.weight",
    "classifier.4.bias",
    "aux_classifier.0.weight",
    "aux_classifier.4.weight",
  ]) {
    assert.ok(keys.includes(k), k);
  }
  assert.deepEqual(net.tapLayers, [0, 2, 4, 7, 13, 16]);
  assert.equal(
    buildArch("deeplabv3-mobilenetv3-large", { aux: false }).numParameters(),
    11_029_328 - 40 * 10 * 9 - 20 - 10 * 21 - 21,
  );
  net.dispose();
});

test("taps: C5 is [N, 960, H/16, W/16]; outputs are at the input size; unknown taps are rejected", () => {
  const net = new DeepLabV3MobileNetV3().eval();
  scope(() => {
    const { out, taps } = noGrad(() => net.forwardTaps(rand([1, 3, 48, 32]), ["C5", "C2"]));
    assert.deepEqual(taps.get("C5")!.shape, [1, 960, 3, 2]);
    assert.deepEqual(taps.get("C2")!.shape, [1, 40, 6, 4]);
    assert.deepEqual(out.out.shape, [1, 21, 48, 32]);
    assert.deepEqual(out.aux!.shape, [1, 21, 48, 32]);
  });
  assert.throws(() => net.forwardTaps(rand([1, 3, 32, 32]), ["out"]), TasksrError);
  net.dispose();
});

test("ImageNet MobileNetV3-Large keys map onto the backbone; the classifier keys are dropped", () => {
  assert.equal(imagenetBackboneRemap("features.4.block.2.fc1.weight"), "backbone.4.block.2.fc1.weight");
  assert.equal(imagenetBackboneRemap("classifier.0.weight"), null);
});

test("smoke: deeplabv3-mobilenetv3-light forward, backward, Adam step, safetensors round trip, no leaks: x=[2,3,32,32]", () => {
  smokeTest(
    () => buildArch("deeplabv3-mobilenetv3-light", { numClasses: 4 }, "task.segmentation") as Module<[Tensor], unknown>,
    [2, 3, 32, 32],
  );
});

test("bnMomentum sets the backbone's BatchNorm momentum (default torchvision's 0.01); the heads keep torch's 0.1", () => {
  const momenta = (options: Record<string, unknown>) => {
    const net = buildArch("deeplabv3-mobilenetv3-light", options, "task.segmentation");
    const found = new Map<string, Set<number>>();
    for (const [name, m] of net.namedModules()) {
      if (!(m instanceof BatchNorm2d)) continue;
      const part = name.split(".")[0]!;
      found.set(part, (found.get(part) ?? new Set()).add(m.momentum));
    }
    net.dispose();
    return Object.fromEntries([...found].map(([k, v]) => [k, [...v]]));
  };
  assert.deepEqual(momenta({}), { backbone: [0.01], classifier: [0.1], aux_classifier: [0.1] });
  assert.deepEqual(momenta({ bnMomentum: 0.1 }), { backbone: [0.1], classifier: [0.1], aux_classifier: [0.1] });
  assert.throws(() => buildArch("deeplabv3-mobilenetv3-light", { bnMomentum: 0 }, "task.segmentation"), /bnMomentum/);
});
