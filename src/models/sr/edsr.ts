/**
 * EDSR (Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution", CVPRW 2017) with
 * EDSR-PyTorch's layout, so its released weights load by name (strict):
 * `sub_mean`, `add_mean` (frozen 1×1 mean shifts), `head.0`, `body.{i}.body.{0,2}` (residual blocks), `body.{n}`,
 * `tail.0.{0,2,4}` (conv + PixelShuffle(2) per ×2 step, or one conv + PixelShuffle(3) for ×3), `tail.1`.
 *
 * Inputs are RGB in [0, 1]; like SR4IR's copy, the network works in [0, 255] inside (×255, minus the DIV2K mean) and
 * divides by 255 at the end, which is what the released weights expect.
 *
 * ```ts
 * const sr = new Edsr({ scale: 4 });          // EDSR-baseline: 16 blocks × 64 features, 1,517,571 trainable params
 * const y = sr.call(x);                       // [N, 3, h, w] -> [N, 3, 4h, 4w]
 * ```
 */
import { z } from "zod";
import { noGrad } from "../../engine/autograd.js";
import { eye, tensor } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { TasksrError } from "../../errors.js";
import { ReLU } from "../../nn/layers/activation.js";
import { Sequential } from "../../nn/layers/container.js";
import { Conv2d } from "../../nn/layers/conv.js";
import { PixelShuffle } from "../../nn/layers/misc.js";
import { Module } from "../../nn/module.js";
import { defineArch } from "../registry.js";
import { SrModule, type SrPadOptions, srPadSchema } from "./base.js";

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------
export interface EdsrOptions extends SrPadOptions {
  /** 2, 3, 4 or 8. */
  scale: number;
  /** Residual blocks (default 16; the paper's large EDSR uses 32). */
  numBlocks?: number;
  /** Feature channels (default 64; large EDSR 256). */
  numFeatures?: number;
  /** Residual scaling inside each block (default 1; large EDSR 0.1). */
  resScale?: number;
  /** Pixel range the network works in (default 255, as the released weights). */
  imgRange?: number;
  /** RGB mean subtracted in [0, 1] units (default DIV2K's). */
  rgbMean?: readonly [number, number, number];
  /**
   * Learn a residual over the bicubic upsampling of the input (as DBPN-Pytorch's `--residual`; default false, as the
   * released weights). The last conv starts at zero, so the network starts exactly at bicubic: from-scratch training
   * on small CPU budgets then begins where a pretrained SR net (SR4IR's DIV2K init) would already be.
   */
  residual?: boolean;
}

/** Mean RGB of DIV2K's training images, in [0, 1]. */
export const DIV2K_MEAN = [0.4488, 0.4371, 0.404] as const;

// ---------------------------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------------------------
const conv3x3 = (cin: number, cout: number) => new Conv2d(cin, cout, 3, { padding: 1 });

/** Frozen 1×1 conv adding `sign · range · mean` per channel (std 1); `weight`/`bias` are never trained. */
export class MeanShift extends Conv2d {
  constructor(range: number, mean: readonly number[], sign: 1 | -1) {
    super(3, 3, 1);
    noGrad(() =>
      scope(() => {
        this.weight.copy_(eye(3).reshape(3, 3, 1, 1));
        this.bias!.copy_(tensor(mean.map((m) => sign * range * m)));
      }),
    );
    this.weight.requiresGrad = false;
    this.bias!.requiresGrad = false;
  }
}

/** conv → ReLU → conv, scaled and added to the input; keys `body.0`, `body.2`. */
export class EdsrResBlock extends Module {
  readonly body: Sequential;
  constructor(
    features: number,
    readonly resScale: number,
  ) {
    super();
    this.body = this.module(
      "body",
      new Sequential(conv3x3(features, features), new ReLU(), conv3x3(features, features)),
    );
  }
  forward(x: Tensor): Tensor {
    const r = this.body.call(x);
    return (this.resScale === 1 ? r : r.mul(this.resScale)).add(x); // [N, F, h, w]
  }
}

/** Sub-pixel upsampler: log2(s) × [conv F→4F, PixelShuffle(2)], or conv F→9F, PixelShuffle(3) for ×3. */
export class EdsrUpsampler extends Sequential {
  constructor(scale: number, features: number) {
    const layers: Module<[Tensor], Tensor>[] = [];
    if (scale === 3) {
      layers.push(conv3x3(features, 9 * features), new PixelShuffle(3));
    } else if (scale === 2 || scale === 4 || scale === 8) {
      for (let s = scale; s > 1; s /= 2) layers.push(conv3x3(features, 4 * features), new PixelShuffle(2));
    } else {
      throw new TasksrError("E_CONFIG", `EDSR scale must be 2, 3, 4 or 8, got ${scale}`);
    }
    super(...layers);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------------------------
export class Edsr extends SrModule {
  readonly subMean: MeanShift;
  readonly addMean: MeanShift;
  readonly head: Sequential;
  readonly body: Sequential;
  readonly tail: Sequential;
  readonly imgRange: number;
  readonly residual: boolean;

  constructor(o: EdsrOptions) {
    super(o.scale, o);
    const blocks = o.numBlocks ?? 16;
    const f = o.numFeatures ?? 64;
    const mean = o.rgbMean ?? DIV2K_MEAN;
    this.imgRange = o.imgRange ?? 255;
    this.subMean = this.module("sub_mean", new MeanShift(this.imgRange, mean, -1));
    this.addMean = this.module("add_mean", new MeanShift(this.imgRange, mean, 1));
    this.head = this.module("head", new Sequential(conv3x3(3, f)));
    const res = Array.from({ length: blocks }, () => new EdsrResBlock(f, o.resScale ?? 1));
    this.body = this.module("body", new Sequential(...res, conv3x3(f, f)));
    const last = conv3x3(f, 3);
    this.tail = this.module("tail", new Sequential(new EdsrUpsampler(o.scale, f), last));
    this.residual = o.residual ?? false;
    if (this.residual) noGrad(() => scope(() => [last.weight.zero_(), last.bias!.zero_()]));
  }

  protected upscale(x: Tensor): Tensor {
    const h = this.head.call(this.subMean.call(x.mul(this.imgRange))); // [N, F, h, w]
    const res = this.body.call(h).add(h); // global skip
    if (this.residual) {
      // The mean cancels in a residual: bicubic(x) + tail / range.
      const up = F.interpolate(x, { scaleFactor: this.scale, mode: "bicubic" }); // [N, 3, h·s, w·s]
      return this.tail.call(res).div(this.imgRange).add(up);
    }
    return this.addMean.call(this.tail.call(res)).div(this.imgRange); // [N, 3, h·s, w·s]
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------------------------
const scale = z.union([z.literal(2), z.literal(3), z.literal(4), z.literal(8)]).default(4);

defineArch({
  kind: "sr",
  name: "edsr",
  description: "EDSR, configurable (defaults = EDSR-baseline: 16 blocks × 64 features, res_scale 1)",
  schema: z.strictObject({
    scale,
    numBlocks: z.number().int().positive().default(16),
    numFeatures: z.number().int().positive().default(64),
    resScale: z.number().positive().default(1),
    imgRange: z.number().positive().default(255),
    residual: z.boolean().default(false),
    ...srPadSchema,
  }),
  build: (o) => new Edsr(o),
});

defineArch({
  kind: "sr",
  name: "edsr-baseline",
  description: "EDSR-baseline (16 × 64), loads EDSR-PyTorch's edsr_baseline_x{2,3,4} weights by name",
  schema: z.strictObject({ scale, ...srPadSchema }),
  build: (o) => new Edsr(o),
});

defineArch({
  kind: "sr",
  name: "edsr-tiny",
  description: "EDSR with 4 blocks × 32 features, for CPU experiments; option residual (over bicubic)",
  schema: z.strictObject({ scale, residual: z.boolean().default(false), ...srPadSchema }),
  build: (o) => new Edsr({ ...o, numBlocks: 4, numFeatures: 32 }),
});
