/**
 * Per-channel input normalisation, (x - mean) / std, as the first layer of every task network: the networks take RGB
 * in [0, 1] and normalise themselves, so SR outputs feed them directly and feature taps see exactly what the
 * reference computes. Mean and std are non-persistent buffers: they move with `.to()` but never appear in the state
 * dict, so keys stay torchvision's.
 */
import { tensor } from "../../engine/creation.js";
import type { Tensor } from "../../engine/tensor.js";
import { TasksrError } from "../../errors.js";
import { Module } from "../../nn/module.js";

/** ImageNet statistics used by every torchvision recognition model. */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

export interface NormalizeOptions {
  mean?: readonly number[];
  std?: readonly number[];
}

/** [N, C, H, W] -> [N, C, H, W] with C = mean.length. */
export class ImageNormalize extends Module {
  readonly mean: Tensor;
  readonly std: Tensor;

  constructor(o: NormalizeOptions = {}) {
    super();
    const mean = o.mean ?? IMAGENET_MEAN;
    const std = o.std ?? IMAGENET_STD;
    if (mean.length !== std.length || std.some((s) => !(s > 0))) {
      throw new TasksrError("E_CONFIG", `normalisation needs as many positive stds as means, got [${mean}] / [${std}]`);
    }
    this.mean = this.buffer("mean", tensor([...mean], { shape: [1, mean.length, 1, 1] }), false);
    this.std = this.buffer("std", tensor([...std], { shape: [1, std.length, 1, 1] }), false);
  }

  forward(x: Tensor): Tensor {
    return x.sub(this.mean).div(this.std);
  }
}
