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
import type { BoxTarget, ClassTarget, MaskTarget, Sample, Task } from "../types.js";

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

/** HWC bytes of one image as 3-channel RGB (grey is replicated). */
function rgbBytes(s: Sample): Uint8Array {
  const { image } = s;
  if (image.channels === 3) return image.data;
  const out = new Uint8Array(image.width * image.height * 3);
  for (let i = 0; i < image.data.length; i++) out.fill(image.data[i]!, i * 3, i * 3 + 3);
  return out;
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

/** [N, H, W, 3] uint8 bytes -> [N, 3, H, W] float32 in [0, 1] on `device` (call inside a scope). */
function imagesToTensor(bytes: Uint8Array, n: number, h: number, w: number, device: string): Tensor {
  const u8 = tensor(bytes, { shape: [n, h, w, 3] }).to(device);
  return u8.permute(0, 3, 1, 2).contiguous().float().div(255);
}

function stackImages(samples: readonly Sample[], h: number, w: number): Uint8Array {
  const bytes = new Uint8Array(samples.length * h * w * 3);
  samples.forEach((s, i) => {
    bytes.set(rgbBytes(s), i * h * w * 3);
  });
  return bytes;
}

export function collateClassification(samples: readonly Sample[], o: CollateOptions = {}): ClassificationBatch {
  const { width, height } = commonSize(samples, "classification");
  const labels = new BigInt64Array(samples.length);
  samples.forEach((s, i) => {
    expectKind(s, "class", "classification");
    labels[i] = BigInt((s.target as ClassTarget).label);
  });
  const device = o.device ?? "cpu";
  const t = keep(
    scope(() => ({
      hr: imagesToTensor(stackImages(samples, height, width), samples.length, height, width, device),
      labels: tensor(labels).to(device),
    })),
  );
  return { task: "classification", ids: samples.map((s) => s.id), ...t };
}

export function collateSegmentation(samples: readonly Sample[], o: CollateOptions = {}): SegmentationBatch {
  const { width, height } = commonSize(samples, "segmentation");
  const masks = new Uint8Array(samples.length * height * width);
  samples.forEach((s, i) => {
    expectKind(s, "mask", "segmentation");
    const m = s.target as MaskTarget;
    check(m.width === width && m.height === height, () => `segmentation collate: mask of ${s.id} is not aligned`);
    masks.set(m.mask, i * height * width);
  });
  const device = o.device ?? "cpu";
  const t = keep(
    scope(() => ({
      hr: imagesToTensor(stackImages(samples, height, width), samples.length, height, width, device),
      masks: tensor(masks, { shape: [samples.length, height, width] })
        .to(device)
        .long(),
    })),
  );
  return { task: "segmentation", ids: samples.map((s) => s.id), ...t };
}

/**
 * Pads every image at the right/bottom to the batch's max height/width rounded up to a multiple of `scale`
 * (methods.md A4): reflect when both pads are smaller than the image's sides (reflection needs pad < side), else
 * replicate. Boxes are untouched (padding at the right/bottom does not move pixels).
 */
export function collateDetection(samples: readonly Sample[], o: DetectionCollateOptions = {}): DetectionBatch {
  check(samples.length > 0, () => "detection collate: empty batch");
  const scale = o.scale ?? 1;
  check(Number.isInteger(scale) && scale >= 1, () => `detection collate: scale must be an integer >= 1, got ${scale}`);
  for (const s of samples) expectKind(s, "boxes", "detection");
  const hp = Math.ceil(Math.max(...samples.map((s) => s.image.height)) / scale) * scale;
  const wp = Math.ceil(Math.max(...samples.map((s) => s.image.width)) / scale) * scale;
  const device = o.device ?? "cpu";
  const t = keep(
    scope(() => {
      const padded = samples.map((s) => {
        const { width: w, height: h } = s.image;
        const img = imagesToTensor(rgbBytes(s), 1, h, w, device); // [1, 3, h, w]
        const ph = hp - h;
        const pw = wp - w;
        if (ph === 0 && pw === 0) return img;
        return F.pad(img, [0, pw, 0, ph], ph < h && pw < w ? "reflect" : "replicate");
      });
      const targets = samples.map((s) => {
        const b = s.target as BoxTarget;
        const k = b.labels.length;
        return {
          boxes: tensor(b.boxes.slice(0, k * 4), { shape: [k, 4] }).to(device),
          labels: tensor(BigInt64Array.from(b.labels, (v) => BigInt(v))).to(device),
        };
      });
      return { hr: cat(padded, 0), targets };
    }),
  );
  return {
    task: "detection",
    ids: samples.map((s) => s.id),
    hr: t.hr,
    targets: t.targets,
    sizes: samples.map((s) => [s.image.height, s.image.width]),
  };
}

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

/** The collate function of a task. */
export function collateFor(task: Task, o: DetectionCollateOptions = {}): (samples: readonly Sample[]) => Batch {
  switch (task) {
    case "classification":
      return (s) => collateClassification(s, o);
    case "segmentation":
      return (s) => collateSegmentation(s, o);
    case "detection":
      return (s) => collateDetection(s, o);
  }
}
