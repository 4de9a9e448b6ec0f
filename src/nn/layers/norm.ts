/** Normalisation layers (torch.nn / torchvision.ops layouts). */
import { cat, full, ones, zeros } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { Module } from "../module.js";

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

/** What SyncBatchNorm needs of a process group: a sum over ranks whose backward sums gradients over ranks. */
export interface RankSum {
  allreduceSumGrad(t: Tensor): Tensor;
}

/**
 * BatchNorm over channels of [N, C, H, W]; buffers running_mean, running_var, num_batches_tracked. With `sync` set
 * (syncBatchNorm), training batches are normalised with the statistics of all ranks' batches together.
 */
export class BatchNorm2d extends Module {
  sync: RankSum | undefined;
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
    if (this.training && this.sync) return this.#syncForward(x, this.sync);
    return F.batchNorm(x, this.runningMean, this.runningVar, {
      weight: this.weight,
      bias: this.bias,
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }

  /**
   * torch.nn.SyncBatchNorm's statistics: the mean and the biased variance over every rank's N*H*W values. Two
   * differentiable sums over ranks (of the values with the count, then of the squared deviations from the global
   * mean) rather than one of x and x^2, which would cancel catastrophically for channels with a large mean; the
   * backward of each sum reaches every rank's input, as one process's batch norm over the union of the batches.
   */
  #syncForward(x: Tensor, sync: RankSum): Tensor {
    const c = this.numFeatures;
    const [n, , h, w] = x.shape as [number, number, number, number];
    const first = sync.allreduceSumGrad(cat([x.sum([0, 2, 3]), full([1], n * h * w, { dtype: x.dtype })])); // [C + 1]
    const total = first.narrow(0, c, 1).item() as number;
    const mean = first.narrow(0, 0, c).div(total); // [C]
    const d = x.sub(mean.view(1, c, 1, 1)); // [N, C, H, W]
    const squares = sync.allreduceSumGrad(d.mul(d).sum([0, 2, 3])); // [C]
    // Running variance is unbiased, as in torch.
    F.runningStatsUpdate(this.runningMean, this.runningVar, mean, squares.div(Math.max(1, total - 1)), this.momentum);
    const y = d.mul(squares.div(total).add(this.eps).rsqrt().view(1, c, 1, 1));
    if (this.weight === undefined || this.bias === undefined) return y;
    return y.mul(this.weight.view(1, c, 1, 1)).add(this.bias.view(1, c, 1, 1));
  }
}

/** Turns every BatchNorm2d of `net` into a synchronised one over `group` (torch's convert_sync_batchnorm). */
export function convertSyncBatchNorm(net: Module<never[], unknown>, group: RankSum): number {
  let n = 0;
  for (const [, m] of net.namedModules()) {
    if (m instanceof BatchNorm2d) {
      m.sync = group;
      n++;
    }
  }
  return n;
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
