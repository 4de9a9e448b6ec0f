/**
 * The JS steps between and after Faster R-CNN's two ONNX graphs (src/export/rcnn.ts), mirroring the engine in
 * float32 (Math.fround after every operation the engine does in float32): the RPN's proposal selection
 * (`RegionProposalNetwork.filterProposals`), each proposal's pyramid level (`MultiScaleRoiAlign`), and the box
 * branch's post-processing (`RoiHeads.postprocessDetections`, `DetectionTransform.postprocess`). The NMS is
 * detect_post.ts's, the engine's batchedNms. No engine imports: it runs with onnxruntime-node or in a browser.
 */
import { batchedNms, type JsDetections, keptDetections } from "./detect_post.js";

/** What the JS steps need of the network (stored as the files' `tasksr.rcnn` metadata). */
export interface RcnnSettings {
  kind: "faster-rcnn";
  /** Classes including background (label 0). */
  numClasses: number;
  /** The transform: short side to minSize unless the long side passes maxSize; pad to a multiple of sizeDivisible. */
  minSize: number;
  maxSize: number;
  sizeDivisible: number;
  /** Pyramid levels in stage 1's order (its `features.<name>` outputs), and those the box branch pools from. */
  featureNames: string[];
  pooledNames: string[];
  anchorsPerLocation: number;
  /** LevelMapper: level floor(canonicalLevel + log2(sqrt(area) / canonicalScale) + 1e-6). */
  canonicalScale: number;
  canonicalLevel: number;
  /** The RPN at inference: top-n per level before NMS, per image after; NMS IoU; objectness threshold. */
  rpn: { preNmsTopN: number; postNmsTopN: number; nmsThresh: number; scoreThresh: number };
  /** The box branch at inference: class score threshold (strict), class-wise NMS IoU, detections per image. */
  roi: { scoreThresh: number; nmsThresh: number; detectionsPerImage: number };
}

const f = Math.fround;
/** Smallest proposal side (rpn.ts) and detection side (roi_heads.ts) kept, compared in float32. */
const MIN_PROPOSAL_SIZE = f(1e-3);
const MIN_DETECTION_SIZE = f(1e-2);

/** Rounds half to even, as torch.round. */
const roundHalfEven = (v: number): number => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Size [h, w] of an image of `size` after the transform's resize (DetectionTransform.resizedSize). */
export function rcnnResizedSize(size: readonly [number, number], s: RcnnSettings): [number, number] {
  const lo = Math.min(size[0], size[1]);
  const hi = Math.max(size[0], size[1]);
  const scale = Math.min(f(f(s.minSize) / lo), f(f(s.maxSize) / hi));
  return [Math.floor(size[0] * scale), Math.floor(size[1] * scale)];
}

/** Clamps xyxy box `i` of `b` to [0, w] × [0, h] into `out` at `j` (clipBoxesToImage). */
function clipInto(b: Float32Array, i: number, size: readonly [number, number], out: Float32Array, j: number): void {
  const [h, w] = size;
  out[4 * j] = Math.min(Math.max(b[4 * i]!, 0), w);
  out[4 * j + 1] = Math.min(Math.max(b[4 * i + 1]!, 0), h);
  out[4 * j + 2] = Math.min(Math.max(b[4 * i + 2]!, 0), w);
  out[4 * j + 3] = Math.min(Math.max(b[4 * i + 3]!, 0), h);
}

const bigEnough = (b: Float32Array, i: number, min: number): boolean =>
  f(b[4 * i + 2]! - b[4 * i]!) >= min && f(b[4 * i + 3]! - b[4 * i + 1]!) >= min;

/**
 * One image's proposals from stage 1's `objectness` logits [A] and decoded `proposals` [A * 4] (pixels of the
 * padded batch), `perLevel` anchors per pyramid level, for an image of resized size `imageSize`: the best preNmsTopN
 * logits of each level, clipped, tiny boxes and objectness probabilities below scoreThresh dropped, NMS per level,
 * the best postNmsTopN. Returns boxes [K * 4] and probabilities [K], by decreasing probability.
 */
export function selectProposals(
  objectness: Float32Array,
  proposals: Float32Array,
  perLevel: readonly number[],
  imageSize: readonly [number, number],
  s: RcnnSettings,
): { boxes: Float32Array; scores: Float32Array } {
  const picked: number[] = [];
  const levelOf: number[] = [];
  let offset = 0;
  for (const [l, k] of perLevel.entries()) {
    const idx = Array.from({ length: k }, (_, i) => offset + i);
    idx.sort((p, q) => objectness[q]! - objectness[p]! || p - q); // topk: by value, descending
    for (const i of idx.slice(0, Math.min(s.rpn.preNmsTopN, k))) {
      picked.push(i);
      levelOf.push(l);
    }
    offset += k;
  }
  const thresh = f(s.rpn.scoreThresh);
  const clipped = new Float32Array(4);
  const boxes: number[] = [];
  const scores: number[] = [];
  const levels: number[] = [];
  for (const [j, i] of picked.entries()) {
    clipInto(proposals, i, imageSize, clipped, 0);
    if (!bigEnough(clipped, 0, MIN_PROPOSAL_SIZE)) continue;
    // The engine's float32 sigmoid: 1 / (1 + exp(-x)).
    const prob = f(1 / f(1 + f(Math.exp(-objectness[i]!))));
    if (!(prob >= thresh)) continue;
    boxes.push(...clipped);
    scores.push(prob);
    levels.push(levelOf[j]!);
  }
  const b = Float32Array.from(boxes);
  const sc = Float32Array.from(scores);
  const kept = batchedNms(b, sc, levels, s.rpn.nmsThresh).slice(0, s.rpn.postNmsTopN);
  const out = { boxes: new Float32Array(4 * kept.length), scores: new Float32Array(kept.length) };
  kept.forEach((i, k) => {
    out.boxes.set(b.subarray(4 * i, 4 * i + 4), 4 * k);
    out.scores[k] = sc[i]!;
  });
  return out;
}

/**
 * The pooled level of each box [K * 4] and each pooled level's spatial scale, as MultiScaleRoiAlign: scales
 * 2^round(log2(feature height / largest image height)), levels from the box's sqrt(area) (LevelMapper), clamped to
 * the available ones. `heights` are the pooled feature maps' heights, `maxHeight` the largest resized image height.
 */
export function roiLevels(
  boxes: Float32Array,
  heights: readonly number[],
  maxHeight: number,
  s: RcnnSettings,
): { levels: BigInt64Array; scales: Float32Array } {
  const scales = heights.map((h) => 2 ** roundHalfEven(Math.log2(f(h / maxHeight))));
  const k = boxes.length / 4;
  const levels = new BigInt64Array(k);
  if (scales.length > 1) {
    const kMin = Math.trunc(-Math.log2(scales[0]!));
    const kMax = Math.trunc(-Math.log2(scales[scales.length - 1]!));
    const eps = f(1e-6);
    for (let i = 0; i < k; i++) {
      const area = f(f(boxes[4 * i + 2]! - boxes[4 * i]!) * f(boxes[4 * i + 3]! - boxes[4 * i + 1]!));
      const v = f(f(f(Math.log2(f(f(Math.sqrt(area)) / s.canonicalScale))) + s.canonicalLevel) + eps);
      levels[i] = BigInt(Math.min(Math.max(Math.floor(v), kMin), kMax) - kMin);
    }
  }
  return { levels, scales: Float32Array.from(scales) };
}

/**
 * One image's detections from stage 2's `scores` [k * C] (softmax) and `boxes` [k * C * 4] (per-class decoded, in
 * the resized image) for its k proposals: clipped to `imageSize`, background dropped, scores above scoreThresh,
 * tiny boxes dropped, class-wise NMS, the best detectionsPerImage, boxes mapped to `originalSize`.
 */
export function rcnnPostprocess(
  scores: Float32Array,
  boxes: Float32Array,
  imageSize: readonly [number, number],
  originalSize: readonly [number, number],
  s: RcnnSettings,
): JsDetections {
  const C = s.numClasses;
  const k = scores.length / C;
  const thresh = f(s.roi.scoreThresh);
  const clipped = new Float32Array(4);
  const candBoxes: number[] = [];
  const candScores: number[] = [];
  const candLabels: number[] = [];
  // Proposal-major, class-minor: the engine's order after reshaping [k, C - 1, 4] to [k (C - 1), 4].
  for (let p = 0; p < k; p++) {
    for (let label = 1; label < C; label++) {
      const i = p * C + label;
      if (!(scores[i]! > thresh)) continue;
      clipInto(boxes, i, imageSize, clipped, 0);
      if (!bigEnough(clipped, 0, MIN_DETECTION_SIZE)) continue;
      candBoxes.push(...clipped);
      candScores.push(scores[i]!);
      candLabels.push(label);
    }
  }
  const b = Float32Array.from(candBoxes);
  const sc = Float32Array.from(candScores);
  const kept = batchedNms(b, sc, candLabels, s.roi.nmsThresh).slice(0, s.roi.detectionsPerImage);
  return keptDetections(b, sc, candLabels, kept, imageSize, originalSize);
}
