/**
 * Collate: a list of samples -> engine tensors on a device, per task.
 *
 * Ownership: every tensor in a returned batch is owned by the caller (the batch is built in a scope and `keep`-ed,
 * so it survives any scope the caller has open). Free it with `disposeBatch(batch)` once the step is done.
 * Samples are first assembled into a host batch (host_batch.ts: planar float images, padded for detection) — by a
 * data worker when there are workers — in shared buffers that the image tensor then views (shared_arrays.ts): the
 * upload copies only the small arrays and the masks. For CUDA that moves 4x the bytes of uint8 images, through
 * pinned memory and asynchronously (a 480x480 segmentation batch of 8 is 22 MB, about 1 ms of PCIe 4), which takes
 * the conversion off the thread that runs the step.
 */
import { keep, scope, sharedView, Tensor, tensor } from "../../engine/index.js";
import { check } from "../../errors.js";
// The built-in tasks register on import; their files import this one only for functions, defined before any call.
import "../../tasks/index.js";
import { getTask } from "../../tasks/registry.js";
import type { Sample } from "../types.js";
import {
  type AssembleOptions,
  assembleClassification,
  assembleDetection,
  assembleSegmentation,
  type ClassificationHostBatch,
  type DetectionHostBatch,
  type HostBatch,
  type SegmentationHostBatch,
} from "./host_batch.js";
import { MainSharedArrays, type SharedImages, WorkerSharedArrays } from "./shared_arrays.js";

/**
 * What every task's batch has; a task adds its targets as tensors (or lists or plain objects of tensors), all of
 * which `disposeBatch` frees.
 */
export interface Batch {
  task: string;
  ids: string[];
  /** [N, 3, H, W] float32 in [0, 1]; for padded tasks H, W are the batch's padded size. */
  hr: Tensor;
  /** Padded tasks (detection): [h, w] of each image, to crop padded outputs back (cropBack). */
  sizes?: [number, number][];
}

export interface ClassificationBatch extends Batch {
  task: "classification";
  /** [N] int64 */
  labels: Tensor;
}

export interface SegmentationBatch extends Batch {
  task: "segmentation";
  /** [N, H, W] int64, 255 = ignore */
  masks: Tensor;
}

export interface DetectionTarget {
  /** [K, 4] float32, xyxy in pixels of the unpadded image */
  boxes: Tensor;
  /** [K] int64 */
  labels: Tensor;
}

export interface DetectionBatch extends Batch {
  task: "detection";
  /** [N, 3, Hp, Wp] float32 in [0, 1]; Hp, Wp = batch max rounded up to a multiple of the SR scale */
  hr: Tensor;
  targets: DetectionTarget[];
  /** Original [h, w] of each image, to crop padded outputs back (cropBack). */
  sizes: [number, number][];
}

export type BuiltinBatch = ClassificationBatch | SegmentationBatch | DetectionBatch;

export interface CollateOptions {
  /** Device of the batch tensors (default "cpu"). */
  device?: string;
}

export interface DetectionCollateOptions extends CollateOptions, AssembleOptions {}

/**
 * The host images [N, 3, H, W] as a tensor on `device` (call inside a scope). Images in a data worker's shared
 * buffer are viewed, not copied (the tensor frees the buffer when it is freed); others are copied.
 */
export function imagesToTensor(
  images: Float32Array,
  n: number,
  h: number,
  w: number,
  device: string,
  shared?: SharedImages,
): Tensor {
  if (!shared) return toDevice(tensor(images, { shape: [n, 3, h, w] }), device);
  return toDevice(
    shared.lend(() => sharedView(images, [n, 3, h, w], shared.flags, shared.index)),
    device,
  );
}

/**
 * A host tensor on `device`. For CUDA it goes through page-locked memory and is copied asynchronously, as PyTorch's
 * pin_memory + non_blocking: the copy queues behind the step already running on the GPU instead of waiting for it.
 */
export function toDevice(t: Tensor, device: string): Tensor {
  if (!device.startsWith("cuda")) return t.to(device);
  return t.pinMemory().to({ device, nonBlocking: true });
}

export function uploadClassification(
  b: ClassificationHostBatch,
  o: CollateOptions = {},
  shared?: SharedImages,
): ClassificationBatch {
  const device = o.device ?? "cpu";
  const t = keep(
    scope(() => ({
      hr: imagesToTensor(b.images, b.ids.length, b.height, b.width, device, shared),
      labels: toDevice(tensor(b.labels), device).long(),
    })),
  );
  return { task: "classification", ids: b.ids, ...t };
}

export function uploadSegmentation(
  b: SegmentationHostBatch,
  o: CollateOptions = {},
  shared?: SharedImages,
): SegmentationBatch {
  const device = o.device ?? "cpu";
  const n = b.ids.length;
  const t = keep(
    scope(() => ({
      hr: imagesToTensor(b.images, n, b.height, b.width, device, shared),
      masks: toDevice(tensor(b.masks, { shape: [n, b.height, b.width] }), device).long(),
    })),
  );
  return { task: "segmentation", ids: b.ids, ...t };
}

export function uploadDetection(b: DetectionHostBatch, o: CollateOptions = {}, shared?: SharedImages): DetectionBatch {
  const device = o.device ?? "cpu";
  const t = keep(
    scope(() => ({
      hr: imagesToTensor(b.images, b.ids.length, b.height, b.width, device, shared),
      targets: b.boxes.map((boxes, i) => ({
        boxes: toDevice(tensor(boxes, { shape: [boxes.length / 4, 4] }), device),
        labels: toDevice(tensor(b.labels[i]!), device).long(),
      })),
    })),
  );
  return { task: "detection", ids: b.ids, hr: t.hr, targets: t.targets, sizes: b.sizes };
}

export const collateClassification = (samples: readonly Sample[], o: CollateOptions = {}): ClassificationBatch =>
  uploadClassification(assembleClassification(samples), o);

export const collateSegmentation = (samples: readonly Sample[], o: CollateOptions = {}): SegmentationBatch =>
  uploadSegmentation(assembleSegmentation(samples), o);

export const collateDetection = (samples: readonly Sample[], o: DetectionCollateOptions = {}): DetectionBatch =>
  uploadDetection(assembleDetection(samples, o), o);

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

/** Frees every tensor of a batch: its fields, and the tensors in lists and plain objects under them. */
export function disposeBatch(batch: Batch): void {
  const free = (v: unknown): void => {
    if (v instanceof Tensor) v.dispose();
    else if (Array.isArray(v)) v.forEach(free);
    else if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype)
      Object.values(v).forEach(free);
  };
  Object.values(batch).forEach(free);
}

/**
 * A task's collate function. It carries its task and options, so that a DataLoader with worker threads can have the
 * workers assemble host batches (the task's `assemble`) and upload them here (`upload`).
 */
export interface TaskCollate {
  (samples: readonly Sample[]): Batch;
  readonly task: string;
  readonly options: DetectionCollateOptions;
  /** The engine tensors of a host batch a worker assembled (`shared`: where its images lie). */
  upload(host: HostBatch, shared?: SharedImages): Batch;
}

/** Keeps a collate function's buffers alive after the function is gone while a batch tensor still views one. */
const retireBuffers = new FinalizationRegistry<MainSharedArrays>((m) => m.retire());

/**
 * The collate function of a task. It assembles into shared buffers of its own, which the image tensors view as a data
 * worker's do (shared_arrays.ts), so that batches made on the main thread need no copy and no allocation either.
 */
export function collateFor(task: string, o: DetectionCollateOptions = {}): TaskCollate {
  const def = getTask(task);
  const upload = (host: HostBatch, shared?: SharedImages) => def.upload(host, o, shared);
  const buffers = new WorkerSharedArrays();
  const views = new MainSharedArrays();
  const collate = (samples: readonly Sample[]) => {
    const { host, images, release } = views.unpack(buffers.pack((arrays) => def.data.assemble(samples, o, arrays)));
    try {
      return upload(host, images);
    } finally {
      release();
    }
  };
  retireBuffers.register(collate, views);
  return Object.assign(collate, { task, options: o, upload });
}
