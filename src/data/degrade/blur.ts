/** Isotropic Gaussian blur of [N, C, H, W] images, applied before downscaling (TDSR's blur setting, methods.md B5). */

import { F, scope, type Tensor, tensor } from "../../engine/index.js";
import { check } from "../../errors.js";

/** Default kernel size for a sigma: covers +-3 sigma, odd. */
export const defaultBlurSize = (sigma: number): number => 2 * Math.ceil(3 * sigma) + 1;

/** [size * size] normalised Gaussian weights exp(-(x^2 + y^2) / (2 sigma^2)) centred on the middle tap. */
export function gaussianKernel(size: number, sigma: number): Float32Array {
  check(
    Number.isInteger(size) && size >= 1 && size % 2 === 1,
    () => `blur: kernel size must be an odd positive integer, got ${size}`,
  );
  check(sigma > 0, () => `blur: sigma must be positive, got ${sigma}`);
  const r = (size - 1) / 2;
  const w = new Float64Array(size * size);
  let sum = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = Math.exp(-((x - r) ** 2 + (y - r) ** 2) / (2 * sigma * sigma));
      w[y * size + x] = v;
      sum += v;
    }
  }
  return Float32Array.from(w, (v) => v / sum);
}

/**
 * Convolves each channel with the Gaussian; borders are mirrored (reflect, as BasicSR's filter2D), or repeated
 * when the image is too small to mirror the kernel radius. The caller owns the result.
 */
export function gaussianBlur(x: Tensor, sigma: number, size = defaultBlurSize(sigma)): Tensor {
  const k = gaussianKernel(size, sigma);
  const [, c, h, w] = x.shape as [number, number, number, number];
  const r = (size - 1) / 2;
  return scope(() => {
    const weight = tensor(k, { shape: [1, 1, size, size] })
      .to(x.device)
      .expand(c, 1, size, size); // [C, 1, k, k]
    const padded = F.pad(x, [r, r, r, r], r < h && r < w ? "reflect" : "replicate");
    return F.conv2d(padded, weight.contiguous(), undefined, { groups: c });
  });
}
