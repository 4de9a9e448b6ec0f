import assert from "node:assert/strict";
import { test } from "node:test";
import { memory, noGrad, scope, type Tensor } from "../../src/engine/index.js";
import { lightSsd, ssd300Vgg16 } from "../../src/models/detection/ssd.js";
import type { DetectionTarget } from "../../src/models/detection/types.js";
import { assertClose, assertSameDetections, fillSeeded, fixture, relErr } from "./detection-helpers.js";

const R = fixture("ssd");

test("ssd300-vgg16: parameter counts and state-dict keys equal torchvision 0.14's", () => {
  const before = memory().liveTensors;
  for (const [numClasses, count] of [
    [91, 35_641_826],
    [21, 26_285_486],
  ] as const) {
    const m = ssd300Vgg16({ numClasses });
    assert.equal(m.numParameters(), count);
    if (numClasses === 21) assert.deepEqual([...m.stateDict().keys()].join(","), R.meta["vgg.keys"]);
    // trainableBackboneLayers 4 freezes conv1_1 and conv1_2 (torchvision's default with pretrained weights).
    assert.equal(m.numParameters() - m.numParameters(true), 3 * 64 * 9 + 64 + 64 * 64 * 9 + 64);
    m.dispose();
  }
  assert.equal(memory().liveTensors, before);
});

test("ssd300-vgg16 with seeded weights matches torchvision: input, features, head, matching, MultiBox loss, detections", () => {
  const before = memory().liveTensors;
  const m = ssd300Vgg16({ numClasses: 21 });
  fillSeeded(m, 1000);
  m.eval();
  scope(() =>
    noGrad(() => {
      const target: DetectionTarget = { boxes: R("vgg.boxes"), labels: R("vgg.labels") };
      const batch = m.transform.apply([R("vgg.image")], [target]);
      assertClose(batch.images.index(null, null, { step: 10 }, { step: 10 }), R("vgg.input.sub"), 1e-6, "input");
      const features = m.backbone.call(batch.images);
      assertClose(features[1]!.narrow(1, 0, 64), R("vgg.fc7.sub"), 1e-4, "fc7");
      const head = m.head.call(features);
      assertClose(head.clsLogits.index(null, { step: 3 }), R("vgg.cls_logits.sub"), 1e-4, "cls logits");
      assertClose(head.bboxRegression, R("vgg.bbox_regression"), 1e-4, "bbox regression");
      const anchors = m.anchorGenerator.forward(
        [300, 300],
        features.map((f) => [f.size(2), f.size(3)] as const),
        "cpu",
      );
      assert.equal(anchors.size(0), 8732);
      const [matched] = m.matchTargets(batch.targets!, anchors);
      assert.deepEqual(matched!.toArray(), R("vgg.matched").toArray(), "matched default boxes");
      const losses = m.computeLoss(batch.targets!, head, anchors);
      for (const k of ["bbox_regression", "classification"]) {
        assert.ok(relErr(losses[k]!, R(`vgg.loss.${k}`)) < 1e-4, `loss ${k}: ${losses[k]!.item()}`);
      }
      const dets = m.transform.postprocess(m.postprocessDetections(head, anchors, batch.imageSizes), batch.imageSizes, [
        [120, 160],
      ]);
      assert.equal(dets[0]!.boxes.size(0), 200);
      assertSameDetections(
        dets[0]!,
        { boxes: R("vgg.det.boxes"), scores: R("vgg.det.scores"), labels: R("vgg.det.labels") },
        "ssd300 detections",
      );
    }),
  );
  m.dispose();
  assert.equal(memory().liveTensors, before);
});

test("light SSD inside torchvision's SSD: losses, gradients (train mode) and detections (eval mode) match", () => {
  const before = memory().liveTensors;
  const m = lightSsd({ numClasses: 5 });
  fillSeeded(m, 2000);
  assert.deepEqual([...m.stateDict().keys()].join(","), R.meta["light.keys"]);
  scope(() => {
    const images = [R("light.image0"), R("light.image1")];
    const targets = [0, 1].map((i) => ({ boxes: R(`light.boxes${i}`), labels: R(`light.labels${i}`) }));
    m.train();
    const { losses } = m.call(images, targets);
    assert.ok(losses);
    for (const k of ["bbox_regression", "classification"]) {
      assert.ok(relErr(losses[k]!, R(`light.loss.${k}`)) < 1e-4, `loss ${k}`);
    }
    losses.bbox_regression!.add(losses.classification!).backward();
    const grad = (t: Tensor) => t.grad!;
    assertClose(grad(m.head.classificationHead.moduleList.at(0).weight), R("light.grad.cls0"), 1e-4, "head gradient");
    const conv0 = m.stateDict().get("backbone.features.0.weight")!;
    assertClose(grad(conv0), R("light.grad.conv0"), 1e-4, "first conv gradient");
    m.zeroGrad();
    m.eval();
    const { detections } = noGrad(() => m.call(images));
    for (const [i, d] of detections.entries()) {
      const want = {
        boxes: R(`light.det${i}.boxes`),
        scores: R(`light.det${i}.scores`),
        labels: R(`light.det${i}.labels`),
      };
      assertSameDetections(d, want, `light detections ${i}`);
    }
  });
  m.dispose();
  assert.equal(memory().liveTensors, before);
});

test("SSD taps, target checks and the forward contract", () => {
  const before = memory().liveTensors;
  const m = lightSsd({ numClasses: 3 }).eval();
  assert.deepEqual(m.tapNames, ["0", "1", "2"]);
  scope(() =>
    noGrad(() => {
      const x = R("light.image0").unsqueeze(0);
      const { out, taps } = m.forwardTaps(x, ["1"]);
      assert.deepEqual([...taps.get("1")!.shape], [1, 128, 6, 5]);
      assert.equal(out.detections.length, 1);
      assert.equal(out.losses, undefined);
      assert.throws(() => m.forwardTaps(x, ["conv4_3"]), /no tap "conv4_3"/);
      const bad = { boxes: R("light.boxes0").flip(1), labels: R("light.labels0") };
      assert.throws(() => m.forwardTaps(x, [], [bad]), /positive width and height/);
    }),
  );
  m.dispose();
  assert.equal(memory().liveTensors, before);
});
