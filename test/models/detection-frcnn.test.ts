/**
 * Faster R-CNN + MobileNetV3-Large FPN against torchvision 0.14 (tools/fixtures/detection_frcnn.py): seeded weights,
 * seeded images (detections compared as sets). Losses are compared after the same manualSeed on both sides: the
 * samplers draw the same permutations from the same libtorch generator.
 *
 * Every network runs in float64 on both sides (weights drawn in float32): in float32 the FPN maps move by 1.5e-4
 * relative and detection boxes by 9e-3 px with the kernels oneDNN picks for the CPU, and proposals or detections that
 * close in score swap ranks. The float32 path is what the training and overfit tests run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { empty, Generator, manualSeed, memory, noGrad, scope, type Tensor, tensor } from "../../src/engine/index.js";
import { MobileNetV3Features } from "../../src/models/backbones/mobilenetv3.js";
import type { Size } from "../../src/models/boxes/ops.js";
import {
  type FasterRcnn,
  fasterRcnnMobileNetV3LargeFpn,
  imagenetDetectorBackboneRemap,
  lightFasterRcnn,
} from "../../src/models/detection/faster_rcnn.js";
import type { DetectionTarget } from "../../src/models/detection/types.js";
import { assertClose, assertSameDetections, fillSeeded, fixture, relErr, scaleEntries } from "./detection-helpers.js";

const R = fixture("frcnn");

const HEAD_SCALES = {
  "rpn.head.cls_logits.weight": 0.2,
  "rpn.head.bbox_pred.weight": 0.05,
  "roi_heads.box_predictor.cls_score.weight": 0.05,
  "roi_heads.box_predictor.bbox_pred.weight": 0.2,
};
const FPN_SCALES = { "backbone.fpn.inner_blocks.0.0.weight": 0.01, "backbone.fpn.inner_blocks.1.0.weight": 0.01 };
const LOSSES = ["loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"];
/**
 * Float64 never reaches oneDNN; ATen's vectorised kernels still sum in an order that depends on the CPU. Measured
 * worst relative error over DNNL_MAX_CPU_ISA SSE41/AVX2/ALL x ATEN_CPU_CAPABILITY avx2/avx512: 1.4e-12 (FPN maps,
 * RoIAlign, proposals, losses, gradients); detection scores within 7e-15, boxes within 1.2e-11 px. Scaling one
 * head's weights by 1 + 1e-6 fails several checks.
 */
const TOL64 = 1e-9;
/**
 * The tolerance against reference value `want`: torchvision's RPN makes its objectness labels float32, and PyTorch
 * 1.13's binary_cross_entropy_with_logits then returns float32 even for float64 logits, so that one reference loss is
 * only float32-precise (relative rounding 2^-24).
 */
const tol64 = (want: Tensor): number => (want.dtype === "float32" ? 2 ** -23 : TOL64);

/** The fixture's images, replayed from their seeds (checked against the stored sums), in float64. */
function images(): Tensor[] {
  const xs = [
    empty([3, 96, 128]).uniform_(0, 1, new Generator(11)),
    empty([3, 112, 90]).uniform_(0, 1, new Generator(12)),
  ];
  for (const [i, x] of xs.entries()) assert.ok(relErr(x.sum(), R(`image${i}.sum`)) < 1e-6, `image ${i} differs`);
  return xs.map((x) => x.to("float64"));
}

function targets(light = false): DetectionTarget[] {
  const labels = (ls: number[]) => tensor(BigInt64Array.from(ls.map((l) => BigInt(light ? (l % 4) + 1 : l))));
  return [
    {
      boxes: tensor(
        [
          [10, 12, 60, 70],
          [70, 20, 120, 90],
          [5, 50, 40, 94],
        ],
        { dtype: "float64" },
      ),
      labels: labels([3, 7, 15]),
    },
    {
      boxes: tensor(
        [
          [8, 10, 80, 100],
          [40, 60, 70, 105],
        ],
        { dtype: "float64" },
      ),
      labels: labels([1, 20]),
    },
  ];
}

/** The reference's "frozen" network: weights drawn in float32, then the whole network in float64. */
function frozenModel(): FasterRcnn {
  const m = fasterRcnnMobileNetV3LargeFpn({ numClasses: 21, norm: "frozen", minSize: 128, maxSize: 192 });
  fillSeeded(m, 3000);
  scaleEntries(m, { ...HEAD_SCALES, ...FPN_SCALES });
  return m.to("float64").eval();
}

/** Losses after manualSeed(seed) in the network's dtype, and the input images (for their gradients). */
function runLosses(m: FasterRcnn, seed: number, light: boolean) {
  const xs = images().map((x) => x.requiresGrad_(true));
  const tg = targets(light);
  manualSeed(seed);
  const { losses, detections } = m.call(xs, tg);
  assert.ok(losses);
  assert.equal(detections.length, 0);
  assert.deepEqual(Object.keys(losses), LOSSES);
  LOSSES.map((k) => losses[k]!)
    .reduce((a, b) => a.add(b))
    .backward();
  m.zeroGrad();
  return { losses, xs };
}

/** Checks the losses, and with `grads` the input-image gradient of their sum. */
function checkLosses(m: FasterRcnn, prefix: string, seed: number, o: { light?: boolean; grads?: boolean } = {}): void {
  scope(() => {
    const { losses, xs } = runLosses(m, seed, o.light ?? false);
    for (const k of LOSSES) {
      const want = R(`${prefix}.${k}`);
      const e = relErr(losses[k]!, want);
      assert.ok(e <= tol64(want), `${prefix} ${k}: ${losses[k]!.item()} vs ${want.item()}`);
    }
    if (!o.grads) return;
    for (const [i, x] of xs.entries()) {
      assertClose(
        x.grad!.index(null, { step: 3 }, { step: 3 }),
        R(`${prefix}.grad${i}.sub`),
        TOL64,
        `${prefix} grad ${i}`,
      );
    }
  });
}

function checkDetections(m: FasterRcnn, prefix: string): void {
  scope(() => {
    const { detections } = noGrad(() => m.eval().call(images()));
    for (const [i, d] of detections.entries()) {
      const want = {
        boxes: R(`${prefix}.det${i}.boxes`),
        scores: R(`${prefix}.det${i}.scores`),
        labels: R(`${prefix}.det${i}.labels`),
      };
      assert.equal(d.boxes.size(0), want.boxes.size(0), `${prefix} image ${i}: detection count`);
      assertSameDetections(d, want, `${prefix} detections ${i}`, TOL64, TOL64);
    }
  });
}

test("fasterrcnn-mobilenet-v3-large-fpn: parameter counts and state-dict keys equal torchvision 0.14's", () => {
  const before = memory().liveTensors;
  for (const [numClasses, count] of [
    [91, 19_410_754],
    [21, 19_052_004],
  ] as const) {
    const m = fasterRcnnMobileNetV3LargeFpn({ numClasses });
    assert.equal(m.numParameters(), count);
    assert.equal(m.numParameters(true), count, "without pretrained weights every stage trains (torchvision's rule)");
    if (numClasses === 21) assert.equal([...m.stateDict().keys()].join(","), R.meta["bn.keys"]);
    m.dispose();
  }
  const frozen = fasterRcnnMobileNetV3LargeFpn({ numClasses: 21, norm: "frozen" });
  assert.equal(frozen.numParameters(), Number(R.meta["frozen.params"]));
  assert.equal(frozen.numParameters(true), Number(R.meta["frozen.trainable"]), "blocks 0-6 frozen");
  assert.equal([...frozen.stateDict().keys()].join(","), R.meta["frozen.keys"]);
  frozen.dispose();
  const light = lightFasterRcnn({ numClasses: 5 });
  assert.equal(light.numParameters(), Number(R.meta["light.params"]));
  assert.equal([...light.stateDict().keys()].join(","), R.meta["light.keys"]);
  light.dispose();
  assert.equal(memory().liveTensors, before);
});

test("Faster R-CNN (frozen BN) matches torchvision: pyramid, anchors, RPN proposals and losses, RoI-head losses", () => {
  const before = memory().liveTensors;
  const m = frozenModel();
  scope(() =>
    noGrad(() => {
      const batch = m.transform.apply(images(), targets());
      assert.equal(batch.imageSizes.map(([h, w]) => `${h}x${w}`).join(";"), R.meta.image_sizes);
      const features = m.backbone.call(batch.images);
      assertClose(features.get("0")!.narrow(1, 0, 8), R("fpn.0.sub"), TOL64, "FPN level 0");
      assertClose(features.get("pool")!.narrow(1, 0, 8), R("fpn.pool.sub"), TOL64, "FPN pool level");
      const batchSize: Size = [batch.images.size(2), batch.images.size(3)];
      const grids = [...features.values()].map((f) => [f.size(2), f.size(3)] as const);
      assertClose(m.rpn.anchorGenerator.forward(batchSize, grids, "cpu"), R("anchors"), 0, "anchors");
      const input = { batchSize, imageSizes: batch.imageSizes, features: [...features.values()] };
      const proposals = m.rpn.call(input);
      for (const [i, p] of proposals.boxes.entries()) assertClose(p, R(`proposals${i}`), TOL64, `eval proposals ${i}`);
      manualSeed(101);
      const train = m.rpn.call(input, batch.targets);
      for (const [i, p] of train.boxes.entries())
        assertClose(p, R(`train_proposals${i}`), TOL64, `train proposals ${i}`);
      for (const k of ["loss_objectness", "loss_rpn_box_reg"] as const) {
        const want = R(`rpn.${k}`);
        assert.ok(
          relErr(train.losses![k], want) <= tol64(want),
          `rpn ${k}: ${train.losses![k].item()} vs ${want.item()}`,
        );
      }
      manualSeed(102);
      const heads = m.roiHeads.call(
        { features, proposals: [R("train_proposals0"), R("train_proposals1")], imageSizes: batch.imageSizes },
        batch.targets,
      );
      for (const k of ["loss_classifier", "loss_box_reg"] as const) {
        assert.ok(relErr(heads.losses![k], R(`roi.${k}`)) <= TOL64, `roi ${k}: ${heads.losses![k].item()}`);
      }
    }),
  );
  m.dispose();
  assert.equal(memory().liveTensors, before);
});

test("Faster R-CNN MultiScaleRoIAlign on the pyramid: outputs and gradients match torchvision", () => {
  const before = memory().liveTensors;
  const m = frozenModel();
  scope(() => {
    const batch = m.transform.apply(images());
    const leaves = noGrad(() => m.backbone.call(batch.images));
    for (const f of leaves.values()) f.requiresGrad_(true);
    const some = [0, 1].map((i) => R(`proposals${i}`).index({ step: 8 }));
    const pooled = m.roiHeads.boxRoiPool.forward(leaves, some, batch.imageSizes); // [K, 256, 7, 7]
    assertClose(pooled.narrow(1, 0, 4), R("roi_align.sub"), TOL64, "RoIAlign output");
    // A probe uniform in [-0.5, 0.5) by two exact steps (normal_ draws depend on ATen's CPU kernels).
    pooled
      .mul(empty(pooled.shape).uniform_(0, 1, new Generator(13)).sub(0.5))
      .sum()
      .backward();
    assertClose(leaves.get("0")!.grad!.narrow(1, 0, 8), R("roi_align.grad0.sub"), TOL64, "RoIAlign gradient");
    // Levels "0" and "1" both have stride 32: every box pools from "0".
    assert.equal(leaves.get("1")!.grad?.abs().sum().item() ?? 0, 0);
  });
  m.dispose();
  assert.equal(memory().liveTensors, before);
});

test("Faster R-CNN (frozen BN): eval detections, and losses with targets in eval mode, match torchvision", () => {
  const before = memory().liveTensors;
  const m = frozenModel();
  checkDetections(m, "frozen");
  checkLosses(m.eval(), "frozen.loss", 100, { grads: true });
  m.dispose();
  assert.equal(memory().liveTensors, before);
});

test("Faster R-CNN with BatchNorm in train mode, and the light variant: losses, gradients, detections", () => {
  const before = memory().liveTensors;
  const bn = fasterRcnnMobileNetV3LargeFpn({ numClasses: 21, minSize: 128, maxSize: 192 });
  fillSeeded(bn, 3001);
  scaleEntries(bn, HEAD_SCALES);
  bn.to("float64");
  checkLosses(bn.train(), "bn.loss", 200);
  bn.dispose();
  const light = lightFasterRcnn({ numClasses: 5 });
  fillSeeded(light, 3002);
  scaleEntries(light, { ...HEAD_SCALES, ...FPN_SCALES });
  light.to("float64");
  checkLosses(light.train(), "light.loss", 300, { light: true });
  // The train-mode pass above updated the BatchNorm running statistics, as it did in the reference.
  checkDetections(light, "light");
  light.dispose();
  assert.equal(memory().liveTensors, before);
});

test("ImageNet MobileNetV3-Large weights load into the detector's backbone (remap, FrozenBatchNorm2d)", () => {
  const before = memory().liveTensors;
  const imagenet = new MobileNetV3Features();
  fillSeeded(imagenet, 9);
  const sd = new Map([...imagenet.stateDict()].map(([k, t]) => [`features.${k}`, t]));
  sd.set("classifier.0.weight", empty([1280, 960]));
  const m = fasterRcnnMobileNetV3LargeFpn({ numClasses: 21, norm: "frozen" });
  const report = m.loadStateDict(sd, { strict: false, remap: imagenetDetectorBackboneRemap });
  assert.deepEqual(report.unexpected, []);
  assert.deepEqual(report.mismatched, []);
  assert.ok(
    report.missing.every((k) => !k.startsWith("backbone.body.")),
    `missing: ${report.missing.join(", ")}`,
  );
  assert.equal(report.missing.length, 22, "FPN, RPN and box-head entries");
  scope(() =>
    assert.ok(
      m.stateDict().get("backbone.body.3.block.1.1.running_var")!.equal(sd.get("features.3.block.1.1.running_var")!),
    ),
  );
  sd.get("classifier.0.weight")!.dispose();
  imagenet.dispose();
  m.dispose();
  assert.equal(memory().liveTensors, before);
});

test("Faster R-CNN contract: taps, target checks, empty targets, reproducible sampling", () => {
  const before = memory().liveTensors;
  const m = lightFasterRcnn({ numClasses: 3 }).eval();
  assert.deepEqual(m.tapNames, ["0", "1", "pool"]);
  scope(() => {
    const x = empty([2, 3, 64, 96]).uniform_(0, 1, new Generator(5));
    const { out, taps } = noGrad(() => m.forwardTaps(x, ["0", "pool"]));
    assert.deepEqual([...taps.get("0")!.shape], [2, 64, 4, 6], "128x192 after resizing, stride 32");
    assert.deepEqual([...taps.get("pool")!.shape], [2, 64, 2, 3]);
    assert.equal(out.detections.length, 2);
    assert.equal(out.losses, undefined);
    for (const d of out.detections) {
      const b = d.boxes.toArray();
      assert.ok(
        b.every((v, k) => v >= 0 && v <= (k % 2 === 0 ? 96 : 64)),
        "boxes in input pixels",
      );
    }
    assert.throws(() => m.forwardTaps(x, ["C5"]), /no tap "C5"/);
    const good: DetectionTarget = { boxes: tensor([[4, 4, 40, 30]]), labels: tensor(BigInt64Array.from([1n])) };
    const bad: DetectionTarget = { boxes: tensor([[40, 4, 4, 30]]), labels: tensor(BigInt64Array.from([1n])) };
    assert.throws(() => m.call(x, [good, bad]), /target 1: boxes must have positive width and height/);
    // An image without objects contributes negatives only; sampling is reproducible under the same seed.
    const none: DetectionTarget = { boxes: empty([0, 4]), labels: empty([0], { dtype: "int64" }) };
    const run = () => {
      manualSeed(7);
      const { losses } = m.call(x, [good, none]);
      return LOSSES.map((k) => losses![k]!.item());
    };
    const a = run();
    assert.ok(a.every(Number.isFinite), `losses ${a}`);
    assert.deepEqual(run(), a);
  });
  m.dispose();
  assert.equal(memory().liveTensors, before);
});
