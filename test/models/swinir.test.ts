import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as F from "../../src/engine/functional.js";
import { manualSeed, noGrad, ones, rand, scope, type Tensor } from "../../src/engine/index.js";
import { shiftedWindowMask } from "../../src/models/blocks/swin.js";
import { buildArch } from "../../src/models/index.js";
import { SwinIr, type SwinIrOptions } from "../../src/models/sr/swinir.js";
import { DropPath } from "../../src/nn/layers/misc.js";
import { loadWeights } from "../../src/nn/weights.js";
import { assertClose, fixture } from "../support/compare.js";
import { fillDeterministic } from "../support/norms.js";
import { FIXTURES } from "../support/paths.js";

// tools/fixtures/models_swinir.py: a PyTorch SwinIR checked against the official network_swinir.py to 1e-10.
const fx = fixture(join(FIXTURES, "models", "swinir.safetensors"));
const PTH = join(FIXTURES, "models", "swinir_c_x3.pth");

const CONFIGS: Record<string, SwinIrOptions & { inputs: number; grads: string[] }> = {
  a: {
    scale: 4,
    imgSize: 8,
    windowSize: 4,
    embedDim: 12,
    depths: [2, 2],
    numHeads: [2, 3],
    inputs: 2,
    grads: [
      "conv_first.weight",
      "layers.0.residual_group.blocks.1.attn.relative_position_bias_table",
      "layers.1.residual_group.blocks.0.attn.qkv.weight",
      "patch_embed.norm.weight",
      "conv_last.bias",
    ],
  },
  b: {
    scale: 8,
    imgSize: 12,
    windowSize: 4,
    embedDim: 16,
    depths: [3],
    numHeads: [4],
    resiConnection: "3conv",
    inputs: 1,
    grads: [
      "layers.0.residual_group.blocks.2.mlp.fc1.weight",
      "layers.0.conv.2.weight",
      "conv_before_upsample.0.weight",
    ],
  },
  c: {
    scale: 3,
    imgSize: 16,
    windowSize: 8,
    embedDim: 8,
    depths: [2],
    numHeads: [2],
    upsampler: "pixelshuffledirect",
    patchNorm: false,
    imgRange: 255,
    inputs: 2,
    grads: ["layers.0.residual_group.blocks.1.attn.proj.weight", "upsample.0.weight"],
  },
};
const SEEDS: Record<string, number> = { a: 31, b: 32 };

function build(name: string): SwinIr {
  const { inputs: _i, grads: _g, ...o } = CONFIGS[name]!;
  const net = new SwinIr(o);
  if (name === "c") {
    // The release layout: {'params': state_dict} with relative_position_index and attn_mask, loaded strictly.
    const report = loadWeights(net, PTH);
    assert.deepEqual(report, { missing: [], unexpected: [], mismatched: [] });
  } else {
    fillDeterministic(net, SEEDS[name]!, { paramsOnly: true });
  }
  return net;
}

// float32 against a float64 reference: observed ≤ 1.2e-6 here, also with DNNL_MAX_CPU_ISA=SSE41 and
// ATEN_CPU_CAPABILITY=default; 1e-4 leaves room for
// every CPU's kernels (matmul blocking, vectorised exp/erf) while any layout or padding error is ≥ 1e-2.
const TOL = 1e-4;

for (const name of Object.keys(CONFIGS)) {
  const o = CONFIGS[name]!;
  test(`SwinIR ${name} (x${o.scale}, window ${o.windowSize}, ${o.upsampler ?? "pixelshuffle"}, ${o.resiConnection ?? "1conv"}) matches the reference at odd sizes, both paddings, with gradients`, () => {
    const net = build(name);
    net.eval();
    const fwd = new SwinIr({ ...o, evalPadding: "forward" });
    fwd.loadStateDict(net.stateDict());
    fwd.eval();
    scope(() => {
      for (let i = 0; i < o.inputs; i++) {
        const p = `${name}${i}`;
        const x = fx.get(`${p}.x`);
        assertClose(
          noGrad(() => net.call(x)),
          fx.get(`${p}.y_test`),
          TOL,
          `${p} test-script padding`,
        );
        assertClose(
          noGrad(() => fwd.call(x)),
          fx.get(`${p}.y_fwd`),
          TOL,
          `${p} network padding`,
        );
        const xg = x.detach().requiresGrad_();
        for (const t of net.parameters()) t.grad?.zero_();
        net
          .call(xg)
          .mul(fx.get(`${p}.probe`))
          .sum()
          .backward();
        assertClose(xg.grad!, fx.get(`${p}.gx`), TOL, `${p} input gradient`);
        const params = new Map(net.namedParameters());
        for (const k of o.grads) assertClose(params.get(k)!.grad!, fx.get(`${p}.g.${k}`), TOL, `${p} grad ${k}`);
        for (const t of net.parameters()) t.grad = undefined;
      }
      // At the training size (no padding) the blocks use their stored attn_mask buffers.
      assertClose(
        noGrad(() => fwd.call(fx.get(`${name}.xs`))),
        fx.get(`${name}.y_train_size`),
        TOL,
        `${name} training size`,
      );
    });
    net.dispose();
    fwd.dispose();
  });
}

test("the shifted-window mask equals the stored attn_mask buffer, and differs at another size", () => {
  const net = build("a");
  scope(() => {
    const stored = new Map(net.namedBuffers()).get("layers.0.residual_group.blocks.1.attn_mask")!;
    assert.deepEqual(stored.shape, [4, 16, 16]); // (8/4)² windows of 4×4 tokens
    assert.ok(shiftedWindowMask([8, 8], 4, 2).equal(stored));
    const m = shiftedWindowMask([12, 8], 4, 2); // [6, 16, 16]
    assert.deepEqual(m.shape, [6, 16, 16]);
    // Only the last window row and column mix regions; the first window is all zeros, values are 0 or -100.
    assert.equal(m.select(0, 0).abs().sum().item(), 0);
    assert.ok(m.eq(0).logicalOr(m.eq(-100)).all().item());
  });
  net.dispose();
});

test("parameter counts equal the official SwinIR-M's (x2, x3, x4, x8), buffers included in the state dict", () => {
  const counts = JSON.parse(readFileSync(join(FIXTURES, "models", "swinir_counts.json"), "utf8")) as Record<
    string,
    { parameters: number; state_dict_entries: number; state_dict_elements: number }
  >;
  for (const s of [2, 3, 4, 8]) {
    const net = buildArch("swinir-m", { scale: s }, "sr");
    const want = counts[`swinir-m.x${s}`]!;
    const sd = net.stateDict();
    assert.equal(net.numParameters(), want.parameters, `x${s} parameters`);
    assert.equal(sd.size, want.state_dict_entries, `x${s} state-dict entries`);
    assert.equal(
      [...sd.values()].reduce((a, t) => a + t.numel, 0),
      want.state_dict_elements,
      `x${s} elements`,
    );
    net.dispose();
  }
});

test("training mode pads as the network only; dropPathRate 0 makes it deterministic and equal to eval's forward padding", () => {
  const { inputs: _i, grads: _g, ...o } = CONFIGS.a!;
  const net = new SwinIr({ ...o, dropPathRate: 0 });
  fillDeterministic(net, SEEDS.a!, { paramsOnly: true });
  scope(() => {
    const x = fx.get("a0.x");
    const train = noGrad(() => net.call(x));
    assertClose(train, fx.get("a0.y_fwd"), TOL, "train-mode output");
  });
  net.dispose();
});

test("DropPath zeroes whole samples with probability p and rescales the others by 1/(1-p)", () => {
  manualSeed(5);
  const dp = new DropPath(0.25);
  scope(() => {
    const y = dp.call(ones([4000, 3, 2])); // [4000, 3, 2]
    const perSample = y.reshape(4000, 6);
    const kept = perSample.select(1, 0).ne(0);
    // Every element of a sample shares its draw.
    assert.ok(perSample.ne(0).eq(kept.unsqueeze(1)).all().item());
    const rate = kept.float().mean().item();
    assert.ok(Math.abs(rate - 0.75) < 0.03, `keep rate ${rate}`);
    assert.ok(Math.abs(perSample.max().item() - 1 / 0.75) < 1e-6);
    dp.eval();
    const x = rand([3, 2]);
    assert.equal(dp.call(x), x);
  });
});

test("swinir-tiny runs at any size and its input gradient flows (CPU variant)", () => {
  const net = buildArch("swinir-tiny", { scale: 2 }, "sr") as SwinIr;
  scope(() => {
    const x = rand([2, 3, 7, 19]).requiresGrad_();
    const y: Tensor = net.call(x);
    assert.deepEqual(y.shape, [2, 3, 14, 38]);
    y.mean().backward();
    assert.ok(x.grad!.abs().sum().item() > 0);
  });
  net.dispose();
});

test("residual: true starts exactly at bicubic (last conv zero), for both upsamplers", () => {
  for (const arch of ["swinir-tiny", "swinir"] as const) {
    const o =
      arch === "swinir"
        ? { scale: 2, embedDim: 12, depths: [2], numHeads: [2], residual: true }
        : { scale: 3, residual: true };
    const net = buildArch(arch, o, "sr") as SwinIr;
    net.eval();
    scope(() => {
      const x = rand([1, 3, 10, 13]);
      const s = net.scale;
      const want = F.interpolate(x, { scaleFactor: s, mode: "bicubic" });
      const got = noGrad(() => net.call(x));
      // The test-script padding changes what bicubic sees at the bottom/right border only; compare the interior.
      const inner = (t: Tensor) => t.narrow(2, 0, 6 * s).narrow(3, 0, 9 * s);
      assertClose(inner(got), inner(want), 1e-6, `${arch} at init`);
    });
    net.dispose();
  }
});
