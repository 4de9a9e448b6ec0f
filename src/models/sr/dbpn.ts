/**
 * D-DBPN (Haris et al., "Deep Back-Projection Networks for Super-Resolution", CVPR 2018) with the layout of
 * DBPN-Pytorch's `dbpn.py` (T = 7), so its released `DBPN_x{2,4,8}.pth` load by name once DataParallel's `module.`
 * prefix is stripped (`dbpnCheckpointRemap`):
 * `feat0`, `feat1` (ConvBlocks: `conv`, `act`), `up1`, `down1`, `up2`, `down2`, `up3`, …, `up7` (projection units:
 * `up_conv1..3` / `down_conv1..3`, dense ones with a leading 1×1 `conv`), `output_conv.conv`.
 *
 * Every conv/deconv has a bias and a single-slope PReLU (none on the output conv); no normalisation. The projection
 * kernel/stride/padding (6/2/2, 8/4/2, 12/8/2 for ×2/×4/×8) make the sizes exact for any input: up = s·n, down = n.
 * Dense units concatenate new maps at the FRONT (`cat([new, previous])`), as the reference does.
 *
 * ```ts
 * const sr = new Dbpn({ scale: 4 });   // 10,426,358 params
 * const y = sr.call(x);                // [N, 3, h, w] -> [N, 3, 4h, 4w]
 * ```
 * The released weights were trained without the bicubic residual: keep `residual` false for them.
 */
import { z } from "zod";
import { noGrad } from "../../engine/autograd.js";
import { cat } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { TasksrError } from "../../errors.js";
import { kaimingNormal_ } from "../../nn/init.js";
import { PReLU } from "../../nn/layers/activation.js";
import { Conv2d, ConvTranspose2d } from "../../nn/layers/conv.js";
import { Module } from "../../nn/module.js";
import { defineArch } from "../registry.js";
import { SrModule, type SrPadOptions, srPadSchema } from "./base.js";

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------
export interface DbpnOptions extends SrPadOptions {
  /** 2, 4 or 8. */
  scale: number;
  /** Channels of the first 3×3 feature conv, n0 (default 256). */
  features?: number;
  /** Channels of the projection units, nR (default 64). */
  baseFilter?: number;
  /** Number of up-projection units T (default 7, the released D-DBPN); at least 2. */
  stages?: number;
  /** Adds the bicubic upsampling of the input to the output (DBPN-Pytorch's `--residual`; default false). */
  residual?: boolean;
}

/** Projection kernel, stride and padding per scale (DBPN-Pytorch `dbpn.py`). */
const PROJECTION: Record<number, { kernel: number; stride: number; padding: number }> = {
  2: { kernel: 6, stride: 2, padding: 2 },
  4: { kernel: 8, stride: 4, padding: 2 },
  8: { kernel: 12, stride: 8, padding: 2 },
};
type Projection = (typeof PROJECTION)[number];

/** Strips DataParallel's `module.` prefix from the released checkpoints' keys. */
export const dbpnCheckpointRemap = (key: string): string => key.replace(/^module\./, "");

// ---------------------------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------------------------
/** Conv (with bias) followed by a single-slope PReLU unless `act` is false; keys `conv`, `act`. */
export class DbpnConvBlock extends Module {
  readonly conv: Conv2d;
  readonly act: PReLU | undefined;
  constructor(cin: number, cout: number, kernel: number, stride: number, padding: number, act = true) {
    super();
    this.conv = this.module("conv", new Conv2d(cin, cout, kernel, { stride, padding }));
    this.act = act ? this.module("act", new PReLU()) : undefined;
  }
  forward(x: Tensor): Tensor {
    const y = this.conv.call(x);
    return this.act ? this.act.call(y) : y;
  }
}

/** Transposed conv (with bias) followed by a single-slope PReLU; keys `deconv`, `act`. */
export class DbpnDeconvBlock extends Module {
  readonly deconv: ConvTranspose2d;
  readonly act: PReLU;
  constructor(channels: number, p: Projection) {
    super();
    this.deconv = this.module(
      "deconv",
      new ConvTranspose2d(channels, channels, p.kernel, { stride: p.stride, padding: p.padding }),
    );
    this.act = this.module("act", new PReLU());
  }
  forward(x: Tensor): Tensor {
    return this.act.call(this.deconv.call(x));
  }
}

/**
 * Up-projection unit: H0 = up(L), L0 = down(H0), H1 = up(L0 − L), out H0 + H1 ([N, c, n, n] -> [N, c, sn, sn]).
 * With `stages` m > 1 (dense), a 1×1 `conv` first squeezes the m·c concatenated maps to c.
 */
export class UpProjection extends Module {
  readonly conv: DbpnConvBlock | undefined;
  readonly upConv1: DbpnDeconvBlock;
  readonly upConv2: DbpnConvBlock;
  readonly upConv3: DbpnDeconvBlock;
  constructor(c: number, p: Projection, stages = 1) {
    super();
    this.conv = stages > 1 ? this.module("conv", new DbpnConvBlock(c * stages, c, 1, 1, 0)) : undefined;
    this.upConv1 = this.module("up_conv1", new DbpnDeconvBlock(c, p));
    this.upConv2 = this.module("up_conv2", new DbpnConvBlock(c, c, p.kernel, p.stride, p.padding));
    this.upConv3 = this.module("up_conv3", new DbpnDeconvBlock(c, p));
  }
  forward(input: Tensor): Tensor {
    const l = this.conv ? this.conv.call(input) : input;
    const h0 = this.upConv1.call(l);
    const l0 = this.upConv2.call(h0);
    return this.upConv3.call(l0.sub(l)).add(h0);
  }
}

/** Down-projection unit: L0 = down(H), H0 = up(L0), L1 = down(H0 − H), out L0 + L1 ([N, c, sn, sn] -> [N, c, n, n]). */
export class DownProjection extends Module {
  readonly conv: DbpnConvBlock | undefined;
  readonly downConv1: DbpnConvBlock;
  readonly downConv2: DbpnDeconvBlock;
  readonly downConv3: DbpnConvBlock;
  constructor(c: number, p: Projection, stages = 1) {
    super();
    this.conv = stages > 1 ? this.module("conv", new DbpnConvBlock(c * stages, c, 1, 1, 0)) : undefined;
    this.downConv1 = this.module("down_conv1", new DbpnConvBlock(c, c, p.kernel, p.stride, p.padding));
    this.downConv2 = this.module("down_conv2", new DbpnDeconvBlock(c, p));
    this.downConv3 = this.module("down_conv3", new DbpnConvBlock(c, c, p.kernel, p.stride, p.padding));
  }
  forward(input: Tensor): Tensor {
    const h = this.conv ? this.conv.call(input) : input;
    const l0 = this.downConv1.call(h);
    const h0 = this.downConv2.call(l0);
    return this.downConv3.call(h0.sub(h)).add(l0);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------------------------
export class Dbpn extends SrModule {
  readonly feat0: DbpnConvBlock;
  readonly feat1: DbpnConvBlock;
  /** up1 … upT */
  readonly ups: UpProjection[] = [];
  /** down1 … down(T−1) */
  readonly downs: DownProjection[] = [];
  readonly outputConv: DbpnConvBlock;
  readonly residual: boolean;

  constructor(o: DbpnOptions) {
    super(o.scale, o);
    const p = PROJECTION[o.scale];
    if (p === undefined) throw new TasksrError("E_CONFIG", `D-DBPN scale must be 2, 4 or 8, got ${o.scale}`);
    const n0 = o.features ?? 256;
    const c = o.baseFilter ?? 64;
    const stages = o.stages ?? 7;
    if (!Number.isInteger(stages) || stages < 2) {
      throw new TasksrError("E_CONFIG", `D-DBPN needs at least 2 stages, got ${stages}`);
    }
    this.residual = o.residual ?? false;
    this.feat0 = this.module("feat0", new DbpnConvBlock(3, n0, 3, 1, 1));
    this.feat1 = this.module("feat1", new DbpnConvBlock(n0, c, 1, 1, 0));
    // Registration order = the reference's: up1, down1, up2, down2, up3, …. From up3/down2 on, the units are dense:
    // up_k reads the k−1 LR maps so far, down_k the k HR maps.
    for (let k = 1; k <= stages; k++) {
      this.ups.push(this.module(`up${k}`, new UpProjection(c, p, Math.max(1, k - 1))));
      if (k < stages) this.downs.push(this.module(`down${k}`, new DownProjection(c, p, k === 1 ? 1 : k)));
    }
    this.outputConv = this.module("output_conv", new DbpnConvBlock(stages * c, 3, 3, 1, 1, false));
    initDbpn_(this);
  }

  protected upscale(x: Tensor): Tensor {
    const l = this.feat1.call(this.feat0.call(x)); // [N, c, h, w]
    const h1 = this.ups[0]!.call(l); // [N, c, sh, sw]
    const l1 = this.downs[0]!.call(h1);
    let hcat = cat([this.ups[1]!.call(l1), h1], 1); // newest first: [h2, h1]
    let lcat = l1;
    for (let k = 1; k < this.downs.length; k++) {
      lcat = cat([this.downs[k]!.call(hcat), lcat], 1); // [N, (k+1)c, h, w]
      hcat = cat([this.ups[k + 1]!.call(lcat), hcat], 1); // [N, (k+2)c, sh, sw]
    }
    const y = this.outputConv.call(hcat); // [N, 3, sh, sw]
    return this.residual ? y.add(F.interpolate(x, { scaleFactor: this.scale, mode: "bicubic" })) : y;
  }
}

/** DBPN-Pytorch's init: kaiming-normal (fan_in, gain √2) for every conv and deconv weight, zero biases. */
function initDbpn_(net: Module<never[], unknown>): void {
  noGrad(() =>
    net.apply((m) => {
      if (m instanceof Conv2d || m instanceof ConvTranspose2d) {
        kaimingNormal_(m.weight);
        m.bias?.zero_();
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------------------------
/** The scale option of `arch`; the error names the architecture and its scales (zod alone says "Invalid input"). */
const scaleOption = (arch: string) =>
  z
    .union([z.literal(2), z.literal(4), z.literal(8)], {
      error: (issue) =>
        `${arch} upscales by 2, 4 or 8 only (D-DBPN's projection kernels exist for those), got ${JSON.stringify(issue.input)}`,
    })
    .default(4);

defineArch({
  kind: "sr",
  name: "dbpn",
  description: "D-DBPN (T = 7, 256/64 features; DBPN-Pytorch dbpn.py layout), optional bicubic residual",
  schema: z.strictObject({
    scale: scaleOption("dbpn"),
    features: z.number().int().positive().default(256),
    baseFilter: z.number().int().positive().default(64),
    stages: z.number().int().min(2).default(7),
    residual: z.boolean().default(false),
    ...srPadSchema,
  }),
  build: (o) => new Dbpn(o),
});

defineArch({
  kind: "sr",
  name: "dbpn-tiny",
  description: "D-DBPN with 3 stages and 32/16 features, for CPU experiments",
  schema: z.strictObject({ scale: scaleOption("dbpn-tiny"), residual: z.boolean().default(false), ...srPadSchema }),
  build: (o) => new Dbpn({ ...o, features: 32, baseFilter: 16, stages: 3 }),
});
