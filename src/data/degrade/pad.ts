/**
 * Padding HR images to a multiple of the scale before degradation, and cropping results back (methods.md A4):
 * SR4IR's segmentation eval pads right/bottom with replicate; its detection batches pad with reflect, falling back
 * to replicate where the pad is not smaller than the image side (reflect cannot mirror more than the image).
 */
import { F, scope, type Tensor } from "../../engine/index.js";

export type PadMode = "replicate" | "reflect";

export interface PaddedHr {
  /** [N, C, ceil(H/s) * s, ceil(W/s) * s] */
  x: Tensor;
  /** The size before padding: crop SR outputs back to it. */
  height: number;
  width: number;
}

/**
 * Pads [N, C, H, W] on the right and bottom up to multiples of `scale`. The caller owns `x` (a new tensor even
 * when no padding is needed, so it can always be disposed).
 */
export function padToMultiple(hr: Tensor, scale: number, mode: PadMode = "replicate"): PaddedHr {
  const [height, width] = [hr.shape[2]!, hr.shape[3]!];
  const padH = (scale - (height % scale)) % scale;
  const padW = (scale - (width % scale)) % scale;
  if (padH === 0 && padW === 0) return { x: hr.clone(), height, width };
  const reflect = mode === "reflect" && padH < height && padW < width;
  return { x: F.pad(hr, [0, padW, 0, padH], reflect ? "reflect" : "replicate"), height, width };
}

/** The top-left `height` x `width` of [N, C, H, W] (a view; dispose it like any tensor). */
export function cropTo(x: Tensor, height: number, width: number): Tensor {
  return scope(() => x.slice(2, 0, height).slice(3, 0, width));
}
