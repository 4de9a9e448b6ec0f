/**
 * Fixed interpolation "SR networks" (no parameters) so the LR baselines run through the same code as learned ones:
 * `bicubic` is torch's bicubic with align_corners false (SR4IR's bicubic arch), `bilinear` is torch's bilinear with
 * align_corners true (nn.UpsamplingBilinear2d, SR4IR's L→T setting).
 */
import { z } from "zod";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { TasksrError } from "../../errors.js";
import { defineArch } from "../registry.js";
import { SrModule } from "./base.js";

/** [N, C, h, w] -> [N, C, h·scale, w·scale] by bicubic or bilinear interpolation (not clamped). */
export class InterpolationUpsampler extends SrModule {
  constructor(
    scale: number,
    readonly mode: "bicubic" | "bilinear",
  ) {
    super(scale);
    if (!Number.isInteger(scale) || scale < 1) {
      throw new TasksrError("E_CONFIG", `interpolation scale must be a positive integer, got ${scale}`);
    }
  }
  protected upscale(x: Tensor): Tensor {
    return F.interpolate(x, { scaleFactor: this.scale, mode: this.mode, alignCorners: this.mode === "bilinear" });
  }
}

const schema = z.strictObject({ scale: z.number().int().positive().default(4) });

defineArch({
  kind: "sr",
  name: "bicubic",
  description: "bicubic upsampling (torch, align_corners false); no parameters",
  schema,
  build: (o) => new InterpolationUpsampler(o.scale, "bicubic"),
});

defineArch({
  kind: "sr",
  name: "bilinear",
  description: "bilinear upsampling (torch, align_corners true, as SR4IR's L→T); no parameters",
  schema,
  build: (o) => new InterpolationUpsampler(o.scale, "bilinear"),
});
