import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { Tensor } from "../../src/engine/index.js";
import { cpuCapability, manualSeed, noGrad, rand, scope } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { RESNET_DEPTHS, ResNet, type ResNetOptions } from "../../src/models/classification/resnet.js";
import { buildArch } from "../../src/models/index.js";
import type { Module } from "../../src/nn/module.js";
import { assertClose, fixture } from "../support/compare.js";
import { randomizeNorms } from "../support/norms.js";
import { FIXTURES } from "../support/paths.js";
import { smokeTest } from "../support/smoke.js";

const fx = fixture(join(FIXTURES, "models", "resnet.safetensors"));
const TAPS = ["start", "l1", "l2", "l3", "l4"];

/** Logits, every tap and the input gradient of the probe against torchvision, in eval mode. */
function checkParity(name: string, net: ResNet): void {
  net.eval();
  const x = fx.get(`${name}.x`);
  scope(() => {
    const { out, taps } = noGrad(() => net.forwardTaps(x, TAPS));
    assertClose(out, fx.get(`${name}.logits`), 1e-4, `${name} logits`);
    for (const k of TAPS) assertClose(taps.get(k)!, fx.get(`${name}.tap.${k}`), 1e-4, `${name} tap ${k}`);
    const xg = x.detach().requiresGrad_();
    net
      .call(xg)
      .mul(fx.get(`${name}.probe`))
      .sum()
      .backward();
    assertClose(xg.grad!, fx.get(`${name}.gx`), 1e-4, `${name} input gradient`);
  });
}

/**
 * torchvision's initialisation drawn bit for bit; with ATen's NO AVX kernels the draws are a few float32 ulps away
 * (PyTorch's own on such a CPU, see test/support/parity.ts).
 */
function assertInit(t: Tensor, want: Tensor, what: string): void {
  if (cpuCapability() === "NO AVX") assertClose(t, want, 1e-5, `${what} init`);
  else assert.ok(t.equal(want), `${what} init bit-exact`);
}

function seeded(seed: number, o: ResNetOptions, normSeed: number): ResNet {
  manualSeed(seed);
  const net = new ResNet(o);
  randomizeNorms(net, normSeed);
  return net;
}

test("ResNet-18 built with torchvision's seed has torchvision's weights; logits and taps match (1e-4)", () => {
  const net = seeded(0, RESNET_DEPTHS.resnet18, 100);
  assertInit(net.conv1.weight, fx.get("r18.conv1.weight"), "conv1");
  assertInit(net.fc.bias!, fx.get("r18.fc.bias"), "fc");
  checkParity("r18", net);
  net.dispose();
});

test("ResNet-50 built with torchvision's seed: logits, taps and input gradient match (1e-4): x=[1,3,32,32]", () => {
  const net = seeded(1, RESNET_DEPTHS.resnet50, 101);
  checkParity("r50", net);
  net.dispose();
});

test("small stem (3x3 stride 1, no max-pool) matches torchvision ResNet-18 with that stem: x=[2,3,16,16]", () => {
  const ref = seeded(2, { ...RESNET_DEPTHS.resnet18, numClasses: 10 }, 102);
  const net = new ResNet({ ...RESNET_DEPTHS.resnet18, numClasses: 10, stem: "small" });
  const sd = new Map(ref.stateDict());
  sd.set("conv1.weight", fx.get("small.conv1.weight"));
  net.loadStateDict(sd);
  checkParity("small", net);
  scope(() => {
    const { taps } = noGrad(() => net.forwardTaps(fx.get("small.x"), ["start", "l4"]));
    assert.deepEqual(taps.get("start")!.shape, [2, 64, 16, 16]);
    assert.deepEqual(taps.get("l4")!.shape, [2, 512, 2, 2]);
  });
  ref.dispose();
  net.dispose();
});

test("parameter counts equal torchvision's: resnet18/34/50 with 1000 classes", () => {
  for (const [name, count] of [
    ["resnet18", 11_689_512],
    ["resnet34", 21_797_672],
    ["resnet50", 25_557_032],
  ] as const) {
    const net = buildArch(name, {}, "task.classification");
    assert.equal(net.numParameters(), count, name);
    net.dispose();
  }
});

test("keys are torchvision's; normalisation buffers stay out of the state dict; any class count", () => {
  const net = buildArch("resnet50", { numClasses: 7 }, "task.classification") as ResNet;
  const keys = [...net.stateDict().keys()];
  assert.equal(keys.length, 320);
  for (const k of ["conv1.weight", "bn1.num_batches_tracked", "layer1.0.downsample.0.weight", "layer4.2.bn3.bias"]) {
    assert.ok(keys.includes(k), k);
  }
  assert.ok(!keys.some((k) => k.startsWith("normalize")));
  assert.deepEqual(net.fc.weight.shape, [7, 2048]);
  assert.deepEqual(
    net
      .namedBuffers()
      .map(([k]) => k)
      .filter((k) => k.startsWith("normalize")),
    ["normalize.mean", "normalize.std"],
  );
  net.dispose();
});

test("init: zeroInitResidual zeroes each block's last BatchNorm; convs are kaiming-normal fan_out", () => {
  const net = new ResNet({ ...RESNET_DEPTHS.resnet18, zeroInitResidual: true });
  const sd = net.stateDict();
  scope(() => {
    assert.equal(sd.get("layer2.1.bn2.weight")!.abs().sum().item(), 0);
    assert.equal(sd.get("layer2.1.bn1.weight")!.sum().item(), 128);
    const std = sd.get("layer4.0.conv2.weight")!.std().item(); // fan_out 512·9
    assert.ok(Math.abs(std - Math.sqrt(2 / (512 * 9))) < 0.02 * Math.sqrt(2 / (512 * 9)), `std ${std}`);
  });
  net.dispose();
});

test("forwardTaps: l4 of ResNet-18 at 224 px is [N, 512, 7, 7]; unknown tap names are rejected", () => {
  const net = buildArch("resnet18", { numClasses: 10 }, "task.classification") as ResNet;
  net.eval();
  scope(() => {
    const { out, taps } = noGrad(() => net.forwardTaps(rand([1, 3, 224, 224]), ["l4"]));
    assert.deepEqual(out.shape, [1, 10]);
    assert.deepEqual([...taps.keys()], ["l4"]);
    assert.deepEqual(taps.get("l4")!.shape, [1, 512, 7, 7]);
  });
  assert.throws(
    () => net.forwardTaps(rand([1, 3, 32, 32]), ["l4a"]),
    (e: unknown) => e instanceof TasksrError && /no tap "l4a"; taps: start, l1, l2, l3, l4/.test(e.message),
  );
  net.dispose();
});

test("smoke: resnet-tiny forward, backward, Adam step, safetensors round trip, no leaks: x=[2,3,32,32]", () => {
  smokeTest(
    () => buildArch("resnet-tiny", { numClasses: 5 }, "task.classification") as Module<[Tensor], Tensor>,
    [2, 3, 32, 32],
  );
});
