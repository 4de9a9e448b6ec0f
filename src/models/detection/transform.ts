/**
 * Input handling of the detectors (torchvision's GeneralizedRCNNTransform): normalise, resize each image, pad the
 * batch; targets are resized with the images and detections mapped back to the input sizes. Every step is a
 * differentiable engine op, so a loss on the detector's features back-propagates into the input images.
 */
import { cat, tensor } from "../../engine/creation.js";
import { isFloating } from "../../engine/dtype.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { check } from "../../errors.js";
import { resizeBoxes, type Size } from "../boxes/ops.js";
import type { Detection, DetectionTarget, DetectorInput } from "./types.js";

/**
 * How images are resized: `minMax` scales each image so its short side is minSize unless the long side would
 * exceed maxSize (R-CNN); `fixed` resizes to [height, width] (SSD); `none` keeps the input size.
 */
export type ResizeMode =
  | { kind: "minMax"; minSize: number; maxSize: number }
  | { kind: "fixed"; size: readonly [height: number, width: number] }
  | { kind: "none" };

export interface TransformOptions {
  resize: ResizeMode;
  /** Per-channel mean and std in the network's channel order, on the [0, 1] scale: x' = (x - mean) / std. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** "bgr" reverses the channels before normalising (networks trained on BGR input, e.g. the original SSD). */
  channelOrder: "rgb" | "bgr";
  /** The padded batch size is a multiple of this (32 for R-CNN, 1 for SSD). */
  sizeDivisible: number;
}

export interface TransformedBatch {
  /** [N, 3, Hp, Wp] normalised, resized and zero-padded. */
  images: Tensor;
  /** Size of each image after resizing, before padding. */
  imageSizes: Size[];
  /** Size of each input image. */
  originalSizes: Size[];
  /** Targets with boxes in the resized images' pixels (when given). */
  targets?: DetectionTarget[];
}

/** ImageNet statistics (torchvision's R-CNN default). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export class DetectionTransform {
  constructor(readonly o: TransformOptions) {
    check(o.sizeDivisible >= 1, () => "DetectionTransform: sizeDivisible must be >= 1", "E_CONFIG");
  }

  /** Output size of an image after resizing (float32 scale as torchvision, then floor(size * scale)). */
  resizedSize(size: Size): Size {
    const r = this.o.resize;
    if (r.kind === "none") return size;
    if (r.kind === "fixed") return [r.size[0], r.size[1]];
    const lo = Math.min(size[0], size[1]);
    const hi = Math.max(size[0], size[1]);
    const scale = Math.min(Math.fround(Math.fround(r.minSize) / lo), Math.fround(Math.fround(r.maxSize) / hi));
    return [Math.floor(size[0] * scale), Math.floor(size[1] * scale)];
  }

  /** images: batch [N, 3, H, W] or list of [3, H, W]. */
  apply(images: DetectorInput, targets?: readonly DetectionTarget[]): TransformedBatch {
    return scope(() => {
      const list = Array.isArray(images) ? (images as readonly Tensor[]) : undefined;
      const batch = list === undefined ? (images as Tensor) : undefined;
      if (batch !== undefined) {
        check(
          batch.ndim === 4 && batch.shape[1] === 3,
          () => `detector input must be [N, 3, H, W], got [${batch.shape}]`,
        );
      }
      for (const im of list ?? []) {
        check(im.ndim === 3 && im.shape[0] === 3, () => `detector images must be [3, H, W], got [${im.shape}]`);
      }
      const originalSizes: Size[] = batch
        ? Array.from({ length: batch.size(0) }, () => [batch.size(2), batch.size(3)] as const)
        : list!.map((im) => [im.size(1), im.size(2)] as const);
      check(originalSizes.length > 0, () => "detector input has no images");
      check(
        targets === undefined || targets.length === originalSizes.length,
        () => `got ${targets?.length} targets for ${originalSizes.length} images`,
      );
      const imageSizes = originalSizes.map((s) => this.resizedSize(s));
      // A batch shares one size, so it is resized in one call (identical to resizing each image).
      const resized: Tensor[] = batch
        ? [this.#resize(this.#normalize(batch), imageSizes[0]!)]
        : list!.map((im, i) => this.#resize(this.#normalize(im.unsqueeze(0)), imageSizes[i]!));
      const div = this.o.sizeDivisible;
      const Hp = Math.ceil(Math.max(...imageSizes.map((s) => s[0])) / div) * div;
      const Wp = Math.ceil(Math.max(...imageSizes.map((s) => s[1])) / div) * div;
      const padded = resized.map((x) => {
        const [h, w] = [x.size(2), x.size(3)];
        return h === Hp && w === Wp ? x : F.pad(x, [0, Wp - w, 0, Hp - h]);
      });
      const out: TransformedBatch = {
        images: padded.length === 1 ? padded[0]! : cat(padded, 0),
        imageSizes,
        originalSizes,
      };
      if (targets !== undefined) {
        out.targets = targets.map((t, i) => {
          check(
            t.boxes.ndim === 2 && t.boxes.shape[1] === 4 && t.labels.ndim === 1 && t.labels.size(0) === t.boxes.size(0),
            () => `target ${i}: expected boxes [M, 4] and labels [M], got [${t.boxes.shape}] and [${t.labels.shape}]`,
          );
          check(t.labels.dtype === "int64", () => `target ${i}: labels must be int64, got ${t.labels.dtype}`);
          checkBoxesValid(t.boxes, i);
          // Floating boxes keep their dtype (torchvision's rule); integer ones become float32.
          const boxes = isFloating(t.boxes.dtype) ? t.boxes : t.boxes.to("float32");
          return { boxes: resizeBoxes(boxes, originalSizes[i]!, imageSizes[i]!), labels: t.labels };
        });
      }
      return out;
    });
  }

  /** Maps detection boxes from the resized images back to the input images. */
  postprocess(
    detections: readonly Detection[],
    imageSizes: readonly Size[],
    originalSizes: readonly Size[],
  ): Detection[] {
    return detections.map((d, i) => ({
      boxes: resizeBoxes(d.boxes, imageSizes[i]!, originalSizes[i]!),
      scores: d.scores,
      labels: d.labels,
    }));
  }

  #normalize(x: Tensor): Tensor {
    check(isFloating(x.dtype), () => `detector images must be floating point in [0, 1], got ${x.dtype}`);
    const rgb = this.o.channelOrder === "bgr" ? x.flip(1) : x;
    const mean = tensor([...this.o.mean], { device: x.device, dtype: x.dtype }).reshape(1, 3, 1, 1);
    const std = tensor([...this.o.std], { device: x.device, dtype: x.dtype }).reshape(1, 3, 1, 1);
    return rgb.sub(mean).div(std);
  }

  #resize(x: Tensor, size: Size): Tensor {
    if (this.o.resize.kind === "none" || (x.size(2) === size[0] && x.size(3) === size[1])) return x;
    return F.interpolate(x, { size: [size[0], size[1]], mode: "bilinear", alignCorners: false });
  }
}

/** Rejects boxes with x2 <= x1 or y2 <= y1 (they break matching and encoding), naming the first one. */
export function checkBoxesValid(boxes: Tensor, image: number): void {
  const bad = scope(() =>
    boxes
      .narrow(1, 2, 2)
      .le(boxes.narrow(1, 0, 2))
      .any(1)
      .nonzero()
      .squeeze(1)
      .toArray(),
  );
  if (bad.length > 0) {
    const b = scope(() => boxes.select(0, bad[0]!).toArray());
    check(
      false,
      () => `target ${image}: boxes must have positive width and height; box ${bad[0]} is [${b.join(", ")}]`,
    );
  }
}
