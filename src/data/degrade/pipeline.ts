/**
 * HR -> LR synthesis as one configurable, seeded pipeline, always in this order:
 *   blur (Gaussian, optional) -> downscale (torch-bicubic | matlab-bicubic) -> noise (Gaussian, optional)
 *   -> JPEG (optional).
 * `torch-bicubic` is SR4IR's protocol (methods.md A4) and `matlab-bicubic` the SR benchmarks' (methods.md D);
 * blur, noise and JPEG cover TDSR's and real-world degradations (B5), whose parameters the papers leave open.
 * The output is always on 8-bit levels: each downscale and the noise step quantise, JPEG decodes to 8 bits.
 *
 * ```ts
 * const deg = new Degradation({ method: "torch-bicubic", scale: 4, noise: { sigma: 5 }, seed: 1 });
 * const lr = deg.applySync(hr); // [N, 3, H, W] -> [N, 3, H/4, W/4]
 * ```
 */
import { z } from "zod";
import { Generator, keep, scope, type Tensor } from "../../engine/index.js";
import { TasksrError } from "../../errors.js";
import type { Image } from "../io/image.js";
import type { Shard } from "../loader/sampler.js";
import { parseOptions } from "../options.js";
import { gaussianBlur } from "./blur.js";
import { imagesToTensor, tensorToImages } from "./image_tensor.js";
import { jpegTensor } from "./jpeg.js";
import { matlabBicubicDown } from "./matlab_bicubic.js";
import { addGaussianNoise } from "./noise.js";
import { torchBicubicDown } from "./torch_bicubic.js";

export const degradeSchema = z.strictObject({
  method: z.enum(["torch-bicubic", "matlab-bicubic"]).default("torch-bicubic"),
  /** Integer downscaling factor s (1 = no resize). */
  scale: z.number().int().min(1),
  /** Gaussian blur before downscaling; `size` (odd) defaults to 2 * ceil(3 sigma) + 1. */
  blur: z
    .strictObject({
      sigma: z.number().positive(),
      size: z
        .number()
        .int()
        .positive()
        .refine((k) => k % 2 === 1, "must be odd")
        .optional(),
    })
    .optional(),
  /** Additive Gaussian noise after downscaling; sigma on the [0, 255] scale. */
  noise: z.strictObject({ sigma: z.number().positive() }).optional(),
  /** JPEG compression last; quality 1..100. */
  jpeg: z.strictObject({ quality: z.number().int().min(1).max(100) }).optional(),
  /** Seed of the noise stream. */
  seed: z.number().int().min(0).max(0xffffffff).default(0),
});
export type DegradeOptions = z.input<typeof degradeSchema>;
export type DegradeConfig = z.output<typeof degradeSchema>;

export class Degradation {
  readonly config: DegradeConfig;
  readonly #generator: Generator;

  /** Distributed training: the batches are this rank's parts of global batches (noise.ts). */
  readonly shard: Shard | undefined;

  constructor(options: DegradeOptions, where = "degrade", shard?: Shard) {
    this.config = parseOptions(degradeSchema, options, where);
    this.shard = shard;
    this.#generator = new Generator(this.config.seed);
  }

  /** Restarts the noise stream from `seed` (e.g. one seed per file, so results do not depend on file order). */
  reseed(seed: number): void {
    this.#generator.manualSeed(seed);
  }

  /** The noise stream; training checkpoints save and restore its state so a resumed run draws the same noise. */
  get generator(): Generator {
    return this.#generator;
  }

  /**
   * Blur, downscale and noise, all in the engine on the input's device: [N, C, H, W] in [0, 1] ->
   * [N, C, floor(H/s), floor(W/s)]. JPEG needs the encoder, so a pipeline with JPEG must use `apply`.
   * The caller owns the result.
   */
  applySync(hr: Tensor): Tensor {
    if (this.config.jpeg !== undefined) {
      throw new TasksrError(
        "E_CONFIG",
        "degrade.jpeg: JPEG runs in the image encoder; use apply() (async), not applySync()",
      );
    }
    return this.#engineStages(hr);
  }

  #engineStages(hr: Tensor): Tensor {
    const c = this.config;
    return scope(() => {
      const blurred = c.blur === undefined ? hr : gaussianBlur(hr, c.blur.sigma, c.blur.size);
      const lr =
        c.method === "torch-bicubic" ? torchBicubicDown(blurred, c.scale) : matlabBicubicDown(blurred, c.scale);
      return c.noise === undefined ? lr : addGaussianNoise(lr, c.noise.sigma, this.#generator, this.shard);
    });
  }

  /** The whole pipeline, JPEG included. The caller owns the result. */
  async apply(hr: Tensor): Promise<Tensor> {
    const c = this.config;
    if (c.jpeg === undefined) return this.applySync(hr);
    // Owned here across the await: no scope may span it.
    const lr = keep(this.#engineStages(hr));
    try {
      return await jpegTensor(lr, c.jpeg.quality);
    } finally {
      lr.dispose();
    }
  }

  /** One 8-bit image through the pipeline (keeps grey images grey). */
  async applyToImage(img: Image): Promise<Image> {
    const hr = imagesToTensor([img]);
    try {
      const lr = await this.apply(hr);
      try {
        return tensorToImages(lr)[0]!;
      } finally {
        lr.dispose();
      }
    } finally {
      hr.dispose();
    }
  }
}
