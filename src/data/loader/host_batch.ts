/**
 * Host batches: the samples of one batch assembled into a few flat typed arrays, without the engine. A data worker
 * thread assembles them and hands their buffers to the main thread (transferred, not copied); `collate.ts` turns
 * them into engine tensors. Every array owns its whole buffer, so transferring it never detaches memory a dataset
 * still holds.
 */
import { check } from "../../errors.js";
import type { BoxTarget, ClassTarget, MaskTarget, Sample, Task } from "../types.js";

interface HostCommon {
  ids: string[];
  /** [N, H, W, 3] RGB bytes (classification, segmentation), or each image's h*w*3 bytes one after another. */
  images: Uint8Array;
}

export interface ClassificationHostBatch extends HostCommon {
  task: "classification";
  width: number;
  height: number;
  /** [N] class indices */
  labels: Int32Array;
}

export interface SegmentationHostBatch extends HostCommon {
  task: "segmentation";
  width: number;
  height: number;
  /** [N, H, W] class indices, 255 = ignore */
  masks: Uint8Array;
}

export interface DetectionHostBatch extends HostCommon {
  task: "detection";
  /** [h, w] of each image, in order */
  sizes: [number, number][];
  /** [K_i * 4] xyxy boxes of each image */
  boxes: Float32Array[];
  /** [K_i] contiguous labels of each image */
  labels: Int32Array[];
}

export type HostBatch = ClassificationHostBatch | SegmentationHostBatch | DetectionHostBatch;

/** The buffers of a host batch, for a transfer list. */
export function hostBuffers(b: HostBatch): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = [b.images];
  if (b.task === "classification") arrays.push(b.labels);
  else if (b.task === "segmentation") arrays.push(b.masks);
  else arrays.push(...b.boxes, ...b.labels);
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/** Writes the HWC bytes of one image as 3-channel RGB (grey replicated) at `offset` of `out`. */
function putRgb(s: Sample, out: Uint8Array, offset: number): void {
  const { image } = s;
  if (image.channels === 3) {
    out.set(image.data, offset);
    return;
  }
  for (let i = 0; i < image.data.length; i++) out.fill(image.data[i]!, offset + i * 3, offset + i * 3 + 3);
}

function commonSize(samples: readonly Sample[], task: Task): { width: number; height: number } {
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

function expectKind(s: Sample, kind: string, task: Task): void {
  check(
    s.target.kind === kind,
    () => `${task} collate: sample ${s.id} has a "${s.target.kind}" target, need "${kind}"`,
  );
}

function stackImages(samples: readonly Sample[], h: number, w: number): Uint8Array {
  const bytes = new Uint8Array(samples.length * h * w * 3);
  samples.forEach((s, i) => {
    putRgb(s, bytes, i * h * w * 3);
  });
  return bytes;
}

export function assembleClassification(samples: readonly Sample[]): ClassificationHostBatch {
  const { width, height } = commonSize(samples, "classification");
  const labels = new Int32Array(samples.length);
  samples.forEach((s, i) => {
    expectKind(s, "class", "classification");
    labels[i] = (s.target as ClassTarget).label;
  });
  const images = stackImages(samples, height, width);
  return { task: "classification", ids: samples.map((s) => s.id), images, width, height, labels };
}

export function assembleSegmentation(samples: readonly Sample[]): SegmentationHostBatch {
  const { width, height } = commonSize(samples, "segmentation");
  const masks = new Uint8Array(samples.length * height * width);
  samples.forEach((s, i) => {
    expectKind(s, "mask", "segmentation");
    const m = s.target as MaskTarget;
    check(m.width === width && m.height === height, () => `segmentation collate: mask of ${s.id} is not aligned`);
    masks.set(m.mask, i * height * width);
  });
  const images = stackImages(samples, height, width);
  return { task: "segmentation", ids: samples.map((s) => s.id), images, width, height, masks };
}

export function assembleDetection(samples: readonly Sample[]): DetectionHostBatch {
  check(samples.length > 0, () => "detection collate: empty batch");
  for (const s of samples) expectKind(s, "boxes", "detection");
  const total = samples.reduce((n, s) => n + s.image.width * s.image.height * 3, 0);
  const images = new Uint8Array(total);
  let offset = 0;
  for (const s of samples) {
    putRgb(s, images, offset);
    offset += s.image.width * s.image.height * 3;
  }
  return {
    task: "detection",
    ids: samples.map((s) => s.id),
    images,
    sizes: samples.map((s) => [s.image.height, s.image.width]),
    boxes: samples.map((s) => {
      const b = s.target as BoxTarget;
      return b.boxes.slice(0, b.labels.length * 4);
    }),
    labels: samples.map((s) => (s.target as BoxTarget).labels.slice()),
  };
}

/** The assembly of a task's batches. */
export function assembleFor(task: Task, samples: readonly Sample[]): HostBatch {
  switch (task) {
    case "classification":
      return assembleClassification(samples);
    case "segmentation":
      return assembleSegmentation(samples);
    case "detection":
      return assembleDetection(samples);
  }
}
