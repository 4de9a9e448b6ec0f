/**
 * Both light detectors overfit four synthetic 64x64 scenes (uniform noise with filled rectangles: class 1 red, class 2
 * blue): the training loss falls by more than 90% and eval-mode detections recover every box (IoU > 0.5, right label).
 * Adam with a warmed-up, cosine-decayed learning rate, full batch, seeded (sampling included). Over three seeds the
 * light Faster R-CNN ended at 2-4% of its first loss in trials, the light SSD below 0.1%.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Adam,
  empty,
  Generator,
  manualSeed,
  memory,
  noGrad,
  scope,
  type Tensor,
  tensor,
} from "../../src/engine/index.js";
import { boxIou } from "../../src/models/boxes/ops.js";
import { lightFasterRcnn } from "../../src/models/detection/faster_rcnn.js";
import { lightSsd } from "../../src/models/detection/ssd.js";
import type { DetectionTarget, Detector } from "../../src/models/detection/types.js";

type Box = [x1: number, y1: number, x2: number, y2: number, label: number];
const SCENES: Box[][] = [
  [[8, 10, 36, 40, 1]],
  [[30, 20, 58, 52, 2]],
  [
    [4, 30, 26, 60, 2],
    [36, 6, 60, 30, 1],
  ],
  [[16, 16, 48, 44, 1]],
];
const COLOURS: Record<number, [number, number, number]> = { 1: [0.9, 0.1, 0.1], 2: [0.1, 0.2, 0.9] };

/** The scenes' images and targets; the caller owns them. */
function scenes(): { images: Tensor[]; targets: DetectionTarget[] } {
  return scope(() => drawScenes());
}

function drawScenes(): { images: Tensor[]; targets: DetectionTarget[] } {
  const g = new Generator(1);
  const images = SCENES.map((objects) => {
    const x = empty([3, 64, 64]).uniform_(0.3, 0.7, g);
    for (const [x1, y1, x2, y2, c] of objects) {
      for (let ch = 0; ch < 3; ch++)
        x.index(ch, { start: y1, end: y2 }, { start: x1, end: x2 }).fill_(COLOURS[c]![ch]!);
    }
    return x;
  });
  const targets = SCENES.map((objects) => ({
    boxes: tensor(objects.map((o) => o.slice(0, 4))),
    labels: tensor(BigInt64Array.from(objects.map((o) => BigInt(o[4])))),
  }));
  return { images, targets };
}

/** Trains on the scenes; returns the first loss and the mean of the last ten. */
function overfit(m: Detector, iters: number, lr: number): { first: number; last: number } {
  const { images, targets } = scenes();
  m.train();
  const opt = new Adam(
    m.parameters().filter((p) => p.requiresGrad),
    { lr },
  );
  const losses: number[] = [];
  for (let i = 0; i < iters; i++) {
    losses.push(
      scope(() => {
        const out = m.forwardTaps(images, [], targets).out.losses!;
        const total = Object.values(out).reduce((a, b) => a.add(b));
        total.backward();
        return total.item();
      }),
    );
    // 10 warm-up steps, then cosine decay: the early steps of a fresh detector are otherwise erratic.
    opt.setLr(lr * Math.min(1, (i + 1) / 11) * 0.5 * (1 + Math.cos((Math.PI * i) / iters)));
    opt.step();
    opt.zeroGrad();
  }
  opt.dispose();
  for (const t of [...images, ...targets.flatMap((t) => [t.boxes, t.labels])]) t.dispose();
  const tail = losses.slice(-10);
  return { first: losses[0]!, last: tail.reduce((a, b) => a + b) / tail.length };
}

/** Every ground-truth box has an eval-mode detection of its label with IoU > 0.5. */
function assertRecovers(m: Detector, what: string): void {
  scope(() =>
    noGrad(() => {
      const { images } = scenes();
      const { detections } = m.eval().forwardTaps(images, []).out;
      for (const [i, objects] of SCENES.entries()) {
        const d = detections[i]!;
        const labels = d.labels.toArray();
        for (const [k, [x1, y1, x2, y2, label]] of objects.entries()) {
          const iou = boxIou(tensor([[x1, y1, x2, y2]]), d.boxes)
            .select(0, 0)
            .toArray();
          const best = Math.max(0, ...iou.filter((_, j) => labels[j] === label));
          assert.ok(best > 0.5, `${what}: scene ${i} object ${k} (label ${label}) best IoU ${best.toFixed(3)}`);
        }
      }
    }),
  );
}

test("light SSD overfits four synthetic scenes: loss falls by >90%, eval detections recover every box", (t) => {
  const before = memory().liveTensors;
  manualSeed(0);
  const m = lightSsd({ numClasses: 3 });
  const { first, last } = overfit(m, 100, 3e-3);
  t.diagnostic(`training loss ${first.toFixed(4)} -> ${last.toFixed(4)} (mean of the last 10 steps)`);
  assert.ok(last < 0.1 * first, `loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
  assertRecovers(m, "light SSD");
  m.dispose();
  assert.equal(memory().liveTensors, before);
});

test("light Faster R-CNN overfits four synthetic scenes: loss falls by >90%, eval detections recover every box", (t) => {
  const before = memory().liveTensors;
  manualSeed(0);
  // 64 px input (no upscaling) and 64 sampled anchors / proposals per image keep each step cheap on the CPU.
  const m = lightFasterRcnn({
    numClasses: 3,
    minSize: 64,
    maxSize: 64,
    rpnBatchSizePerImage: 64,
    boxBatchSizePerImage: 64,
  });
  const { first, last } = overfit(m, 150, 2e-3);
  t.diagnostic(`training loss ${first.toFixed(4)} -> ${last.toFixed(4)} (mean of the last 10 steps)`);
  assert.ok(last < 0.1 * first, `loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
  assertRecovers(m, "light Faster R-CNN");
  m.dispose();
  assert.equal(memory().liveTensors, before);
});
