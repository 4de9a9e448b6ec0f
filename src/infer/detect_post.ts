/**
 * SSD post-processing in plain JS (and the NMS that Faster R-CNN's JS steps share, src/infer/rcnn_post.ts), for detectors exported to ONNX (src/export/detection.ts): the engine's
 * `Ssd.postprocessDetections` and `DetectionTransform.postprocess` step by step, in float32 (Math.fround after every
 * operation the engine does in float32), so that the same raw outputs give the same detections. No engine imports:
 * it runs with onnxruntime-node or in a browser.
 */

export interface DetectionSettings {
  /** The fixed size [h, w] the detector resizes every input to; null when it keeps each input's size. */
  imageSize: [number, number] | null;
  /** Classes including background (label 0). */
  numClasses: number;
  scoreThresh: number;
  nmsThresh: number;
  topkCandidates: number;
  detectionsPerImage: number;
}

export interface JsDetections {
  /** [K * 4] xyxy in pixels of the input image. */
  boxes: Float32Array;
  scores: Float32Array;
  /** 1..numClasses-1. */
  labels: Int32Array;
}

const f = Math.fround;

/** Greedy NMS (IoU > threshold suppresses) over `idx` boxes sorted by descending score, stable — as the engine's. */
function nms(b: Float32Array, s: Float32Array, idx: number[], thresh: number): number[] {
  const order = [...idx.keys()].sort((p, q) => s[idx[q]!]! - s[idx[p]!]! || p - q);
  const area = idx.map((k) => f(f(b[4 * k + 2]! - b[4 * k]!) * f(b[4 * k + 3]! - b[4 * k + 1]!)));
  const suppressed = new Uint8Array(idx.length);
  const keep: number[] = [];
  for (let oi = 0; oi < order.length; oi++) {
    const pi = order[oi]!;
    if (suppressed[pi]) continue;
    keep.push(pi);
    const i = idx[pi]!;
    for (let oj = oi + 1; oj < order.length; oj++) {
      const pj = order[oj]!;
      if (suppressed[pj]) continue;
      const j = idx[pj]!;
      const w = Math.max(0, f(Math.min(b[4 * i + 2]!, b[4 * j + 2]!) - Math.max(b[4 * i]!, b[4 * j]!)));
      const h = Math.max(0, f(Math.min(b[4 * i + 3]!, b[4 * j + 3]!) - Math.max(b[4 * i + 1]!, b[4 * j + 1]!)));
      const inter = f(w * h);
      const iou = f(inter / f(f(area[pi]! + area[pj]!) - inter));
      if (iou > thresh) suppressed[pj] = 1;
    }
  }
  return keep; // positions in idx, by decreasing score
}

/**
 * The engine's batchedNms (src/models/boxes/ops.ts) on the CPU: NMS per category `labels` over boxes `b` [n * 4]
 * with scores `sc` [n]; returns the kept indices by decreasing score. Up to 4000 coordinates, one NMS on boxes
 * shifted apart by label · (max coordinate + 1); above, one NMS per category, merged by score — the engine's two
 * paths, which round differently.
 */
export function batchedNms(b: Float32Array, sc: Float32Array, labels: ArrayLike<number>, thresh: number): number[] {
  const n = sc.length;
  if (n === 0) return [];
  if (4 * n <= 4000) {
    let max = -Infinity;
    for (const v of b) max = Math.max(max, v);
    const step = f(max + 1);
    const shifted = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) {
      const off = f(labels[i]! * step);
      for (let c = 0; c < 4; c++) shifted[4 * i + c] = f(b[4 * i + c]! + off);
    }
    return nms(shifted, sc, [...Array(n).keys()], thresh);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const members = byClass.get(labels[i]!);
    if (members === undefined) byClass.set(labels[i]!, [i]);
    else members.push(i);
  }
  const all: number[] = [];
  for (const members of byClass.values()) for (const p of nms(b, sc, members, thresh)) all.push(members[p]!);
  return all.sort((p, q) => sc[q]! - sc[p]! || p - q);
}

/**
 * Detections of one image from the exported outputs: `scores` [A, K] (softmax) and `boxes` [A, 4] (decoded, in the
 * resized image), for an input image of `originalSize` [h, w].
 */
export function ssdPostprocess(
  scores: Float32Array,
  boxes: Float32Array,
  s: DetectionSettings,
  originalSize: readonly [number, number],
): JsDetections {
  const K = s.numClasses;
  const A = scores.length / K;
  const [H, W] = s.imageSize ?? originalSize;
  const clipped = new Float32Array(A * 4);
  for (let a = 0; a < A; a++) {
    clipped[4 * a] = Math.min(Math.max(boxes[4 * a]!, 0), W);
    clipped[4 * a + 1] = Math.min(Math.max(boxes[4 * a + 1]!, 0), H);
    clipped[4 * a + 2] = Math.min(Math.max(boxes[4 * a + 2]!, 0), W);
    clipped[4 * a + 3] = Math.min(Math.max(boxes[4 * a + 3]!, 0), H);
  }
  // Per class: scores above the threshold (compared in float32, as a tensor against a scalar), the best top-k.
  const thresh = f(s.scoreThresh);
  const candBoxes: number[] = [];
  const candScores: number[] = [];
  const candLabels: number[] = [];
  for (let label = 1; label < K; label++) {
    const keep: number[] = [];
    for (let a = 0; a < A; a++) if (scores[a * K + label]! > thresh) keep.push(a);
    keep.sort((p, q) => scores[q * K + label]! - scores[p * K + label]! || p - q);
    for (const a of keep.slice(0, s.topkCandidates)) {
      candBoxes.push(clipped[4 * a]!, clipped[4 * a + 1]!, clipped[4 * a + 2]!, clipped[4 * a + 3]!);
      candScores.push(scores[a * K + label]!);
      candLabels.push(label);
    }
  }
  const b = Float32Array.from(candBoxes);
  const sc = Float32Array.from(candScores);
  const kept = batchedNms(b, sc, candLabels, s.nmsThresh).slice(0, s.detectionsPerImage);
  return keptDetections(b, sc, candLabels, kept, [H, W], originalSize);
}

/**
 * Candidates `kept` (indices into boxes `b` [n * 4], scores, labels) as detections, boxes mapped from the resized
 * image `from` [h, w] back to the input image `to` (float32 ratios, as the engine's resizeBoxes).
 */
export function keptDetections(
  b: Float32Array,
  sc: Float32Array,
  labels: ArrayLike<number>,
  kept: readonly number[],
  from: readonly [number, number],
  to: readonly [number, number],
): JsDetections {
  const rh = f(f(to[0]) / f(from[0]));
  const rw = f(f(to[1]) / f(from[1]));
  const out: JsDetections = {
    boxes: new Float32Array(4 * kept.length),
    scores: new Float32Array(kept.length),
    labels: new Int32Array(kept.length),
  };
  kept.forEach((i, k) => {
    out.boxes[4 * k] = f(b[4 * i]! * rw);
    out.boxes[4 * k + 1] = f(b[4 * i + 1]! * rh);
    out.boxes[4 * k + 2] = f(b[4 * i + 2]! * rw);
    out.boxes[4 * k + 3] = f(b[4 * i + 3]! * rh);
    out.scores[k] = sc[i]!;
    out.labels[k] = labels[i]!;
  });
  return out;
}
