/** Additive white Gaussian noise after downscaling (TDSR's noise setting, methods.md B5), then 8-bit quantisation. */

import { type Generator, randn, scope, type Tensor } from "../../engine/index.js";
import { check } from "../../errors.js";
import type { Shard } from "../loader/sampler.js";
import { quantize } from "./torch_bicubic.js";

/**
 * x + N(0, (sigma / 255)^2) per value, quantised back to 8-bit levels; `sigma` is on the [0, 255] scale. Draws
 * from `generator` on the CPU so results do not depend on the device. With a shard, x is this rank's part of a
 * global batch world times as large: the noise of the whole global batch is drawn and this rank's rows are kept, so
 * every rank's generator stays in step and the noise equals one process's at the global batch size. The caller
 * owns the result.
 */
export function addGaussianNoise(x: Tensor, sigma: number, generator: Generator, shard?: Shard): Tensor {
  check(sigma >= 0, () => `noise: sigma must be >= 0, got ${sigma}`);
  return scope(() => {
    const [rows, ...rest] = x.shape as [number, ...number[]];
    const world = shard?.world ?? 1;
    const drawn = randn([rows * world, ...rest], { generator }); // [world * N, C, h, w]
    const n = (world > 1 ? drawn.narrow(0, shard!.rank * rows, rows) : drawn).to(x.device);
    return quantize(x.add(n.mul(sigma / 255)));
  });
}
