/** Fully connected layer: weight [out, in], bias [out]; x [..., in] -> [..., out]. */
import { empty } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { defaultBiasInit_, defaultWeightInit_ } from "../init.js";
import { Module } from "../module.js";

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: { bias?: boolean } = {},
  ) {
    super();
    this.weight = this.param("weight", defaultWeightInit_(empty([outFeatures, inFeatures])));
    this.bias =
      (o.bias ?? true)
        ? this.param("bias", defaultBiasInit_(empty([outFeatures]), [outFeatures, inFeatures]))
        : undefined;
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}
