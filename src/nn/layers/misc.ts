/** Parameter-free utility layers. */
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { Module } from "../module.js";

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
/** Zeroes elements with probability p in training mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}
/** [N, C*r*r, H, W] -> [N, C, H*r, W*r] */
export class PixelShuffle extends Module {
  constructor(readonly upscaleFactor: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.pixelShuffle(x, this.upscaleFactor);
  }
}
/** nn.Upsample: resize by size or scale factor with F.interpolate semantics. */
export class Upsample extends Module {
  constructor(readonly o: F.InterpolateOptions) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.interpolate(x, this.o);
  }
}
