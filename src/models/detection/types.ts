/**
 * The detector contract used by the training recipes. Both detectors (SSD, Faster R-CNN) take RGB images in
 * [0, 1], apply their own resizing and normalisation, and report boxes in pixels of the images they were given.
 *
 * Labels: 0 is background, object classes are 1..numClasses-1 (torchvision's convention). A dataset's contiguous
 * 0-based class k is detector label k + 1, so a detector for a dataset with K classes has numClasses = K + 1
 * (VOC: 20 classes -> 21). `detectionTargetFromBoxes` does the conversion.
 */

import type { BoxTarget } from "../../data/types.js";
import { tensor } from "../../engine/creation.js";
import type { Tensor } from "../../engine/tensor.js";
import type { TaskNetwork, WithTaps } from "../types.js";

/** Ground truth of one image: boxes [M, 4] float xyxy in pixels of the input image, labels [M] int64 in 1..C-1. */
export interface DetectionTarget {
  boxes: Tensor;
  labels: Tensor;
}

/** Detections of one image: boxes [K, 4] xyxy pixels of the input image, scores [K], labels [K] int64. */
export interface Detection {
  boxes: Tensor;
  scores: Tensor;
  labels: Tensor;
}

/**
 * `detections` is filled (one entry per image) when no targets are given; `losses` (named as torchvision names
 * them) when targets are given, whatever the train/eval mode, with training-time sampling settings (SR4IR's rule).
 */
export interface DetectorOutput {
  detections: Detection[];
  losses?: Record<string, Tensor>;
}

/** A batch [N, 3, H, W] in [0, 1], or a list of [3, H_i, W_i] images of any sizes. */
export type DetectorInput = Tensor | readonly Tensor[];

export interface Detector extends TaskNetwork<DetectorOutput> {
  /** Number of classes including background. */
  readonly numClasses: number;
  /** Runs the detector; returns its output and the requested feature maps (names from `tapNames`). */
  forwardTaps(
    images: DetectorInput,
    taps: readonly string[],
    targets?: readonly DetectionTarget[],
  ): WithTaps<DetectorOutput>;
}

/** Converts a dataset box target (contiguous 0-based labels) to a detector target (labels + 1) on `device`. */
export function detectionTargetFromBoxes(t: BoxTarget, device = "cpu"): DetectionTarget {
  const n = t.labels.length;
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; i++) labels[i] = BigInt(t.labels[i]! + 1);
  return {
    boxes: tensor(t.boxes, { shape: [n, 4], device }),
    labels: tensor(labels, { device }),
  };
}
