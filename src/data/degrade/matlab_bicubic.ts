/**
 * The SR benchmarks' LR synthesis (methods.md D, BasicSR): crop HR to a multiple of s ("modcrop"), then MATLAB
 * imresize(HR, 1/s, 'bicubic') on 8-bit values (antialiased Keys cubic, a = -0.5). Runs per image in JS.
 */

import type { Tensor } from "../../engine/index.js";
import { check } from "../../errors.js";
import type { Image } from "../io/image.js";
import { imresizeMatlab, modcrop } from "../resize/matlab.js";
import { imagesToTensor, tensorToImages } from "./image_tensor.js";

/** One 8-bit image: modcrop, then MATLAB bicubic by 1/scale -> floor(H/s) x floor(W/s). */
export function matlabBicubicImage(hr: Image, scale: number): Image {
  check(Number.isInteger(scale) && scale >= 1, () => `matlab-bicubic: scale must be a positive integer, got ${scale}`);
  check(
    hr.width >= scale && hr.height >= scale,
    () => `matlab-bicubic: HR ${hr.width}x${hr.height} is smaller than the scale ${scale}`,
  );
  return imresizeMatlab(modcrop(hr, scale), 1 / scale);
}

/**
 * [N, C, H, W] in [0, 1] -> [N, C, floor(H/s), floor(W/s)] on the same device. Float inputs (e.g. after blur) are
 * rounded to 8 bits first, since MATLAB's bicubic here is defined on uint8 images. The caller owns the result.
 */
export function matlabBicubicDown(hr: Tensor, scale: number): Tensor {
  const lr = tensorToImages(hr).map((im) => matlabBicubicImage(im, scale));
  return imagesToTensor(lr, hr.device);
}
