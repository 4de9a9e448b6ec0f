/**
 * Every ONNX emitter (src/export/ops.ts) against the engine, through onnxruntime-node, at input sizes none of the
 * traces used — so a size baked into the graph fails here. Plus the refusals: what cannot be one graph with dynamic
 * N, h, w is an E_EXPORT naming the op, never a silently wrong file.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { arange, cat, full, ones, randn, stack, tensor, zeros } from "../../src/engine/creation.js";
import * as F from "../../src/engine/functional.js";
import { noGrad, rand, scope, type Tensor } from "../../src/engine/index.js";
import { exportOnnx } from "../../src/export/onnx.js";
import { EMITTERS } from "../../src/export/ops.js";
import { multiScaleRoiAlignOp, rcnnAnchorsOp, rcnnTransformOp } from "../../src/export/rcnn.js";
import { createConstCache, traceForward } from "../../src/export/trace.js";
import { AnchorGenerator } from "../../src/models/detection/anchors.js";
import { DetectionTransform } from "../../src/models/detection/transform.js";
import { cropToScale, forwardPadded } from "../../src/models/sr/base.js";
import { mirrorPadToWindow } from "../../src/models/sr/swinir.js";
import { compareOnnx } from "../support/onnx.js";

const SIZES = [
  [1, 23, 31],
  [2, 50, 37],
] as const;

// Weights made once, outside the forward: they become initializers.
const w3 = randn([8, 3, 3, 3]).mul(0.3);
const b8 = randn([8]).mul(0.1);
const wt = randn([8, 4, 4, 4]).mul(0.2);
const mean = tensor([0.4, 0.5, 0.6]).reshape(1, 3, 1, 1);
const lin = randn([5, 8]).mul(0.3);
const linB = randn([5]);
const rm = randn([8]).mul(0.1);
const rv = randn([8]).abs().add(0.5);
const slope = tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
const lnW = randn([8]);

const PICK = tensor([5, 0, 5, 2], { dtype: "int64" });

const conv = (x: Tensor) => F.conv2d(x.sub(mean), w3, b8, { padding: 1 }); // [N, 8, h, w]

/** name -> forward; together they reach every emitter (checked below). */
const CASES: Record<string, (x: Tensor) => Tensor> = {
  "conv, strided, dilated, grouped": (x) =>
    F.conv2d(F.conv2d(conv(x), randnFixed, undefined, { stride: 2, dilation: 2, padding: 2, groups: 2 }), w8x1),
  conv_transpose: (x) =>
    F.convTranspose2d(conv(x), wt, undefined, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
  "linear on [N, C] and [N, h, w, C]": (x) =>
    F.linear(conv(x).mean([2, 3]), lin, linB).add(F.linear(conv(x).permute(0, 2, 3, 1), lin).mean([1, 2])),
  "batch norm (affine and not), layer norm": (x) =>
    F.layerNorm(
      F.batchNorm(conv(x), rm, rv, { weight: slope, bias: b8 })
        .add(F.batchNorm(conv(x), rm, rv))
        .permute(0, 2, 3, 1),
      [8],
      lnW,
    ),
  activations: (x) => {
    const y = conv(x);
    return F.relu(y)
      .add(y.sigmoid())
      .add(y.tanh())
      .add(F.hardswish(y))
      .add(F.hardsigmoid(y))
      .add(F.leakyRelu(y, 0.2))
      .add(F.elu(y))
      .add(F.silu(y))
      .add(F.gelu(y))
      .add(F.prelu(y, slope))
      .add(F.hardtanh(y, -0.5, 0.5))
      .add(y.clamp(-0.3, 0.7))
      .add(y.abs().add(1).sqrt().log().exp().neg().erf());
  },
  "arithmetic with scalars and tensors": (x) =>
    x.mul(3).add(1, 2).sub(mean, 0.5).div(2).rsub(4).rdiv(1).pow(2).add(x.pow(mean)).add(x.mul(x)),
  pooling: (x) =>
    F.maxPool2d(conv(x), 3, { stride: 2, padding: 1 })
      .add(F.avgPool2d(conv(x), 3, { stride: 2, padding: 1 }))
      .add(F.adaptiveAvgPool2d(conv(x), 1)),
  "interpolate: scale factors": (x) =>
    F.interpolate(x, { scaleFactor: 2, mode: "nearest" })
      .add(F.interpolate(x, { scaleFactor: 2, mode: "bilinear" }))
      .add(F.interpolate(x, { scaleFactor: 2, mode: "bicubic" }))
      .add(F.interpolate(x, { scaleFactor: 2, mode: "bilinear", alignCorners: true })),
  "interpolate: to a size read off another tensor": (x) => {
    const small = F.avgPool2d(x, 2, { ceilMode: true });
    const up = (mode: "nearest" | "bilinear" | "bicubic") =>
      F.interpolate(small, {
        size: [x.size(2), x.size(3)],
        mode,
        alignCorners: mode === "nearest" ? undefined : false,
      });
    return up("nearest")
      .add(up("bilinear"))
      .add(up("bicubic"))
      .add(F.interpolate(x, { size: [x.size(2) * 3, x.size(3) + 5], mode: "nearest-exact" }).mean([2, 3], true));
  },
  "pixel shuffle, cat, stack": (x) => {
    const y = F.pixelShuffle(conv(x), 2); // [N, 2, 2h, 2w]
    const both = cat([y, F.pixelShuffle(conv(x).mul(-1), 2)], 1); // [N, 4, 2h, 2w]
    return both.add(stackMean(both));
  },
  "reshape with the batch, view, flatten, permute, transpose": (x) => {
    const y = conv(x); // [N, 8, h, w]
    const n = y.size(0);
    const z = y
      .reshape(n, 2, 4, y.size(2) * y.size(3))
      .transpose(1, 2)
      .reshape(n, 8, -1); // [N, 8, h·w]
    return z
      .view(n, 8, y.size(2), y.size(3))
      .add(y.flatten(2).unsqueeze(3).squeeze(3).reshape(n, 8, y.size(2), y.size(3)));
  },
  "flatten from dim 1 and 0": (x) => conv(x).mean([2, 3], true).flatten(1).flatten(0).softmax(0).logSoftmax(0),
  "narrow, slice, select with sizes": (x) => {
    const h = x.size(2);
    const w = x.size(3);
    const a = x
      .narrow(2, 1, h - 2)
      .slice(3, 2, w - 1)
      .slice(3, 0, undefined, 2); // [N, 3, h-2, ceil((w-3)/2)]
    return a.add(
      x
        .select(1, 0)
        .unsqueeze(1)
        .narrow(2, 1, h - 2)
        .slice(3, 2, w - 1)
        .slice(3, 0, undefined, 2),
    );
  },
  "pad: constant, reflect, replicate, size-dependent": (x) => {
    const h = x.size(2);
    const p = (mode: "constant" | "reflect" | "replicate") =>
      F.pad(x, [1, 2, 3, 1], mode, mode === "constant" ? 0.5 : undefined);
    return p("constant")
      .add(p("reflect"))
      .add(p("replicate"))
      .sum([1], true)
      .add(
        F.pad(x, [1, 2, 4, 0], "replicate")
          .narrow(2, 0, h + 4)
          .sum(1, true),
      );
  },
  "matmul, bmm, sum, softmax, norms": (x) => {
    const y = conv(x).flatten(2); // [N, 8, h·w]
    const att = y.matmul(y.transpose(1, 2)).div(y.size(2)).softmax(-1); // [N, 8, 8]
    return att
      .bmm(F.normalize(y))
      .sum([2])
      .add(y.sum([1, 2], false).unsqueeze(1))
      .add(y.norm(1, [1, 2], true).squeeze(2));
  },
  "casts and expand": (x) => {
    const m = x.mean([1], true); // [N, 1, h, w]
    return m
      .expand(-1, 3, -1, -1)
      .add(m.expand(x.size(0), 3, x.size(2), x.size(3)))
      .add(x.mul(3).to("int64").to("float32"))
      .add(x.to({ device: "cpu" }));
  },
  "tensors made from sizes: arange, zeros, ones, full": (x) => {
    const [n, h, w] = [x.size(0), x.size(2), x.size(3)];
    const ramp = arange(0, w).to("float32").div(w); // [w], int64 before the cast
    const framp = arange(0.5, h, 1, { dtype: "float32" }).div(h).unsqueeze(1); // [h, 1]
    return x
      .add(ramp)
      .add(framp)
      .add(zeros([n, 3, h, w]))
      .add(ones([1, 3, 1, w]).mul(0.5))
      .add(full([h, 1], 0.25))
      .add(full([1], w).div(100));
  },
  "R-CNN transform: min/max resize (both orientations at SIZES), pad to a multiple": (x) =>
    rcnnTransformOp(RCNN_TRANSFORM, x),
  "R-CNN anchors from the shapes, a rounded-up level included": (x) => {
    const images = rcnnTransformOp(RCNN_TRANSFORM, x); // [N, 3, Hp, Wp], multiples of 16
    const f1 = F.avgPool2d(images, 16); // [N, 3, Hp / 16, Wp / 16]
    const f2 = F.maxPool2d(f1, 1, { stride: 2 }); // ceil(Hp / 32): its stride Hp // that is not affine
    return rcnnAnchorsOp(RCNN_ANCHORS, images, [f1, f2]);
  },
  "multi-scale RoIAlign: two levels, rois past the border, the last image's index": (x) => {
    const f1 = conv(x); // [N, 8, h, w]
    const f2 = F.avgPool2d(f1, [2, 2]);
    const k = ROIS.size(0);
    const batch = full([k], x.size(0) - 1, { dtype: "int64" });
    return multiScaleRoiAlignOp([f1, f2], ROIS, batch, ROI_LEVELS, ROI_SCALES, [3, 4], 2);
  },
  "SR padding to a multiple (reflect, replicate), the crop back, the SwinIR test script's mirror": (x) => {
    const up = (p: Tensor) => F.interpolate(p, { scaleFactor: 2, mode: "nearest" }); // [N, 3, 2h', 2w']
    const reflect = forwardPadded(x, 2, { sizeMultiple: 8, padMode: "reflect" }, up);
    const replicate = forwardPadded(x, 2, { sizeMultiple: 5, padMode: "replicate" }, up);
    const mirrored = mirrorPadToWindow(x, 8); // [N, 3, (h // 8 + 1)·8, (w // 8 + 1)·8]
    return reflect.add(replicate).add(cropToScale(up(mirrored), x, 2));
  },
  "roll, unbind, index_select, comparisons": (x) => {
    const y = conv(x); // [N, 8, h, w]
    const rolled = y.roll([-2, 3], [2, 3]).add(y.roll([1], [3]));
    const [a, b, c] = y.narrow(1, 0, 3).unbind(1); // [N, h, w] each
    const picked = y.indexSelect(1, PICK).sum(1); // [N, h, w]
    const masks = [y.ge(0), y.gt(0.1), y.le(0.2), y.lt(-0.1), y.eq(0), y.ne(0.3)].map((m) => m.float());
    return masks.reduce((acc, m) => acc.add(m), rolled).add(a!.mul(b!).add(c!).add(picked).unsqueeze(1));
  },
  "dropout and contiguous in eval": (x) =>
    F.dropout2d(F.dropout(x, 0.5, false), 0.5, false)
      .contiguous()
      .clone()
      .detach()
      .alias(),
};
// R-CNN pieces (src/export/rcnn.ts): a transform resizing 23×31 up (short side h) and 50×37 (short side w), anchors
// of two levels, rois (x1, y1, x2, y2 in input pixels) with tiny, large and out-of-image boxes on both levels.
const RCNN_TRANSFORM = new DetectionTransform({
  resize: { kind: "minMax", minSize: 40, maxSize: 70 },
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  channelOrder: "rgb",
  sizeDivisible: 16,
});
const RCNN_ANCHORS = new AnchorGenerator(
  [[8, 16], [32]],
  [
    [0.5, 1, 2],
    [1, 2],
  ],
);
const ROIS = tensor([
  [1, 2, 9, 14],
  [0.2, 0.4, 0.9, 0.7],
  [3, 1, 22, 20],
  [-4, -3, 12, 40],
  [15, 10, 60, 55],
  [5.5, 6.25, 7.5, 30],
]);
const ROI_LEVELS = tensor([0, 1, 0, 1, 1, 0], { dtype: "int64" });
const ROI_SCALES = tensor([1, 0.5]);
// Fixed weights used by the cases above.
const randnFixed = randn([8, 4, 3, 3]).mul(0.2);
const w8x1 = randn([3, 8, 1, 1]).mul(0.3);
const stackMean = (y: Tensor) => stack([y, y.mul(2)], 1).mean([1]);

for (const [name, forward] of Object.entries(CASES)) {
  test(`export op parity: ${name}`, async () => {
    for (const r of await compareOnnx(forward, SIZES)) {
      assert.ok(
        r.maxAbsDiff <= 1e-4 * Math.max(1, r.maxAbs),
        `${name} at ${r.size}: max abs diff ${r.maxAbsDiff} (|y| ${r.maxAbs})`,
      );
    }
  });
}

test("export op parity: float16 graphs keep the float32 interface and agree to 1e-2", async () => {
  for (const r of await compareOnnx(CASES.activations!, SIZES, { fp16: true })) {
    assert.ok(r.maxAbsDiff <= 1e-2 * Math.max(1, r.maxAbs), `fp16 activations at ${r.size}: ${r.maxAbsDiff}`);
    assert.ok(r.maxAbsDiff > 0, "an fp16 graph that equals float32 exactly was not computed in fp16");
  }
});

test("every emitter is reached by an op-parity case", () => {
  const seen = new Set<string>();
  for (const forward of Object.values(CASES)) {
    noGrad(() =>
      scope(() => {
        for (const op of traceForward(forward, rand([1, 3, 23, 31]), "y", createConstCache()).ops) seen.add(op.op);
      }),
    );
  }
  const unreached = Object.keys(EMITTERS).filter((k) => !seen.has(k));
  assert.deepEqual(unreached, [], `emitters without a parity case: ${unreached.join(", ")}`);
});

test("export refuses what one dynamic graph cannot hold, naming the op", () => {
  const refuse = (forward: (x: Tensor) => Tensor, pattern: RegExp) =>
    assert.throws(
      () => exportOnnx(forward, { output: "y" }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "E_EXPORT");
        assert.match(e.message, pattern);
        return true;
      },
    );
  // Control flow on the size: pad to a multiple of 8 only when needed (h = 64 needs none).
  refuse(
    (x) => (x.size(2) % 8 === 0 ? x : F.pad(x, [0, 0, 0, 8 - (x.size(2) % 8)], "replicate")),
    /ops depend on the input size/,
  );
  // A size not affine in h: h / 3 rounded down.
  refuse(
    (x) => F.interpolate(x, { size: [Math.floor(x.size(2) / 3), x.size(3)], mode: "nearest" }),
    /not c \+ a·N \+ b·h \+ d·w/,
  );
  // A constant built from the input's size out of data (arange, zeros, ... are computed in the graph instead).
  refuse((x) => x.add(tensor(new Float32Array(x.size(3)).fill(1))), /computed from the input's size/);
  // Reading data of a traced tensor.
  refuse((x) => (x.mean().item() > 0.5 ? x : x.neg()), /reads the values/);
  // In-place update of a traced tensor.
  refuse((x) => x.mul(2).relu_(), /in place/);
  // An op with no emitter.
  refuse((x) => x.cumsum(1), /no ONNX emitter/);
});
