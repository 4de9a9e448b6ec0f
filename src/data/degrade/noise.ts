/** Additive white Gaussian noise after downscaling (TDSR's noise setting, methods.md B5), then 8-bit quantisation. */

import { type Generator, randn, scope, type Tensor } from "../../engine/index.js";
import { check } from "../../errors.js";
import { quantize } from "./torch_bicubic.js";

/**
 * x + N(0, (sigma / 255)^2) per value, quantised back to 8-bit levels; `sigma` is on the [0, 255] scale. Draws
 * from `generator` on the CPU so results do not depend on the device. The caller owns the result.
 */
export function addGaussianNoise(x: Tensor, sigma: number, generator: Generator): Tensor {
  check(sigma >= 0, () => `noise: sigma must be >= 0, got ${sigma}`);
  return scope(() => {
    const n = randn([...x.shape], { generator }).to(x.device);
    return quantize(x.add(n.mul(sigma / 255)));
  });
}
