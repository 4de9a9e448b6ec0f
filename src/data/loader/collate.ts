/**
 * Collate: a list of samples -> engine tensors on a device, per task.
 *
 * Ownership: every tensor in a returned batch is owned by the caller (the batch is built in a scope and `keep`-ed,
 * so it survives any scope the caller has open). Free it with `disposeBatch(batch)` once the step is done.
 * Images are uploaded as uint8 (4x less traffic than float) and converted to float32 in [0, 1] on the device.
 */
import type { Tensor } from "../../engine/index.js";
import { cat, F, keep, scope, tensor } from "../../engine/index.js";
import { check } from "../../errors.js";
import type { Sample, Task } from "../types.js";
import {
  assembleClassification,
  assembleDetection,
  assembleFor,
  assembleSegmentation,
  type ClassificationHostBatch,
  type DetectionHostBatch,
  type HostBatch,
  type SegmentationHostBatch,
} from "./host_batch.js";

export interface ClassificationBatch {
  task: "classification";
  ids: string[];
  /** [N, 3, H, W] float32 in [0, 1] */
  hr: Tensor;
  /** [N] int64 */
  labels: Tensor;
}

export interface SegmentationBatch {
  task: "segmentation";
  ids: string[];
  /** [N, 3, H, W] float32 in [0, 1] */
  hr: Tensor;
  /** [N, H, W] int64, 255 = ignore */
  masks: Tensor;
}

export interface DetectionTarget {
  /** [K, 4] float32, xyxy in pixels of the unpadded image */
  boxes: Tensor;
  /** [K] int64 */
  labels: Tensor;
}

export interface DetectionBatch {
  task: "detection";
  ids: string[];
  /** [N, 3, Hp, Wp] float32 in [0, 1]; Hp, Wp = batch max rounded up to a multiple of the SR scale */
  hr: Tensor;
  targets: DetectionTarget[];
  /** Original [h, w] of each image, to crop padded outputs back (cropBack). */
  sizes: [number, number][];
}

export type Batch = ClassificationBatch | SegmentationBatch | DetectionBatch;

export interface CollateOptions {
  /** Device of the batch tensors (default "cpu"). */
  device?: string;
}

export interface DetectionCollateOptions extends CollateOptions {
  /** SR scale factor: padded sizes are multiples of it (default 1). */
  scale?: number;
}

/**
 * [N, H, W, 3] uint8 bytes -> [N, 3, H, W] float32 in [0, 1] on `device` (call inside a scope). For CUDA the bytes
 * go through page-locked memory and are copied asynchronously, as PyTorch's pin_memory + non_blocking: the copy
 * queues behind the step already running on the GPU instead of waiting for it.
 */
function imagesToTensor(bytes: Uint8Array, n: number, h: number, w: number, device: string): Tensor {
  const u8 = toDevice(tensor(bytes, { shape: [n, h, w, 3] }), device);
  return u8.permute(0, 3, 1, 2).contiguous().float().div(255);
}

/** A host tensor on `device`: pinned and copied without blocking when the device is CUDA. */
function toDevice(t: Tensor, device: string): Tensor {
  if (!device.startsWith("cuda")) return t.to(device);
  return t.pinMemory().to({ device, nonBlocking: true });
}

export function uploadClassification(b: ClassificationHostBatch, o: CollateOptions = {}): ClassificationBatch {
  const device = o.device ?? "cpu";
  const t = keep(
    scope(() => ({
      hr: imagesToTensor(b.images, b.ids.length, b.height, b.width, device),
      labels: toDevice(tensor(b.labels), device).long(),
    })),
  );
  return { task: "classification", ids: b.ids, ...t };
}

export function uploadSegmentation(b: SegmentationHostBatch, o: CollateOptions = {}): SegmentationBatch {
  const device = o.device ?? "cpu";
  const n = b.ids.length;
  const t = keep(
    scope(() => ({
      hr: imagesToTensor(b.images, n, b.height, b.width, device),
      masks: toDevice(tensor(b.masks, { shape: [n, b.height, b.width] }), device).long(),
    })),
  );
  return { task: "segmentation", ids: b.ids, ...t };
}

/**
 * Pads every image at the right/bottom to the batch's max height/width rounded up to a multiple of `scale`
 * (methods.md A4): reflect when both pads are smaller than the image's sides (reflection needs pad < side), else
 * replicate. Boxes are untouched (padding at the right/bottom does not move pixels).
 */
export function uploadDetection(b: DetectionHostBatch, o: DetectionCollateOptions = {}): DetectionBatch {
  const scale = o.scale ?? 1;
  check(Number.isInteger(scale) && scale >= 1, () => `detection collate: scale must be an integer >= 1, got ${scale}`);
  const hp = Math.ceil(Math.max(...b.sizes.map(([h]) => h)) / scale) * scale;
  const wp = Math.ceil(Math.max(...b.sizes.map(([, w]) => w)) / scale) * scale;
  const device = o.device ?? "cpu";
  const t = keep(
    scope(() => {
      const targets = b.boxes.map((boxes, i) => ({
        boxes: toDevice(tensor(boxes, { shape: [boxes.length / 4, 4] }), device),
        labels: toDevice(tensor(b.labels[i]!), device).long(),
      }));
      // Images of the padded size already lie one after another as [N, hp, wp, 3]: one conversion, no copies.
      if (b.sizes.every(([h, w]) => h === hp && w === wp)) {
        return { hr: imagesToTensor(b.images, b.sizes.length, hp, wp, device), targets };
      }
      let offset = 0;
      const padded = b.sizes.map(([h, w]) => {
        const img = imagesToTensor(b.images.subarray(offset, offset + h * w * 3), 1, h, w, device); // [1, 3, h, w]
        offset += h * w * 3;
        const ph = hp - h;
        const pw = wp - w;
        if (ph === 0 && pw === 0) return img;
        return F.pad(img, [0, pw, 0, ph], ph < h && pw < w ? "reflect" : "replicate");
      });
      return { hr: cat(padded, 0), targets };
    }),
  );
  return { task: "detection", ids: b.ids, hr: t.hr, targets: t.targets, sizes: b.sizes };
}

/** The engine tensors of a host batch (assembled here or by a data worker thread). */
export function uploadBatch(b: HostBatch, o: DetectionCollateOptions = {}): Batch {
  switch (b.task) {
    case "classification":
      return uploadClassification(b, o);
    case "segmentation":
      return uploadSegmentation(b, o);
    case "detection":
      return uploadDetection(b, o);
  }
}

export const collateClassification = (samples: readonly Sample[], o: CollateOptions = {}): ClassificationBatch =>
  uploadClassification(assembleClassification(samples), o);

export const collateSegmentation = (samples: readonly Sample[], o: CollateOptions = {}): SegmentationBatch =>
  uploadSegmentation(assembleSegmentation(samples), o);

export const collateDetection = (samples: readonly Sample[], o: DetectionCollateOptions = {}): DetectionBatch =>
  uploadDetection(assembleDetection(samples), o);

/**
 * Crops a padded batch [N, C, Hp, Wp] (e.g. the SR output of a detection batch) back to each image's [h, w]:
 * a list of [C, h, w] views. Like engine ops, they join the caller's innermost scope.
 */
export function cropBack(x: Tensor, sizes: readonly (readonly [number, number])[]): Tensor[] {
  check(x.ndim === 4 && x.shape[0] === sizes.length, () => `cropBack: [${x.shape}] for ${sizes.length} sizes`);
  return scope(() =>
    sizes.map(([h, w], i) => {
      check(h <= x.shape[2]! && w <= x.shape[3]!, () => `cropBack: ${h}x${w} exceeds [${x.shape}]`);
      return x.select(0, i).narrow(1, 0, h).narrow(2, 0, w);
    }),
  );
}

/** Frees every tensor of a batch. */
export function disposeBatch(batch: Batch): void {
  batch.hr.dispose();
  switch (batch.task) {
    case "classification":
      batch.labels.dispose();
      break;
    case "segmentation":
      batch.masks.dispose();
      break;
    case "detection":
      for (const t of batch.targets) {
        t.boxes.dispose();
        t.labels.dispose();
      }
      break;
  }
}

/**
 * A task's collate function. It carries its task and options, so that a DataLoader with worker threads can have the
 * workers assemble host batches (`assembleFor(task, samples)`) and upload them here (`uploadBatch`).
 */
export interface TaskCollate {
  (samples: readonly Sample[]): Batch;
  readonly task: Task;
  readonly options: DetectionCollateOptions;
}

/** The collate function of a task. */
export function collateFor(task: Task, o: DetectionCollateOptions = {}): TaskCollate {
  return Object.assign((samples: readonly Sample[]) => uploadBatch(assembleFor(task, samples), o), {
    task,
    options: o,
  });
}
