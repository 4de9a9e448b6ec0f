/**
 * Host batches: the samples of one batch assembled into a few flat typed arrays, without the engine; `collate.ts`
 * turns them into engine tensors. The large arrays (images, masks) come from an ArraySource — the shared buffers of
 * shared_arrays.ts, which a data worker fills and the main thread views — and the small ones (labels, boxes) own
 * their whole buffers, so transferring them never detaches memory a dataset still holds.
 *
 * The images are already the batch tensor's contents ([N, 3, H, W] float in [0, 1], detection padded): the layout
 * change, the conversion and the padding are per-pixel work, done here by the pixel kernels where workers run it in
 * parallel, so that the main thread, which also runs the training step, only wraps the floats in a tensor.
 */
import { check } from "../../errors.js";
import { pixels } from "../pixels.js";
import type { BoxTarget, ClassTarget, MaskTarget, Sample } from "../types.js";

export interface AssembleOptions {
  /** SR scale factor: detection batches are padded to multiples of it (default 1). */
  scale?: number;
}

/**
 * What every task's host batch has. A task adds its target arrays: large ones (a mask per pixel) taken from the
 * ArraySource travel in shared buffers, others (labels, boxes) are transferred with the message.
 */
export interface HostBatch {
  task: string;
  ids: string[];
  /** [N, 3, H, W] float32 in [0, 1] (value / 255); for padded tasks H, W are the padded size. */
  images: Float32Array;
  height: number;
  width: number;
  /** Padded tasks (detection): [h, w] of each image before padding, in order. */
  sizes?: [number, number][];
}

export interface ClassificationHostBatch extends HostBatch {
  task: "classification";
  /** [N] class indices */
  labels: Int32Array;
}

export interface SegmentationHostBatch extends HostBatch {
  task: "segmentation";
  /** [N, H, W] class indices, 255 = ignore */
  masks: Uint8Array;
}

export interface DetectionHostBatch extends HostBatch {
  task: "detection";
  /** Padded height and width of the batch: the largest image's rounded up to a multiple of the scale. */
  height: number;
  width: number;
  /** [h, w] of each image, in order */
  sizes: [number, number][];
  /** [K_i * 4] xyxy boxes of each image */
  boxes: Float32Array[];
  /** [K_i] contiguous labels of each image */
  labels: Int32Array[];
}

export type BuiltinHostBatch = ClassificationHostBatch | SegmentationHostBatch | DetectionHostBatch;

/** Where assembly gets its large arrays (shared buffers, shared_arrays.ts; plain new arrays when none is given). */
export interface ArraySource {
  float32(length: number): Float32Array;
  uint8(length: number): Uint8Array;
}

/**
 * The buffers of a host batch's small arrays (labels, boxes: typed arrays, or lists of them, not in shared memory),
 * for a transfer list.
 */
export function smallBuffers(b: HostBatch): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (v: unknown) => {
    if (ArrayBuffer.isView(v) && !(v.buffer instanceof SharedArrayBuffer)) out.add(v.buffer as ArrayBuffer);
  };
  for (const v of Object.values(b)) {
    if (Array.isArray(v)) v.forEach(add);
    else add(v);
  }
  return [...out];
}

/**
 * Writes one image as [3, hp, wp] floats at image slot `i` of `out`, padded at the right/bottom (methods.md A4):
 * reflect when both pads are smaller than the image's sides (reflection needs pad < side), else replicate.
 */
function putPlanar(s: Sample, out: Float32Array, i: number, hp: number, wp: number): void {
  const { data, width: w, height: h, channels } = s.image;
  const mode = hp - h < h && wp - w < w ? "reflect" : "replicate";
  pixels().toPlanarFloat(data, w, h, channels, out, i * 3 * hp * wp, wp, hp, mode);
}

function commonSize(samples: readonly Sample[], task: string): { width: number; height: number } {
  check(samples.length > 0, () => `${task} collate: empty batch`);
  const { width, height } = samples[0]!.image;
  for (const s of samples) {
    check(
      s.image.width === width && s.image.height === height,
      () =>
        `${task} collate: images must share one size (crop or resize them in the transform); ` +
        `${samples[0]!.id} is ${width}x${height}, ${s.id} is ${s.image.width}x${s.image.height}`,
    );
  }
  return { width, height };
}

function expectKind(s: Sample, kind: string, task: string): void {
  check(
    s.target.kind === kind,
    () => `${task} collate: sample ${s.id} has a "${s.target.kind}" target, need "${kind}"`,
  );
}

function stackImages(samples: readonly Sample[], h: number, w: number, arrays?: ArraySource): Float32Array {
  const length = samples.length * 3 * h * w;
  const images = arrays ? arrays.float32(length) : new Float32Array(length);
  samples.forEach((s, i) => {
    putPlanar(s, images, i, h, w);
  });
  return images;
}

export function assembleClassification(samples: readonly Sample[], arrays?: ArraySource): ClassificationHostBatch {
  const { width, height } = commonSize(samples, "classification");
  const labels = new Int32Array(samples.length);
  samples.forEach((s, i) => {
    expectKind(s, "class", "classification");
    labels[i] = (s.target as ClassTarget).label;
  });
  const images = stackImages(samples, height, width, arrays);
  return { task: "classification", ids: samples.map((s) => s.id), images, width, height, labels };
}

export function assembleSegmentation(samples: readonly Sample[], arrays?: ArraySource): SegmentationHostBatch {
  const { width, height } = commonSize(samples, "segmentation");
  const length = samples.length * height * width;
  const masks = arrays ? arrays.uint8(length) : new Uint8Array(length);
  samples.forEach((s, i) => {
    expectKind(s, "mask", "segmentation");
    const m = s.target as MaskTarget;
    check(m.width === width && m.height === height, () => `segmentation collate: mask of ${s.id} is not aligned`);
    masks.set(m.mask, i * height * width);
  });
  const images = stackImages(samples, height, width, arrays);
  return { task: "segmentation", ids: samples.map((s) => s.id), images, width, height, masks };
}

/**
 * Pads every image at the right/bottom to the batch's max height/width rounded up to a multiple of `scale`, so that
 * the SR network's LR input divides evenly. Boxes are untouched (padding at the right/bottom does not move pixels).
 */
export function assembleDetection(
  samples: readonly Sample[],
  o: AssembleOptions = {},
  arrays?: ArraySource,
): DetectionHostBatch {
  const scale = o.scale ?? 1;
  check(Number.isInteger(scale) && scale >= 1, () => `detection collate: scale must be an integer >= 1, got ${scale}`);
  check(samples.length > 0, () => "detection collate: empty batch");
  for (const s of samples) expectKind(s, "boxes", "detection");
  const height = Math.ceil(Math.max(...samples.map((s) => s.image.height)) / scale) * scale;
  const width = Math.ceil(Math.max(...samples.map((s) => s.image.width)) / scale) * scale;
  return {
    task: "detection",
    ids: samples.map((s) => s.id),
    images: stackImages(samples, height, width, arrays),
    height,
    width,
    sizes: samples.map((s) => [s.image.height, s.image.width]),
    boxes: samples.map((s) => {
      const b = s.target as BoxTarget;
      return b.boxes.slice(0, b.labels.length * 4);
    }),
    labels: samples.map((s) => (s.target as BoxTarget).labels.slice()),
  };
}
