/** Normalisation layers (torch.nn / torchvision.ops layouts). */
import { ones, zeros } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { Module } from "../module.js";

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

/** BatchNorm over channels of [N, C, H, W]; buffers running_mean, running_var, num_batches_tracked. */
export class BatchNorm2d extends Module {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    o: BatchNormOptions = {},
  ) {
    super();
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    const affine = o.affine ?? true;
    this.weight = affine ? this.param("weight", ones([numFeatures])) : undefined;
    this.bias = affine ? this.param("bias", zeros([numFeatures])) : undefined;
    this.runningMean = this.buffer("running_mean", zeros([numFeatures]));
    this.runningVar = this.buffer("running_var", ones([numFeatures]));
    this.numBatchesTracked = this.buffer("num_batches_tracked", zeros([], { dtype: "int64" }));
  }

  forward(x: Tensor): Tensor {
    if (this.training) this.numBatchesTracked.add_(1);
    return F.batchNorm(x, this.runningMean, this.runningVar, {
      weight: this.weight,
      bias: this.bias,
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/**
 * BatchNorm with fixed statistics and affine parameters (torchvision.ops.FrozenBatchNorm2d): all four are buffers,
 * never trained; used by detection backbones.
 */
export class FrozenBatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(
    readonly numFeatures: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.buffer("weight", ones([numFeatures]));
    this.bias = this.buffer("bias", zeros([numFeatures]));
    this.runningMean = this.buffer("running_mean", zeros([numFeatures]));
    this.runningVar = this.buffer("running_var", ones([numFeatures]));
  }

  protected override ignoredStateKeys(): readonly string[] {
    return ["num_batches_tracked"];
  }

  forward(x: Tensor): Tensor {
    // y = x * scale + shift with scale = w / sqrt(var + eps), shift = b - mean * scale   [N, C, H, W]
    const scale = this.weight.mul(this.runningVar.add(this.eps).rsqrt());
    const shift = this.bias.sub(this.runningMean.mul(scale));
    return x.mul(scale.reshape(1, -1, 1, 1)).add(shift.reshape(1, -1, 1, 1));
  }
}

export class GroupNorm extends Module {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    readonly eps = 1e-5,
    affine = true,
  ) {
    super();
    this.weight = affine ? this.param("weight", ones([numChannels])) : undefined;
    this.bias = affine ? this.param("bias", zeros([numChannels])) : undefined;
  }

  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;

  constructor(
    readonly normalizedShape: readonly number[],
    readonly eps = 1e-5,
    affine = true,
  ) {
    super();
    this.weight = affine ? this.param("weight", ones(normalizedShape)) : undefined;
    this.bias = affine ? this.param("bias", zeros(normalizedShape)) : undefined;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}
