/**
 * What every SR network shares: the scale, and running on inputs of any size. A network that needs H and W to be
 * multiples of some n (window attention, strided encoders, fixed export grids) pads the input at the bottom/right,
 * runs, and crops the output back to exactly (H·s, W·s), so callers never see the padding.
 */
import { z } from "zod";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { TasksrError } from "../../errors.js";
import { traced } from "../../export/trace.js";
import { Module } from "../../nn/module.js";
import type { SrNetwork } from "../types.js";

export type PadMode = "replicate" | "reflect";

export interface SrPadOptions {
  /** Input H and W are padded up to multiples of this before the network runs (default 1: no padding). */
  sizeMultiple?: number;
  /** How the padding is filled (default "replicate"); reflect falls back to replicate where the input is too small. */
  padMode?: PadMode;
}

/**
 * Runs `fn` on `x` [N, C, H, W] padded to multiples of `multiple`, then crops its output [N, C', H'·s, W'·s] to
 * [N, C', H·s, W·s]. The padding and the crop are one traced op each (`srPad`, `srCrop`; src/export/ops.ts), since
 * the pad (multiple − H mod multiple) is not affine in H; so a network padded here exports with dynamic sizes.
 */
export function forwardPadded(x: Tensor, scale: number, o: SrPadOptions, fn: (padded: Tensor) => Tensor): Tensor {
  const multiple = o.sizeMultiple ?? 1;
  if (multiple === 1) return fn(x);
  const padMode = o.padMode ?? "replicate";
  const padded = traced("srPad", [x], [multiple, padMode], () => {
    const [h, w] = [x.size(2), x.size(3)];
    const ph = (multiple - (h % multiple)) % multiple;
    const pw = (multiple - (w % multiple)) % multiple;
    if (ph === 0 && pw === 0) return x.alias();
    // torch's reflect padding needs pad < size; a tiny input is replicated instead.
    const mode = padMode === "reflect" && ph < h && pw < w ? "reflect" : "replicate";
    return F.pad(x, [0, pw, 0, ph], mode);
  });
  return cropToScale(fn(padded), x, scale);
}

/** y [N, C, H', W'] cut to [N, C, H·s, W·s] for x [N, C', H, W] (one traced op `srCrop`). */
export const cropToScale = (y: Tensor, x: Tensor, scale: number): Tensor =>
  traced("srCrop", [y, x], [scale], () => y.narrow(2, 0, x.size(2) * scale).narrow(3, 0, x.size(3) * scale));

/** Base of the SR networks: subclasses implement `upscale` for inputs already padded to `sizeMultiple`. */
export abstract class SrModule extends Module implements SrNetwork {
  readonly padding: Required<SrPadOptions>;

  constructor(
    readonly scale: number,
    o: SrPadOptions = {},
  ) {
    super();
    const sizeMultiple = o.sizeMultiple ?? 1;
    if (!Number.isInteger(sizeMultiple) || sizeMultiple < 1) {
      throw new TasksrError("E_CONFIG", `sizeMultiple must be a positive integer, got ${sizeMultiple}`);
    }
    this.padding = { sizeMultiple, padMode: o.padMode ?? "replicate" };
  }

  /** [N, 3, h, w] in [0, 1] -> [N, 3, h·scale, w·scale] (not clamped). */
  forward(x: Tensor): Tensor {
    return forwardPadded(x, this.scale, this.padding, (p) => this.upscale(p));
  }

  /** [N, 3, h, w] with h, w multiples of `padding.sizeMultiple` -> [N, 3, h·scale, w·scale]. */
  protected abstract upscale(x: Tensor): Tensor;
}

/** Schema fields of SrPadOptions, shared by every SR architecture's registration. */
export const srPadSchema = {
  sizeMultiple: z.number().int().positive().default(1),
  padMode: z.enum(["replicate", "reflect"]).default("replicate"),
};
