/**
 * SR4IR's LR synthesis (methods.md A4): LR = Q(bicubic(HR, 1/s)) with PyTorch's F.interpolate (bicubic,
 * align_corners=False, no antialiasing, A = -0.75, clamped borders), then Q snaps to 8-bit levels.
 */

import { F, scope, type Tensor } from "../../engine/index.js";
import { check } from "../../errors.js";

/** Q(x) = clamp(round(255 x), 0, 255) / 255, rounding half to even as torch.round (126.5 -> 126). */
export function quantize(x: Tensor): Tensor {
  return scope(() => x.mul(255).round().clamp(0, 255).div(255));
}

/** [N, C, H, W] in [0, 1] -> [N, C, floor(H/s), floor(W/s)], quantised. The caller owns the result. */
export function torchBicubicDown(hr: Tensor, scale: number): Tensor {
  check(hr.ndim === 4, () => `torchBicubicDown: expected HR [N, C, H, W], got [${hr.shape}]`);
  check(
    hr.shape[2]! >= scale && hr.shape[3]! >= scale,
    () => `torchBicubicDown: HR ${hr.shape[2]}x${hr.shape[3]} is smaller than the scale ${scale}`,
  );
  return scope(() =>
    quantize(F.interpolate(hr, { scaleFactor: 1 / scale, mode: "bicubic", alignCorners: false, antialias: false })),
  );
}
