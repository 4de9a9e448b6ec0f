/** Convolution layers with torch.nn's parameter layout and default initialisation. */
import { empty } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { defaultBiasInit_, defaultWeightInit_ } from "../init.js";
import { Module } from "../module.js";

type Pair = number | readonly [number, number];
const pair = (p: Pair): [number, number] => (typeof p === "number" ? [p, p] : [p[0], p[1]]);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** weight [out, in/groups, kh, kw], bias [out]; x [N, in, H, W] -> [N, out, H', W']. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  readonly options: Required<Conv2dOptions>;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    o: Conv2dOptions = {},
  ) {
    super();
    this.options = { stride: 1, padding: 0, dilation: 1, groups: 1, bias: true, ...o };
    const [kh, kw] = pair(kernelSize);
    const shape = [outChannels, inChannels / this.options.groups, kh, kw];
    this.weight = this.param("weight", defaultWeightInit_(empty(shape)));
    this.bias = this.options.bias ? this.param("bias", defaultBiasInit_(empty([outChannels]), shape)) : undefined;
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.options);
  }
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

/** weight [in, out/groups, kh, kw]; x [N, in, H, W] -> [N, out, (H-1)s - 2p + d(k-1) + op + 1, ...]. */
export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  readonly options: Required<ConvTranspose2dOptions>;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    o: ConvTranspose2dOptions = {},
  ) {
    super();
    this.options = { stride: 1, padding: 0, dilation: 1, groups: 1, bias: true, outputPadding: 0, ...o };
    const [kh, kw] = pair(kernelSize);
    const shape = [inChannels, outChannels / this.options.groups, kh, kw];
    this.weight = this.param("weight", defaultWeightInit_(empty(shape)));
    this.bias = this.options.bias ? this.param("bias", defaultBiasInit_(empty([outChannels]), shape)) : undefined;
  }

  forward(x: Tensor): Tensor {
    return F.convTranspose2d(x, this.weight, this.bias, this.options);
  }
}
