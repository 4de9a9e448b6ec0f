/**
 * Faster R-CNN as ONNX: two graphs with the package's JS between them, because the second stage runs on proposals
 * chosen by a per-level NMS inside the network (data-dependent control flow that ONNX can only express with
 * NonMaxSuppression and Loop/TopK subgraphs, whose semantics differ from the engine's).
 *
 * - Stage 1 (`lr` -> `features.<level>`, `objectness`, `proposals`): the transform (normalise, min/max resize, pad),
 *   backbone + FPN, RPN head; the anchors computed from the feature shapes, every anchor's box decoded.
 * - JS (src/infer/rcnn_post.ts): the RPN's proposal selection, the pyramid level of each proposal.
 * - Stage 2 (`features.<pooled level>`, `rois`, `batch_index`, `levels`, `scales` -> `scores`, `boxes`):
 *   MultiScaleRoIAlign (ONNX RoiAlign), box head, predictor; class softmax and per-class decoded boxes.
 * - JS: the box branch's post-processing (clip, threshold, class-wise NMS, best detectionsPerImage, rescale).
 *
 * The resize, the anchors and the RoIAlign are one traced op each (`traced`, src/export/trace.ts): their sizes are
 * not affine in the input (floor(h · scale), a stride rounded by the max-pooled level) or they group boxes on the
 * host; src/export/ops.ts writes each as a few ONNX nodes computed from the shapes at run time.
 */
import { noGrad } from "../engine/autograd.js";
import { cat, manualSeed, rand, randint, randn, tensor } from "../engine/creation.js";
import * as F from "../engine/functional.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { JsDetections } from "../infer/detect_post.js";
import { onnxRuntime } from "../infer/ort.js";
import { rcnnDetections, rcnnStage2Feeds, type StageOutputs } from "../infer/rcnn.js";
import type { RcnnSettings } from "../infer/rcnn_post.js";
import { roiAlignByLevel } from "../models/boxes/roi-align.js";
import type { AnchorGenerator } from "../models/detection/anchors.js";
import type { FasterRcnn } from "../models/detection/faster_rcnn.js";
import { flattenLevel } from "../models/detection/rpn.js";
import type { DetectionTransform } from "../models/detection/transform.js";
import type { Detection } from "../models/detection/types.js";
import { decodeBatch } from "./detection.js";
import type { GraphInputs } from "./onnx.js";
import { traced } from "./trace.js";
import { expectedOutputs, type OrtCheck, outputDifference } from "./verify.js";

/** The engine's min/max DetectionTransform on a batch [N, 3, h, w] -> [N, 3, Hp, Wp], as one traced op. */
export function rcnnTransformOp(transform: DetectionTransform, x: Tensor): Tensor {
  const o = transform.o;
  if (o.resize.kind !== "minMax" || o.channelOrder !== "rgb") {
    throw new TasksrError("E_EXPORT", "rcnnTransformOp: transform must resize min/max and keep RGB order");
  }
  const attrs = [o.resize.minSize, o.resize.maxSize, o.sizeDivisible, [...o.mean], [...o.std]];
  return traced("rcnnTransform", [x], attrs, () => transform.apply(x).images);
}

/** AnchorGenerator.forward for the padded batch `images` and its feature maps -> [A, 4], as one traced op. */
export function rcnnAnchorsOp(generator: AnchorGenerator, images: Tensor, features: readonly Tensor[]): Tensor {
  const cells = generator.cellAnchors.map((a) => Array.from(a));
  return traced("rcnnAnchors", [images, ...features], [cells], () =>
    generator.forward(
      [images.size(2), images.size(3)],
      features.map((f) => [f.size(2), f.size(3)] as const),
      images.device,
    ),
  );
}

/**
 * RoIAlign of rois [K, 4] (image `batchIndex` [K] int64) on their level `levels` [K] int64 of `features`, whose
 * spatial scales are `scales` [L] -> [K, C, PH, PW], as one traced op.
 */
export function multiScaleRoiAlignOp(
  features: readonly Tensor[],
  rois: Tensor,
  batchIndex: Tensor,
  levels: Tensor,
  scales: Tensor,
  outputSize: readonly [number, number],
  samplingRatio: number,
): Tensor {
  return traced(
    "multiScaleRoiAlign",
    [rois, batchIndex, levels, scales, ...features],
    [[...outputSize], samplingRatio],
    () => {
      const rois5 = cat([batchIndex.to(rois.dtype).unsqueeze(1), rois], 1); // [K, 5]
      const level = features.length === 1 ? undefined : levels;
      return roiAlignByLevel(features, rois5, level, scales.toArray(), outputSize, samplingRatio);
    },
  );
}

/** The pyramid levels the box branch pools from (torchvision: those named 0..3 that exist), in the map's order. */
function pooledNames(net: FasterRcnn): string[] {
  return net.backbone.featureNames.filter((n) => net.roiHeads.boxRoiPool.featmapNames.includes(n));
}

const pair = (p: number | readonly [number, number]): [number, number] =>
  typeof p === "number" ? [p, p] : [p[0], p[1]];

export interface RcnnGraphs {
  /** lr (or the task input) -> named stage-1 outputs. */
  stage1: (x: Tensor) => Record<string, Tensor>;
  stage2: (xs: Record<string, Tensor>) => Record<string, Tensor>;
  stage2Inputs: GraphInputs;
  settings: RcnnSettings;
}

/** The two exported forwards of a Faster R-CNN in eval mode, and the JS steps' settings (file metadata). */
export function rcnnGraphs(net: FasterRcnn): RcnnGraphs {
  const s = net.settings;
  const resize = net.transform.o.resize;
  if (resize.kind !== "minMax") throw new TasksrError("E_EXPORT", "Faster R-CNN export: needs its min/max resize");
  const pool = net.roiHeads.boxRoiPool;
  const pooled = pooledNames(net);
  const [ph, pw] = pair(pool.outputSize);
  const settings: RcnnSettings = {
    kind: "faster-rcnn",
    numClasses: net.numClasses,
    minSize: resize.minSize,
    maxSize: resize.maxSize,
    sizeDivisible: net.transform.o.sizeDivisible,
    featureNames: [...net.backbone.featureNames],
    pooledNames: pooled,
    anchorsPerLocation: net.rpn.anchorGenerator.numAnchorsPerLocation()[0]!,
    canonicalScale: pool.canonicalScale,
    canonicalLevel: pool.canonicalLevel,
    rpn: {
      preNmsTopN: s.rpn.preNmsTopN.testing,
      postNmsTopN: s.rpn.postNmsTopN.testing,
      nmsThresh: s.rpn.nmsThresh,
      scoreThresh: s.rpn.scoreThresh,
    },
    roi: { scoreThresh: s.roi.scoreThresh, nmsThresh: s.roi.nmsThresh, detectionsPerImage: s.roi.detectionsPerImage },
  };

  const stage1 = (x: Tensor): Record<string, Tensor> => {
    const images = rcnnTransformOp(net.transform, x); // [N, 3, Hp, Wp]
    const features = net.backbone.call(images);
    const maps = [...features.values()];
    const { objectness: obj, deltas: del } = net.rpn.head.call(maps);
    const anchors = rcnnAnchorsOp(net.rpn.anchorGenerator, images, maps); // [A, 4]
    const objectness = cat(
      obj.map((o) => flattenLevel(o, 1)),
      1,
    ).reshape(images.size(0), -1); // [N, A] logits
    const deltas = cat(
      del.map((d) => flattenLevel(d, 4)),
      1,
    ); // [N, A, 4]
    const named = Object.fromEntries([...features].map(([k, t]) => [`features.${k}`, t]));
    return { ...named, objectness, proposals: decodeBatch(net.rpn.boxCoder, deltas, anchors) };
  };

  const rh = net.roiHeads;
  const stage2 = (xs: Record<string, Tensor>): Record<string, Tensor> => {
    const rois = xs.rois!; // [K, 4]
    const feats = pooled.map((n) => xs[`features.${n}`]!);
    const roi = multiScaleRoiAlignOp(
      feats,
      rois,
      xs.batch_index!,
      xs.levels!,
      xs.scales!,
      [ph, pw],
      pool.samplingRatio,
    );
    const { classLogits, boxRegression } = rh.boxPredictor.call(rh.boxHead.call(roi));
    return {
      scores: F.softmax(classLogits, -1), // [K, C]
      boxes: rh.boxCoder.decode(boxRegression, rois).reshape(rois.size(0), net.numClasses, 4), // [K, C, 4]
    };
  };

  const channels = net.backbone.outChannels;
  // Roi counts per trace, unlike any feature-map dimension of the traces (so a size is matched to the right value).
  const ROIS = [5, 9, 12, 16, 23];
  const stage2Inputs: GraphInputs = {
    specs: [
      ...pooled.map((n, l) => ({
        name: `features.${n}`,
        dtype: "float32" as const,
        dims: ["N", channels, `h${l}`, `w${l}`],
      })),
      { name: "rois", dtype: "float32", dims: ["K", 4] },
      { name: "batch_index", dtype: "int64", dims: ["K"] },
      { name: "levels", dtype: "int64", dims: ["K"] },
      { name: "scales", dtype: "float32", dims: [pooled.length] },
    ],
    sample: ([n, h, w], trace) => {
      const k = ROIS[trace]!;
      const xs: Record<string, Tensor> = {};
      pooled.forEach((name, l) => {
        xs[`features.${name}`] = F.relu(randn([n, channels, Math.ceil(h / 2 ** l), Math.ceil(w / 2 ** l)]));
      });
      // Boxes anywhere on the 16-pixel-stride image, some past its border.
      const xy = rand([k, 2]).mul(16 * w);
      const wh = rand([k, 2])
        .mul(8 * w)
        .add(1);
      xs.rois = cat([xy, xy.add(wh)], 1);
      xs.batch_index = randint(0, n, [k]);
      xs.levels = randint(0, pooled.length, [k]);
      // 1/16, 1/32, ...: the scales of a stride-16 first level.
      xs.scales = tensor(Float32Array.from(pooled, (_, l) => 2 ** -(4 + l)));
      return xs;
    },
  };
  return { stage1, stage2, stage2Inputs, settings };
}

/** How the JS pipeline's detections compare with the engine's, over the images of one check. */
export interface DetectionAgreement {
  /** Detections of the engine and of onnxruntime + JS, summed over the images. */
  engine: number;
  onnx: number;
  /** Same count in every image, and every engine detection has a counterpart (same label, score within 1e-3). */
  same: boolean;
  /** Largest |difference| of box coordinates (pixels) and of scores between counterparts. */
  maxBoxDiff: number;
  maxScoreDiff: number;
  /** `same`, boxes within BOX_TOLERANCE of the image size and scores within SCORE_TOLERANCE. */
  agree: boolean;
}

/**
 * Box coordinates agree within 1e-4 of the image's larger side: onnxruntime's convolutions round differently from
 * libtorch's, about 1e-5 relative after a MobileNetV3 body, and a proposal's decoded size (an exponential) and the
 * box branch's regression carry that into the boxes.
 */
export const BOX_TOLERANCE = 1e-4;
export const SCORE_TOLERANCE = 1e-4;

/**
 * Pairs each engine detection with the JS detection of the same label and nearest box among those whose score is
 * within 1e-3: detections of equal score (rois whose pooled features are equal, as at an image corner) come in
 * the order of their proposals, which onnxruntime's last bits may reorder, so pairing goes by content, not rank.
 */
function agreement(
  engine: readonly EngineDetections[],
  js: readonly JsDetections[],
  size: readonly [number, number],
): DetectionAgreement {
  const a: DetectionAgreement = { engine: 0, onnx: 0, same: true, maxBoxDiff: 0, maxScoreDiff: 0, agree: false };
  engine.forEach((e, i) => {
    const d = js[i]!;
    a.engine += e.labels.length;
    a.onnx += d.labels.length;
    if (e.labels.length !== d.labels.length) a.same = false;
    const used = new Uint8Array(d.labels.length);
    const boxDiff = (k: number, j: number) =>
      Math.max(...[0, 1, 2, 3].map((c) => Math.abs(e.boxes[4 * k + c]! - d.boxes[4 * j + c]!)));
    e.labels.forEach((label, k) => {
      let best = -1;
      for (let j = 0; j < d.labels.length; j++) {
        if (used[j] || d.labels[j] !== label || Math.abs(d.scores[j]! - e.scores[k]!) > 1e-3) continue;
        if (best < 0 || boxDiff(k, j) < boxDiff(k, best)) best = j;
      }
      if (best < 0) {
        a.same = false;
        return;
      }
      used[best] = 1;
      a.maxBoxDiff = Math.max(a.maxBoxDiff, boxDiff(k, best));
      a.maxScoreDiff = Math.max(a.maxScoreDiff, Math.abs(d.scores[best]! - e.scores[k]!));
    });
  });
  a.agree = a.same && a.maxBoxDiff <= BOX_TOLERANCE * Math.max(...size) && a.maxScoreDiff <= SCORE_TOLERANCE;
  return a;
}

/** The R-CNN check: `maxAbsDiff` is the larger of the raw stage differences; `detections` the final ones. */
export interface RcnnCheck extends OrtCheck {
  stage1Diff: number;
  stage2Diff: number;
  detections: DetectionAgreement;
}

interface EngineDetections {
  boxes: Float32Array;
  scores: Float32Array;
  labels: number[];
}

/**
 * Runs both stages with onnxruntime-node on a random input [N, 3, h, w] per size (seeded `seed`, `seed + 1`, ...)
 * beside the engine: stage 1 against `stage1` (the exported forward, SR included for `sr+task`), stage 2 against
 * `g.stage2` on the same inputs (onnxruntime's stage-1 maps and the JS proposals), and the detections of the whole
 * onnxruntime + JS pipeline against the engine's eval-mode forward `detect`. `scale`: task-input pixels per input
 * pixel.
 */
export async function checkRcnnWithOnnxRuntime(
  stage1Bytes: Uint8Array,
  stage2Bytes: Uint8Array,
  stage1: (x: Tensor) => Record<string, Tensor>,
  g: RcnnGraphs,
  detect: (x: Tensor) => Detection[],
  scale: number,
  sizes: readonly (readonly [number, number, number])[],
  seed = 1,
): Promise<RcnnCheck[]> {
  const ort = await onnxRuntime();
  const s1 = await ort.InferenceSession.create(stage1Bytes);
  const s2 = await ort.InferenceSession.create(stage2Bytes);
  const s = g.settings;
  try {
    const checks: RcnnCheck[] = [];
    for (const [k, size] of sizes.entries()) {
      const dims4 = [size[0], 3, size[1], size[2]];
      const { input, expected, engine } = noGrad(() =>
        scope(() => {
          manualSeed(seed + k);
          const x = rand(dims4);
          const dets = detect(x).map((d) => ({
            boxes: d.boxes.data<"float32">(),
            scores: d.scores.data<"float32">(),
            labels: d.labels.toArray(),
          }));
          return { input: x.data<"float32">(), expected: expectedOutputs(stage1(x)), engine: dets };
        }),
      );
      const out1 = await s1.run({ lr: new ort.Tensor("float32", input, dims4) });
      const d1 = outputDifference(out1, expected);
      const outputs: StageOutputs = Object.fromEntries(
        Object.entries(out1).map(([name, t]) => [name, { data: t.data as Float32Array, dims: t.dims }]),
      );
      const originalSize: [number, number] = [size[1] * scale, size[2] * scale];
      const feeds = rcnnStage2Feeds(outputs, originalSize, s);
      const K = feeds.rois.length / 4;
      let d2 = { maxAbsDiff: 0, maxAbs: 0 };
      let js: JsDetections[] = feeds.counts.map(() => ({
        boxes: new Float32Array(0),
        scores: new Float32Array(0),
        labels: new Int32Array(0),
      }));
      if (K > 0) {
        const pooled = s.pooledNames.map((n) => `features.${n}`);
        const expected2 = noGrad(() =>
          scope(() => {
            const xs: Record<string, Tensor> = {
              rois: tensor(feeds.rois, { shape: [K, 4] }),
              batch_index: tensor(feeds.batchIndex),
              levels: tensor(feeds.levels),
              scales: tensor(feeds.scales),
            };
            for (const n of pooled) xs[n] = tensor(outputs[n]!.data, { shape: outputs[n]!.dims });
            return expectedOutputs(g.stage2(xs));
          }),
        );
        const ins: Record<string, InstanceType<typeof ort.Tensor>> = {
          rois: new ort.Tensor("float32", feeds.rois, [K, 4]),
          batch_index: new ort.Tensor("int64", feeds.batchIndex, [K]),
          levels: new ort.Tensor("int64", feeds.levels, [K]),
          scales: new ort.Tensor("float32", feeds.scales, [feeds.scales.length]),
        };
        for (const n of pooled) ins[n] = out1[n]!;
        const out2 = await s2.run(ins);
        d2 = outputDifference(out2, expected2);
        js = rcnnDetections(
          out2.scores!.data as Float32Array,
          out2.boxes!.data as Float32Array,
          feeds,
          originalSize,
          s,
        );
      }
      checks.push({
        size,
        maxAbsDiff: Math.max(d1.maxAbsDiff, d2.maxAbsDiff),
        maxAbs: Math.max(d1.maxAbs, d2.maxAbs),
        dims: out1.objectness!.dims,
        stage1Diff: d1.maxAbsDiff,
        stage2Diff: d2.maxAbsDiff,
        detections: agreement(engine, js, originalSize),
      });
    }
    return checks;
  } finally {
    await s1.release();
    await s2.release();
  }
}
