/** Parameter-free utility layers. */
import { empty } from "../../engine/creation.js";
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
/**
 * Stochastic depth (timm's DropPath): in training mode each sample's residual branch is zeroed with probability p and
 * the kept ones scaled by 1/(1-p); the identity otherwise. [N, ...] -> [N, ...]
 */
export class DropPath extends Module {
  constructor(readonly p = 0) {
    super();
  }
  forward(x: Tensor): Tensor {
    if (this.p === 0 || !this.training) return x;
    const keep = 1 - this.p;
    const shape = [x.size(0), ...Array<number>(x.ndim - 1).fill(1)]; // [N, 1, ...]
    const draw = empty(shape, { dtype: x.dtype, device: x.device }).bernoulli_(keep);
    return x.mul(keep > 0 ? draw.div_(keep) : draw);
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
