import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import {
  loadSafetensors,
  manualSeed,
  memory,
  noGrad,
  randn,
  saveSafetensors,
  scope,
  type Tensor,
  tensor,
} from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  FrozenBatchNorm2d,
  Linear,
  Module,
  ReLU,
  Sequential,
} from "../../src/nn/index.js";
import { FIXTURES } from "../support/paths.js";
import { tmpFile } from "../support/tmp.js";

const ref = loadSafetensors(join(FIXTURES, "nn", "layers.safetensors")).tensors;
const R = (k: string): Tensor => {
  const t = ref.get(k);
  assert.ok(t, `fixture ${k}`);
  return t;
};
const maxAbsDiff = (a: Tensor, b: Tensor): number => scope(() => a.sub(b).abs().max().item());

test("default initialisation equals torch.nn's for the same seed (bit-exact)", () => {
  manualSeed(0);
  const mods: [string, Module][] = [
    ["conv", new Conv2d(3, 8, 3, { padding: 1 })],
    ["lin", new Linear(16, 4)],
    ["convt", new ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1 })],
    ["dw", new Conv2d(8, 8, 3, { groups: 8, bias: false })],
  ];
  for (const [name, m] of mods) {
    const sd = m.stateDict();
    for (const [k, v] of sd) assert.ok(v.equal(R(`init.${name}.${k}`)), `${name}.${k}`);
    assert.equal(sd.size, name === "dw" ? 1 : 2);
    m.dispose();
  }
});

test("BatchNorm2d train/eval forward and running statistics match torch (1e-6)", () => {
  const bn = new BatchNorm2d(3);
  noGrad(() => {
    bn.weight!.copy_(R("bn.weight"));
    bn.bias!.copy_(R("bn.bias"));
  });
  const y1 = bn.call(R("bn.x1"));
  const y2 = bn.call(R("bn.x2"));
  bn.eval();
  const y3 = noGrad(() => bn.call(R("bn.x1")));
  assert.ok(maxAbsDiff(y1, R("bn.y1")) < 1e-6);
  assert.ok(maxAbsDiff(y2, R("bn.y2")) < 1e-6);
  assert.ok(maxAbsDiff(y3, R("bn.y3")) < 1e-6);
  for (const [k, v] of bn.stateDict()) {
    const want = R(`bn.after.${k}`);
    assert.deepEqual(v.shape, want.shape, k);
    if (k === "num_batches_tracked") assert.equal(v.item(), 2);
    else assert.ok(maxAbsDiff(v, want) < 1e-6, k);
  }
  for (const t of [y1, y2, y3]) t.dispose();
  bn.dispose();
});

class Net extends Module {
  readonly features: Sequential;
  readonly head: Linear;
  constructor() {
    super();
    this.features = this.module("features", new Sequential(new Conv2d(3, 4, 3), new BatchNorm2d(4), new ReLU()));
    this.head = this.module("head", new Linear(4, 2));
  }
  forward(x: Tensor): Tensor {
    return this.head.call(this.features.call(x).mean([2, 3])); // [N, 2]
  }
}

test("state-dict keys follow torch naming, including buffers", () => {
  const net = new Net();
  assert.deepEqual(
    [...net.stateDict().keys()],
    [
      "features.0.weight",
      "features.0.bias",
      "features.1.weight",
      "features.1.bias",
      "features.1.running_mean",
      "features.1.running_var",
      "features.1.num_batches_tracked",
      "head.weight",
      "head.bias",
    ],
  );
  assert.equal(net.numParameters(), 3 * 4 * 9 + 4 + 4 + 4 + 4 * 2 + 2);
  net.requiresGrad_(false);
  assert.equal(net.numParameters(true), 0);
  net.dispose();
});

test("loadStateDict reports missing, unexpected and mis-shaped keys; strict throws E_STATE_DICT", () => {
  const net = new Net();
  const sd = new Map(net.stateDict());
  const renamed = sd.get("head.weight")!;
  sd.delete("head.weight");
  sd.set("head.weights", renamed);
  sd.delete("features.1.running_var");
  const wrong = randn([2, 5]);
  sd.set("head.bias", wrong);
  assert.throws(
    () => net.loadStateDict(sd),
    (e: unknown) =>
      e instanceof TasksrError &&
      e.code === "E_STATE_DICT" &&
      /missing keys: features\.1\.running_var, head\.weight/.test(e.message) &&
      /unexpected keys: head\.weights/.test(e.message) &&
      /head\.bias \(module \[2\], file \[2, 5\]\)/.test(e.message),
  );
  const report = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(report.missing.sort(), ["features.1.running_var", "head.weight"]);
  assert.deepEqual(report.unexpected, ["head.weights"]);
  assert.deepEqual(
    report.mismatched.map((m) => m.key),
    ["head.bias"],
  );
  const fixed = net.loadStateDict(sd, { strict: false, remap: (k) => (k === "head.weights" ? "head.weight" : k) });
  assert.deepEqual(fixed.unexpected, []);
  wrong.dispose();
  net.dispose();
});

test("safetensors round trip gives identical outputs; to(dtype) keeps parameter objects", () => {
  const before = memory().liveTensors;
  manualSeed(3);
  const a = new Net().eval();
  const b = new Net().eval();
  const path = tmpFile("net.safetensors");
  saveSafetensors(path, a.stateDict());
  const loaded = loadSafetensors(path);
  b.loadStateDict(loaded.tensors);
  for (const t of loaded.tensors.values()) t.dispose();
  const x = randn([2, 3, 8, 8]);
  const ya = noGrad(() => a.call(x));
  const yb = noGrad(() => b.call(x));
  assert.ok(ya.equal(yb));
  const w = b.head.weight;
  b.to("float64");
  assert.equal(w.dtype, "float64");
  assert.equal(w.requiresGrad, true);
  assert.equal(b.stateDict().get("features.1.num_batches_tracked")!.dtype, "int64");
  for (const t of [x, ya, yb]) t.dispose();
  a.dispose();
  b.dispose();
  assert.equal(memory().liveTensors, before);
});

test("FrozenBatchNorm2d ignores num_batches_tracked when loading and has no parameters", () => {
  const f = new FrozenBatchNorm2d(2);
  assert.equal(f.numParameters(), 0);
  const sd = {
    weight: tensor([2, 3]),
    bias: tensor([1, -1]),
    running_mean: tensor([0.5, 0]),
    running_var: tensor([3, 8]),
    num_batches_tracked: tensor(7, { dtype: "int64" }),
  };
  f.loadStateDict(sd);
  const x = tensor([[[[1]], [[2]]]]);
  const y = f.call(x);
  // (1 - 0.5) * 2 / sqrt(3 + 1e-5) + 1, (2 - 0) * 3 / sqrt(8 + 1e-5) - 1
  const want = [(0.5 * 2) / Math.sqrt(3 + 1e-5) + 1, (2 * 3) / Math.sqrt(8 + 1e-5) - 1];
  for (const [i, v] of y.toArray().entries()) assert.ok(Math.abs(v - want[i]!) < 1e-6);
  for (const t of [...Object.values(sd), x, y]) t.dispose();
  f.dispose();
});

test("Sequential frees intermediates as it goes (peak live handles stay small)", () => {
  const seq = new Sequential(...Array.from({ length: 20 }, () => new ReLU()));
  const x = randn([4]);
  const before = memory().liveTensors;
  const y = seq.call(x);
  assert.equal(memory().liveTensors, before + 1);
  y.dispose();
  x.dispose();
  seq.dispose();
});
