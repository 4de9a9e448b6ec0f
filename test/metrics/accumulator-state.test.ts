// Accumulator states for distributed evaluation: every accumulator (and the task evaluators wrapping them) filled on
// two "ranks", the second one's state sent through JSON and merged, must compute exactly what one accumulator fed all
// the data computes, and what merge(other) gives; a state that does not fit is E_TENSOR_ARG and changes nothing.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { BuiltinBatch } from "../../src/data/loader/collate.js";
import { scope, type Tensor, tensor } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import {
  type Accumulator,
  type CocoDetection,
  CocoEvaluator,
  type CocoGroundTruth,
  ConfusionMatrix,
  type MetricImage,
  PsnrMeter,
  SsimMeter,
  TopKAccuracy,
  type VocDetection,
  VocEvaluator,
  type VocGroundTruth,
} from "../../src/metrics/index.js";
import type { Detector } from "../../src/models/detection/types.js";
import type { SegmenterOutput, TaskNetwork } from "../../src/models/types.js";
import type { TaskEvaluator } from "../../src/tasks/adapter.js";
import { classificationAdapter } from "../../src/tasks/classification/adapter.js";
import { detectionAdapter } from "../../src/tasks/detection/adapter.js";
import { segmentationAdapter } from "../../src/tasks/segmentation/adapter.js";
import { FIXTURES, readJson } from "../support/paths.js";

type Merging = Pick<Accumulator<unknown>, "compute" | "state" | "mergeState">;

const refused = (message: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === "E_TENSOR_ARG" && message.test(e.message);

/** `from`'s state after a trip through JSON, checked to come back exactly. */
function sent(from: Merging): unknown {
  const s = from.state();
  const back = JSON.parse(JSON.stringify(s)) as unknown;
  assert.deepEqual(back, s, "the state survives JSON exactly");
  return back;
}

/**
 * Two ranks: `fill(acc, 0)` and `fill(acc, 1)` add each rank's share. Rank 1's state merged into rank 0 must equal
 * one accumulator fed both shares in rank order, and `merge` when the class has it.
 */
function assertMergesExactly<A extends Merging>(make: () => A, fill: (acc: A, rank: 0 | 1) => void): A {
  const whole = make();
  fill(whole, 0);
  fill(whole, 1);
  const a = make();
  const b = make();
  fill(a, 0);
  fill(b, 1);
  const bBefore = JSON.stringify(b.state());
  a.mergeState(sent(b));
  assert.equal(JSON.stringify(b.state()), bBefore, "the sending accumulator is left unchanged");
  assert.deepEqual(a.compute(), whole.compute());
  assert.deepEqual(a.state(), whole.state(), "the merged data equal one pass over all of it");
  if ("merge" in a && typeof a.merge === "function") {
    const viaMerge = make();
    fill(viaMerge, 0);
    (viaMerge as unknown as Accumulator<unknown>).merge(b as unknown as Accumulator<unknown>);
    assert.deepEqual(viaMerge.compute(), a.compute(), "mergeState(state) equals merge(accumulator)");
  }
  return a;
}

/** `s` must be refused with `message`, leaving `acc` as it was. */
function assertRefused(acc: Merging, s: unknown, message: RegExp): void {
  const before = JSON.stringify(acc.state());
  assert.throws(() => acc.mergeState(s), refused(message));
  assert.equal(JSON.stringify(acc.state()), before, "a refused state changes nothing");
}

/** `s` with its field `key` replaced (`s` is a state object). */
const withField = (s: unknown, key: string, v: unknown): unknown => ({ ...(s as Record<string, unknown>), [key]: v });

// --- PSNR / SSIM (fixture of psnr-ssim-protocols.test.ts) ---

interface SrCase {
  height: number;
  width: number;
  sr_chw_float32_b64: string;
  hr_hwc_uint8_b64: string;
  sr4ir: { psnr: number | null };
}
const SR = JSON.parse(readFileSync(join(FIXTURES, "metrics", "psnr_protocols.json"), "utf8")) as { cases: SrCase[] };
const bytes = (b64: string) => {
  const buf = Buffer.from(b64, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
};
const srImage = (c: SrCase): MetricImage => ({
  data: new Float32Array(bytes(c.sr_chw_float32_b64).slice().buffer),
  width: c.width,
  height: c.height,
  channels: 3,
  layout: "chw",
});
const hrImage = (c: SrCase): MetricImage => ({
  data: bytes(c.hr_hwc_uint8_b64),
  width: c.width,
  height: c.height,
  channels: 3,
});
// Rank 1 gets the one identical pair (PSNR +Infinity): its basicsr sum is infinite, and one image per rank keeps rank 0's
// sum plus rank 1's the same float64 addition as one pass (more images would add in another order, off by rounding).
const identical = SR.cases.findIndex((c) => c.sr4ir.psnr === null);
const srShare = (rank: 0 | 1) => SR.cases.filter((_, i) => (i === identical) === (rank === 1));

test("PSNR and SSIM states merge exactly, an infinite PSNR sum included", () => {
  assert.ok(identical >= 0, "the fixture has an identical pair");
  for (const options of [{ protocol: "sr4ir" as const }, { protocol: "basicsr" as const, scale: 4 }]) {
    const fill = (m: PsnrMeter | SsimMeter, rank: 0 | 1) => {
      for (const c of srShare(rank)) m.update(srImage(c), hrImage(c));
    };
    const psnr = assertMergesExactly(() => new PsnrMeter(options), fill);
    assertMergesExactly(() => new SsimMeter(options), fill);
    const r = psnr.compute();
    if (options.protocol === "basicsr") {
      assert.equal(r.psnr, Number.POSITIVE_INFINITY);
      assert.equal((psnr.state() as { sum: unknown }).sum, "Infinity", "+Infinity travels as a string");
    } else {
      assert.ok(Number.isFinite(r.psnr) && r.skipped === 1 && r.images === SR.cases.length - 1);
    }
  }
});

test("PSNR and SSIM refuse states of another protocol, crop or class", () => {
  const sr4ir = new PsnrMeter({ protocol: "sr4ir" });
  const c = SR.cases[0]!;
  sr4ir.update(srImage(c), hrImage(c));
  const x4 = new PsnrMeter({ protocol: "basicsr", scale: 4 });
  assertRefused(x4, sent(sr4ir), /PsnrMeter\.mergeState: expected settings \{"protocol":"basicsr","crop":4\}/);
  assertRefused(x4, new PsnrMeter({ protocol: "basicsr", scale: 2 }).state(), /"crop":4/);
  assert.throws(() => x4.merge(new PsnrMeter({ protocol: "basicsr", scale: 2 }) as never), refused(/PsnrMeter/));
  // An SSIM state has the settings of a PSNR one but no `skipped`.
  assertRefused(sr4ir, new SsimMeter({ protocol: "sr4ir" }).state(), /skipped: a non-negative integer, got undefined/);
  assertRefused(sr4ir, withField(sr4ir.state(), "count", -1), /count: a non-negative integer, got -1/);
  assertRefused(sr4ir, withField(sr4ir.state(), "sum", null), /sum: a number/);
  assertRefused(sr4ir, null, /PsnrMeter\.mergeState: expected a state \{settings, \.\.\.\}, got null/);
  const ssim = new SsimMeter({ protocol: "basicsr", scale: 4 });
  assertRefused(ssim, new SsimMeter({ protocol: "sr4ir" }).state(), /SsimMeter\.mergeState: expected settings/);
});

// --- Confusion matrix (fixture of confusion.test.ts) ---

const MIOU = JSON.parse(readFileSync(join(FIXTURES, "metrics", "miou_cases.json"), "utf8")) as {
  num_classes: number;
  cases: { gt_b64: string; pred_b64: string }[];
};

test("confusion matrix states merge exactly; other class counts or malformed counts are refused", () => {
  const N = MIOU.num_classes;
  const m = assertMergesExactly(
    () => new ConfusionMatrix(N, { nan: "ignore" }),
    (cm, rank) => {
      for (const [i, c] of MIOU.cases.entries()) {
        if ((i === 0) === (rank === 0)) cm.update(Buffer.from(c.gt_b64, "base64"), Buffer.from(c.pred_b64, "base64"));
      }
    },
  );
  assert.ok(m.compute().pixels > 0);
  assertRefused(
    m,
    new ConfusionMatrix(N + 1).state(),
    /ConfusionMatrix\.mergeState: expected settings \{"numClasses":/,
  );
  assertRefused(m, withField(m.state(), "counts", [1, 2]), /counts: an array of \d+ numbers/);
  const counts = [...(m.state() as { counts: number[] }).counts];
  counts[3] = 0.5;
  assertRefused(m, withField(m.state(), "counts", counts), /counts\[3\]: a non-negative integer, got 0\.5/);
  assertRefused(
    m,
    new TopKAccuracy({ numClasses: N, ks: [1] }).state(),
    /ConfusionMatrix\.mergeState: expected settings/,
  );
});

// --- Top-k accuracy (data of classification.test.ts) ---

const SCORES = new Float32Array(
  [
    [5, 1, 0, 0, 0, 0],
    [0.1, 0.9, 0.3, 0.5, 0, 0],
    [6, 5, 4, 3, 2, 1],
    [2, 2, 1, 0, 0, 0],
  ].flat(),
);
const LABELS = [0, 3, 5, 1];

test("top-k states merge exactly; other classes or k are refused", () => {
  const m = assertMergesExactly(
    () => new TopKAccuracy({ numClasses: 6, ks: [1, 2, 5] }),
    (acc, rank) => acc.update(SCORES.subarray(rank * 12, rank * 12 + 12), LABELS.slice(2 * rank, 2 * rank + 2)),
  );
  assert.deepEqual(m.compute(), { samples: 4, top: { 1: 0.25, 2: 0.75, 5: 0.75 } });
  assertRefused(
    m,
    new TopKAccuracy({ numClasses: 6 }).state(),
    /TopKAccuracy\.mergeState: expected settings .*"ks":\[1,2,5\]/,
  );
  assertRefused(m, new TopKAccuracy({ numClasses: 7, ks: [1, 2, 5] }).state(), /"numClasses":6/);
  assertRefused(m, withField(m.state(), "correct", [1, 1]), /correct: an array of 3 numbers/);
});

// --- COCO (fixtures of coco.test.ts and coco-lenient.test.ts) ---

interface CocoCase {
  gt: CocoGroundTruth;
  dets: CocoDetection[];
}
const COCO = readJson(join(FIXTURES, "metrics", "coco_cases.json")) as { cases: CocoCase[] };
const LENIENT = readJson(join(FIXTURES, "metrics", "coco_lenient_cases.json")) as { cases: CocoCase[] };

test("COCO states (detections, arrival order kept) merge exactly, split by arrival, by image or with unknowns", () => {
  // Case 0 has score ties, which arrival order breaks; the lenient case has detections of unknown categories.
  const ties = COCO.cases[0]!;
  const unknown = LENIENT.cases[0]!;
  const splits: [CocoCase, (d: CocoDetection, i: number) => boolean][] = [
    [ties, (_, i) => i < 150],
    [ties, (d) => d.image_id % 2 === 1],
    [unknown, (_, i) => i % 3 !== 0],
  ];
  for (const [c, onRank0] of splits) {
    const ev = assertMergesExactly(
      () => new CocoEvaluator(c.gt),
      (e, rank) => e.update(c.dets.filter((d, i) => onRank0(d, i) === (rank === 0))),
    );
    assert.equal(ev.detectionCount + ev.compute().lenient.detectionsOfUnknownCategories, c.dets.length);
  }
  // Detector outputs with fractional float32 xyxy boxes: the stored (rounded) widths travel exactly.
  const image = ties.gt.images[0]!.id;
  const mine = ties.dets.filter((d) => d.image_id === image);
  assert.ok(mine.length > 5);
  const boxes = new Float32Array(
    mine.flatMap(({ bbox: [x, y, w, h] }) => [x! + 0.1, y! + 0.3, x! + w!, y! + h! + 0.7]),
  );
  assertMergesExactly(
    () => new CocoEvaluator(ties.gt),
    (e, rank) => {
      const half = rank === 0 ? [0, 5] : [5, mine.length];
      e.updateImage(image, {
        boxes: boxes.subarray(4 * half[0]!, 4 * half[1]!),
        scores: Float32Array.from(mine.slice(half[0], half[1]), (d) => d.score),
        labels: Int32Array.from(mine.slice(half[0], half[1]), (d) => d.category_id),
      });
    },
  );
});

test("COCO states of another ground truth or with unknown ids are refused", () => {
  const c = COCO.cases[0]!;
  const ev = new CocoEvaluator(c.gt);
  ev.update(c.dets.slice(0, 20));
  const other = new CocoEvaluator(COCO.cases[6]!.gt);
  assertRefused(ev, other.state(), /CocoEvaluator\.mergeState: expected settings \{"images":40,/);
  const s = ev.state() as { image: number[]; category: number[]; box: unknown[] };
  assertRefused(
    ev,
    { ...s, image: [987654, ...s.image.slice(1)] },
    /image\[0\]: an image id of ground truth, got 987654/,
  );
  assertRefused(ev, { ...s, category: [...s.category.slice(1), 555] }, /category\[19\]: a category id of/);
  assertRefused(ev, { ...s, box: s.box.slice(1) }, /box: an array of 80 numbers/);
  assertRefused(ev, { ...s, score: "high" }, /score: an array of 20 numbers/);
});

// --- VOC ---

const VOC_GT: VocGroundTruth = {
  images: ["a", "b", "c"],
  objects: [
    { imageId: "a", className: "dog", box: [0, 0, 9, 9], difficult: true },
    { imageId: "a", className: "dog", box: [20, 20, 29, 29] },
    { imageId: "b", className: "dog", box: [0, 0, 9, 9] },
    { imageId: "c", className: "cat", box: [5, 5, 15, 15] },
  ],
};
// Ties at 0.8 (arrival order decides), a duplicate, a class without ground truth, a box at -0.
const VOC_DETS: VocDetection[] = [
  { imageId: "a", className: "dog", score: 0.9, box: [0, 0, 9, 9] },
  { imageId: "b", className: "dog", score: 0.8, box: [1, 1, 9, 9] },
  { imageId: "a", className: "dog", score: 0.8, box: [20, 20, 29, 29] },
  { imageId: "c", className: "cat", score: 0.8, box: [-0, 5, 15, 14] },
  { imageId: "a", className: "dog", score: 0.8, box: [20, 20, 29, 29] },
  { imageId: "c", className: "bird", score: 0.6, box: [5, 5, 15, 15] },
  { imageId: "b", className: "cat", score: 0.5, box: [0, 0, 9, 9] },
];

test("VOC states merge exactly; other options or images are refused", () => {
  const ev = assertMergesExactly(
    () => new VocEvaluator(VOC_GT, { metric: "area" }),
    (e, rank) => e.update(VOC_DETS.filter((_, i) => i < 3 === (rank === 0))),
  );
  assert.equal(ev.compute().unevaluatedDetections, 1);
  assert.equal((ev.state() as { detections: { box: unknown[] }[] }).detections[3]!.box[0], "-0");
  assertRefused(ev, new VocEvaluator(VOC_GT).state(), /VocEvaluator\.mergeState: expected settings .*"metric":"area"/);
  const s = ev.state() as { detections: Record<string, unknown>[] };
  const bad = (k: string, v: unknown) => ({ ...s, detections: [{ ...s.detections[0], [k]: v }] });
  assertRefused(ev, bad("imageId", "z"), /detections\[0\]\.imageId: an image of the ground truth, got "z"/);
  assertRefused(ev, bad("score", "NaN"), /detections\[0\]: expected score: a finite number, got "NaN"/);
  assertRefused(ev, bad("box", [0, 0, 1]), /detections\[0\]: expected box: an array of 4 numbers/);
});

// --- Task evaluators of the adapters, on stand-in networks that return given outputs ---

test("classification and segmentation evaluators merge through their accumulators' states", () => {
  scope(() => {
    const net = { tapNames: [], call: (x: Tensor) => x } as unknown as TaskNetwork<Tensor>;
    const adapter = classificationAdapter(net, { numClasses: 6 });
    const batch = (rank: 0 | 1): [Tensor, BuiltinBatch] => {
      const logits = tensor(SCORES.slice(rank * 12, rank * 12 + 12), { shape: [2, 6] });
      const labels = tensor(BigInt64Array.from(LABELS.slice(2 * rank, 2 * rank + 2), BigInt));
      return [logits, { task: "classification", ids: ["i", "j"], hr: logits, labels }];
    };
    const ev = assertMergesExactly(
      () => adapter.evaluator(),
      (e, rank) => e.update(...batch(rank)),
    );
    assert.deepEqual(ev.compute(), { top1: 25, top5: 75 });
    assertRefused(ev, classificationAdapter(net, { numClasses: 7 }).evaluator().state(), /TopKAccuracy\.mergeState/);

    // Segmentation: [1, 3, 2, 2] logits whose argmax is `pred`, masks with a void pixel.
    const seg = { tapNames: [], call: (x: Tensor) => ({ out: x }) } as unknown as TaskNetwork<SegmenterOutput>;
    const segAdapter = segmentationAdapter(seg, { numClasses: 3 });
    const segBatch = (pred: number[], mask: number[]): [Tensor, BuiltinBatch] => {
      const logits = new Float32Array(12);
      for (const [p, k] of pred.entries()) logits[k * 4 + p] = 1;
      const x = tensor(logits, { shape: [1, 3, 2, 2] });
      const masks = tensor(BigInt64Array.from(mask, BigInt), { shape: [1, 2, 2] });
      return [x, { task: "segmentation", ids: ["s"], hr: x, masks }];
    };
    const segEv = assertMergesExactly(
      () => segAdapter.evaluator(),
      (e, rank) =>
        e.update(...(rank === 0 ? segBatch([0, 1, 1, 2], [0, 1, 2, 255]) : segBatch([2, 2, 0, 0], [2, 1, 0, 0]))),
    );
    assert.equal(segEv.compute().pixelAcc, 100 * (5 / 7));
    assertRefused(segEv, segmentationAdapter(seg, { numClasses: 4 }).evaluator().state(), /ConfusionMatrix/);
  });
});

test("detection evaluator states carry their batches' ground truth and renumber images on merging", () => {
  scope(() => {
    // Per image: ground truth boxes (dataset labels, 0-based) and the stand-in detector's output (1-based labels).
    const images = [
      {
        gt: [[10, 10, 50, 60, 0]],
        det: [
          [11.3, 9.7, 49.1, 61.2, 0.9, 1],
          [0, 0, 20, 20, 0.9, 2],
        ],
      },
      {
        gt: [
          [5, 5, 25, 30, 1],
          [40, 40, 70, 90, 0],
        ],
        det: [
          [6, 5, 24.6, 30, 0.8, 2],
          [40, 41, 69, 88, 0.9, 1],
        ],
      },
      { gt: [], det: [[1, 1, 9, 9, 0.9, 1]] },
      {
        gt: [[0, 0, 30, 30, 1]],
        det: [
          [0.5, 0, 30, 29.5, 0.9, 2],
          [1, 1, 30, 30, 0.3, 2],
        ],
      },
    ];
    let outputs: (typeof images)[number]["det"][] = [];
    const fake = {
      tapNames: [],
      numClasses: 3,
      forwardTaps: () => ({
        out: {
          detections: outputs.map((d) => ({
            boxes: tensor(Float32Array.from(d.flatMap((r) => r.slice(0, 4))), { shape: [d.length, 4] }),
            scores: tensor(Float32Array.from(d, (r) => r[4]!)),
            labels: tensor(BigInt64Array.from(d, (r) => BigInt(r[5]!))),
          })),
        },
        taps: new Map(),
      }),
    } as unknown as Detector;
    const adapter = detectionAdapter(fake, { numClasses: 2 });
    const feed = (e: TaskEvaluator, rank: 0 | 1) => {
      const mine = rank === 0 ? images.slice(0, 1) : images.slice(1);
      outputs = mine.map((m) => m.det);
      const x = tensor(new Float32Array(mine.length * 3 * 100 * 100), { shape: [mine.length, 3, 100, 100] });
      const targets = mine.map((m) => ({
        boxes: tensor(Float32Array.from(m.gt.flatMap((g) => g.slice(0, 4))), { shape: [m.gt.length, 4] }),
        labels: tensor(BigInt64Array.from(m.gt, (g) => BigInt(g[4]!))),
      }));
      const sizes = mine.map((): [number, number] => [100, 100]);
      const b: BuiltinBatch = { task: "detection", ids: mine.map((_, i) => `d${i}`), hr: x, targets, sizes };
      e.update(x, b);
    };
    const ev = assertMergesExactly(() => adapter.evaluator(), feed);
    assert.ok(ev.compute().AP! > 0);
    const s = ev.state() as { images: unknown[]; annotations: Record<string, unknown>[] };
    assertRefused(
      ev,
      detectionAdapter(fake, { numClasses: 3 }).evaluator().state(),
      /detection evaluator mergeState: expected settings/,
    );
    assertRefused(
      ev,
      { ...s, annotations: [{ ...s.annotations[0], image: 9 }] },
      /annotations\[0\]: expected image: the id of one of the state's 4 images, got 9/,
    );
    assertRefused(
      ev,
      { ...s, images: [{ width: 1, height: 1, boxes: [], scores: [0.5], labels: [1] }] },
      /boxes: an array of 4 numbers/,
    );
  });
});
