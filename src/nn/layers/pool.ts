/** Pooling layers over [N, C, H, W]. */
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { Module } from "../module.js";

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: F.Pair,
    readonly o: F.PoolOptions & { dilation?: F.Pair } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.o);
  }
}
export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: F.Pair,
    readonly o: F.PoolOptions & { countIncludePad?: boolean } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.o);
  }
}
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: F.Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}
