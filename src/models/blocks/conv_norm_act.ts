/**
 * Conv → norm → activation as one Sequential, with torchvision's `Conv2dNormActivation` layout: children "0" (conv),
 * "1" (norm, when present) and the activation after it, so state-dict keys read `<name>.0.weight`, `<name>.1.running_mean`.
 *
 * ```ts
 * const stem = new Conv2dNormActivation(3, 16, 3, { stride: 2, norm: batchNorm({ eps: 1e-3, momentum: 0.01 }),
 *   activation: () => new Hardswish() }); // [N, 3, H, W] -> [N, 16, H/2, W/2]
 * ```
 */
import type { Tensor } from "../../engine/tensor.js";
import { ReLU } from "../../nn/layers/activation.js";
import { Sequential } from "../../nn/layers/container.js";
import { Conv2d } from "../../nn/layers/conv.js";
import { BatchNorm2d, type BatchNormOptions, FrozenBatchNorm2d } from "../../nn/layers/norm.js";
import type { Module } from "../../nn/module.js";

/** Builds a normalisation layer for `channels` channels. */
export type NormFactory = (channels: number) => Module<[Tensor], Tensor>;
/** Builds an activation layer. */
export type ActivationFactory = () => Module<[Tensor], Tensor>;

/** BatchNorm2d with the given eps/momentum (torch defaults 1e-5 / 0.1). */
export const batchNorm =
  (o: BatchNormOptions = {}): NormFactory =>
  (c) =>
    new BatchNorm2d(c, o);
/** torchvision.ops.FrozenBatchNorm2d (fixed statistics and affine parameters, all buffers). */
export const frozenBatchNorm =
  (eps = 1e-5): NormFactory =>
  (c) =>
    new FrozenBatchNorm2d(c, eps);

export interface ConvNormActOptions {
  stride?: number;
  /** Default (kernel - 1) / 2 * dilation, which keeps the size at stride 1. */
  padding?: number;
  dilation?: number;
  groups?: number;
  /** Default BatchNorm2d with torch defaults; null for no normalisation. */
  norm?: NormFactory | null;
  /** Default ReLU; null for none. */
  activation?: ActivationFactory | null;
  /** Default: a bias only when there is no normalisation (the norm's shift makes it redundant). */
  bias?: boolean;
}

/** [N, cin, H, W] -> [N, cout, H', W'] */
export class Conv2dNormActivation extends Sequential {
  readonly conv: Conv2d;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number,
    o: ConvNormActOptions = {},
  ) {
    const dilation = o.dilation ?? 1;
    const norm = o.norm === undefined ? batchNorm() : o.norm;
    const activation = o.activation === undefined ? () => new ReLU() : o.activation;
    const conv = new Conv2d(inChannels, outChannels, kernelSize, {
      stride: o.stride ?? 1,
      padding: o.padding ?? Math.floor((kernelSize - 1) / 2) * dilation,
      dilation,
      groups: o.groups ?? 1,
      bias: o.bias ?? norm === null,
    });
    const layers: Module<[Tensor], Tensor>[] = [conv];
    if (norm !== null) layers.push(norm(outChannels));
    if (activation !== null) layers.push(activation());
    super(...layers);
    this.conv = conv;
  }
}
