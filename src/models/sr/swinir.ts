/**
 * SwinIR (Liang et al., "SwinIR: Image Restoration Using Swin Transformer", ICCVW 2021) for classical and lightweight
 * SR, with `network_swinir.py`'s state-dict keys, so the released `001_classicalSR_DIV2K_s48w8_SwinIR-M_x{2,3,4,8}.pth`
 * (`{'params': …}`, buffers included) load strictly by name:
 * `conv_first`, `patch_embed.norm`, `layers.{i}.residual_group.blocks.{j}.*` (blocks/swin.ts), `layers.{i}.conv`
 * (`1conv`: one 3×3; `3conv`: `conv.{0,2,4}`), `norm`, `conv_after_body`, then `conv_before_upsample.0`,
 * `upsample.{0,2,…}`, `conv_last` (pixelshuffle) or `upsample.0` (pixelshuffledirect).
 *
 * Padding, as the reference: the network pads its input (reflect) to a multiple of the window and crops the output
 * back (`check_image_size`, what SR4IR's training and evaluation see). In eval mode with `evalPadding: "test"` (the
 * default) it first pads as `main_test_swinir.py` does — a mirror (flip-and-concatenate) of h//ws·ws + ws − h rows
 * and columns, always at least one — so `tasksr upscale`/`eval` reproduce the released test numbers; `"forward"`
 * keeps the network's own padding only (SR4IR's protocol).
 *
 * ```ts
 * const sr = buildArch("swinir-m", { scale: 4 }); // 11,900,199 parameters (+ buffers for 48×48 patches)
 * const y = sr.call(x);                           // [N, 3, h, w] -> [N, 3, 4h, 4w]
 * ```
 */
import { z } from "zod";
import { noGrad } from "../../engine/autograd.js";
import { cat, tensor } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { TasksrError } from "../../errors.js";
import { traced } from "../../export/trace.js";
import { LeakyReLU } from "../../nn/layers/activation.js";
import { ModuleList, Sequential } from "../../nn/layers/container.js";
import { Conv2d } from "../../nn/layers/conv.js";
import { PixelShuffle } from "../../nn/layers/misc.js";
import { LayerNorm } from "../../nn/layers/norm.js";
import { Module } from "../../nn/module.js";
import { type Size2, SwinTransformerBlock, shiftedWindowMask } from "../blocks/swin.js";
import { defineArch } from "../registry.js";
import { cropToScale, SrModule } from "./base.js";
import { DIV2K_MEAN } from "./edsr.js";

export interface SwinIrOptions {
  /** 2, 3, 4 or 8. */
  scale: number;
  /** Training patch size (LR pixels): the size of the stored `attn_mask` buffers (default 48, SwinIR-M's s48). */
  imgSize?: number;
  /** Attention window (default 8). */
  windowSize?: number;
  /** Token channels (default 180). */
  embedDim?: number;
  /** Swin blocks per residual group (default [6, 6, 6, 6, 6, 6]). */
  depths?: readonly number[];
  /** Attention heads per residual group (default 6 each); each must divide embedDim. */
  numHeads?: readonly number[];
  /** MLP hidden width / embedDim (default 2). */
  mlpRatio?: number;
  /** Stochastic depth, rising linearly over the blocks from 0 to this (default 0.1, the reference's). */
  dropPathRate?: number;
  /** LayerNorm after the patch embedding (default true). */
  patchNorm?: boolean;
  /** Pixel range inside the network (default 1). */
  imgRange?: number;
  /** "pixelshuffle" (classical SR, 64 features; default) or "pixelshuffledirect" (lightweight SR: one conv). */
  upsampler?: "pixelshuffle" | "pixelshuffledirect";
  /** The convolution closing each residual group and the body (default "1conv"). */
  resiConnection?: "1conv" | "3conv";
  /** Padding in eval mode: "test" (main_test_swinir.py, default) or "forward" (the network's own only). */
  evalPadding?: "test" | "forward";
  /**
   * Learn a residual over the bicubic upsampling of the input (default false, as the released weights): the last
   * conv starts at zero, so a network trained from scratch on a CPU budget starts at bicubic, as edsr-tiny's option.
   */
  residual?: boolean;
}

const conv3x3 = (cin: number, cout: number) => new Conv2d(cin, cout, 3, { padding: 1 });

/** The 3×3 conv (1conv) or the bottleneck conv–LReLU–1×1–LReLU–conv (3conv) after a group of blocks. */
function residualConv(kind: "1conv" | "3conv", dim: number): Module {
  if (kind === "1conv") return conv3x3(dim, dim);
  const q = Math.floor(dim / 4);
  return new Sequential(conv3x3(dim, q), new LeakyReLU(0.2), new Conv2d(q, q, 1), new LeakyReLU(0.2), conv3x3(q, dim));
}

/** Tokens [B, H·W, C] <-> feature map [B, C, H, W] (the reference's PatchEmbed/PatchUnEmbed with patch size 1). */
const toTokens = (x: Tensor): Tensor => x.flatten(2).transpose(1, 2);
const toMap = (t: Tensor, [h, w]: Size2): Tensor => t.transpose(1, 2).reshape(t.size(0), t.size(2), h, w);

/** Residual Swin Transformer Block: a group of Swin blocks, a conv on the map, and a skip over the whole group. */
export class Rstb extends Module<[Tensor, Size2, Tensor?], Tensor> {
  readonly residualGroup: SwinLayer;
  readonly conv: Module;
  constructor(o: ConstructorParameters<typeof SwinLayer>[0], resi: "1conv" | "3conv") {
    super();
    this.residualGroup = this.module("residual_group", new SwinLayer(o));
    this.conv = this.module("conv", residualConv(resi, o.dim));
  }
  /** x [B, H·W, C] -> [B, H·W, C] */
  forward(x: Tensor, size: Size2, mask?: Tensor): Tensor {
    return toTokens(this.conv.call(toMap(this.residualGroup.call(x, size, mask), size))).add(x);
  }
}

/** The reference's BasicLayer without downsampling: `blocks.{j}`, unshifted and shifted alternately. */
export class SwinLayer extends Module<[Tensor, Size2, Tensor?], Tensor> {
  readonly blocks: ModuleList<SwinTransformerBlock>;
  constructor(o: {
    dim: number;
    inputResolution: Size2;
    depth: number;
    numHeads: number;
    windowSize: number;
    mlpRatio: number;
    dropPath: readonly number[];
  }) {
    super();
    const blocks = Array.from(
      { length: o.depth },
      (_, j) =>
        new SwinTransformerBlock({
          ...o,
          shiftSize: j % 2 === 0 ? 0 : Math.floor(o.windowSize / 2),
          dropPath: o.dropPath[j]!,
        }),
    );
    this.blocks = this.module("blocks", new ModuleList(blocks));
  }
  forward(x: Tensor, size: Size2, mask?: Tensor): Tensor {
    let t = x;
    for (const b of this.blocks.items) {
      const next = b.call(t, size, mask);
      if (t !== x) t.dispose();
      t = next;
    }
    return t;
  }
}

/** Sub-pixel upsampling of the classical model: log2(s) × [conv F→4F, PixelShuffle(2)] or conv F→9F, PixelShuffle(3). */
function classicalUpsample(scale: number, f: number): Sequential {
  if (scale === 3) return new Sequential(conv3x3(f, 9 * f), new PixelShuffle(3));
  const layers: Module[] = [];
  for (let s = scale; s > 1; s /= 2) layers.push(conv3x3(f, 4 * f), new PixelShuffle(2));
  return new Sequential(...layers);
}

export class SwinIr extends SrModule {
  readonly convFirst: Conv2d;
  readonly patchNorm: LayerNorm | undefined;
  readonly layers: ModuleList<Rstb>;
  readonly norm: LayerNorm;
  readonly convAfterBody: Module;
  readonly convBeforeUpsample: Sequential | undefined;
  readonly upsample: Sequential;
  readonly convLast: Conv2d | undefined;
  readonly windowSize: number;
  readonly imgRange: number;
  readonly evalPadding: "test" | "forward";
  readonly residual: boolean;
  readonly #mean: readonly number[] = DIV2K_MEAN;

  constructor(o: SwinIrOptions) {
    const ws = o.windowSize ?? 8;
    super(o.scale, { sizeMultiple: ws, padMode: "reflect" });
    const scale = o.scale;
    if (![2, 3, 4, 8].includes(scale))
      throw new TasksrError("E_CONFIG", `SwinIR scale must be 2, 3, 4 or 8, got ${scale}`);
    const dim = o.embedDim ?? 180;
    const depths = o.depths ?? [6, 6, 6, 6, 6, 6];
    const heads = o.numHeads ?? depths.map(() => 6);
    if (heads.length !== depths.length) {
      throw new TasksrError("E_CONFIG", `SwinIR: numHeads has ${heads.length} entries, depths ${depths.length}`);
    }
    for (const h of heads) {
      if (dim % h !== 0) throw new TasksrError("E_CONFIG", `SwinIR: numHeads ${h} does not divide embedDim ${dim}`);
    }
    const imgSize = o.imgSize ?? 48;
    this.windowSize = ws;
    this.imgRange = o.imgRange ?? 1;
    this.evalPadding = o.evalPadding ?? "test";
    const total = depths.reduce((a, b) => a + b, 0);
    const rate = o.dropPathRate ?? 0.1;
    // torch.linspace(0, rate, total), as the reference (one value per block, in order).
    const dpr = Array.from({ length: total }, (_, i) => (total === 1 ? 0 : (rate * i) / (total - 1)));
    const resi = o.resiConnection ?? "1conv";

    this.convFirst = this.module("conv_first", conv3x3(3, dim));
    this.patchNorm = (o.patchNorm ?? true) ? this.module("patch_embed", new PatchNorm(dim)).norm : undefined;
    let offset = 0;
    const groups = depths.map((depth, i) => {
      const dropPath = dpr.slice(offset, offset + depth);
      offset += depth;
      const layer = { dim, inputResolution: [imgSize, imgSize] as const, depth, numHeads: heads[i]!, windowSize: ws };
      return new Rstb({ ...layer, mlpRatio: o.mlpRatio ?? 2, dropPath }, resi);
    });
    this.layers = this.module("layers", new ModuleList(groups));
    this.norm = this.module("norm", new LayerNorm([dim]));
    this.convAfterBody = this.module("conv_after_body", residualConv(resi, dim));
    if ((o.upsampler ?? "pixelshuffle") === "pixelshuffle") {
      const f = 64;
      this.convBeforeUpsample = this.module("conv_before_upsample", new Sequential(conv3x3(dim, f), new LeakyReLU()));
      this.upsample = this.module("upsample", classicalUpsample(scale, f));
      this.convLast = this.module("conv_last", conv3x3(f, 3));
    } else {
      this.convBeforeUpsample = undefined;
      this.upsample = this.module("upsample", new Sequential(conv3x3(dim, scale * scale * 3), new PixelShuffle(scale)));
      this.convLast = undefined;
    }
    this.residual = o.residual ?? false;
    if (this.residual) {
      const last = this.convLast ?? (this.upsample.at(0) as Conv2d);
      noGrad(() => scope(() => [last.weight.zero_(), last.bias!.zero_()]));
    }
  }

  /** [N, 3, h, w] in [0, 1] -> [N, 3, h·s, w·s]; eval mode pads as evalPadding says (see the file comment). */
  override forward(x: Tensor): Tensor {
    if (this.training || this.evalPadding === "forward") return super.forward(x);
    const padded = mirrorPadToWindow(x, this.windowSize);
    return cropToScale(super.forward(padded), x, this.scale);
  }

  /** x [N, 3, h, w] with h, w multiples of the window -> [N, 3, h·s, w·s]. */
  protected upscale(x: Tensor): Tensor {
    const size: Size2 = [x.size(2), x.size(3)];
    const mean = meanTensor(this.#mean, x);
    const first = this.convFirst.call(x.sub(mean).mul(this.imgRange)); // [N, C, h, w]
    const body = this.convAfterBody.call(this.features(first, size)).add(first);
    const up = this.convBeforeUpsample
      ? this.convLast!.call(this.upsample.call(this.convBeforeUpsample.call(body)))
      : this.upsample.call(body); // [N, 3, h·s, w·s]
    // The mean cancels in a residual: bicubic(x) + output / range.
    if (this.residual) return up.div(this.imgRange).add(F.interpolate(x, { scaleFactor: this.scale, mode: "bicubic" }));
    return up.div(this.imgRange).add(mean);
  }

  /** The deep features: tokens through every residual group, LayerNorm, back to a map. [N, C, h, w] -> same. */
  private features(x: Tensor, size: Size2): Tensor {
    let t = toTokens(x); // [N, h·w, C]
    if (this.patchNorm) t = this.patchNorm.call(t);
    // Blocks at their training size use their stored mask; any other size gets one mask, shared by all shifted
    // blocks (they all have the same window and shift; a training size within the window shifts none).
    const shifted = this.layers.items.flatMap((l) => l.residualGroup.blocks.items).find((b) => b.shiftSize > 0);
    const training = shifted?.inputResolution;
    const mask =
      shifted !== undefined && (size[0] !== training![0] || size[1] !== training![1])
        ? shiftedWindowMask(size, shifted.windowSize, shifted.shiftSize)
        : undefined;
    for (const layer of this.layers.items) {
      const next = layer.call(t, size, mask);
      t.dispose();
      t = next;
    }
    return toMap(this.norm.call(t), size);
  }
}

/**
 * main_test_swinir.py's padding: cat([x, flip(x)]) cut to (h // ws + 1)·ws rows (a tiny input gets only its mirror;
 * the network's own padding then fills the rest), the same for columns. [N, C, h, w] -> [N, C, h', w']. One traced
 * op (`srMirrorPad`, src/export/ops.ts), as its sizes are not affine in h and w.
 */
export function mirrorPadToWindow(x: Tensor, ws: number): Tensor {
  return traced("srMirrorPad", [x], [ws], () => {
    const mirror = (t: Tensor, dim: number) => {
      const n = t.size(dim);
      return cat([t, t.flip(dim)], dim).narrow(dim, 0, Math.min(2 * n, (Math.floor(n / ws) + 1) * ws));
    };
    return mirror(mirror(x, 2), 3);
  });
}

/** `patch_embed.norm`: the LayerNorm the reference's PatchEmbed holds when patch_norm is on. */
class PatchNorm extends Module {
  readonly norm: LayerNorm;
  constructor(dim: number) {
    super();
    this.norm = this.module("norm", new LayerNorm([dim]));
  }
  forward(x: Tensor): Tensor {
    return this.norm.call(x);
  }
}

/** The RGB mean [1, 3, 1, 1] in x's dtype and device. */
const meanTensor = (mean: readonly number[], x: Tensor): Tensor =>
  tensor([...mean], { dtype: x.dtype, device: x.device }).view(1, 3, 1, 1);

// ---------------------------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------------------------
const scale = z.union([z.literal(2), z.literal(3), z.literal(4), z.literal(8)]).default(4);
const evalPadding = z.enum(["test", "forward"]).default("test");

defineArch({
  kind: "sr",
  name: "swinir",
  description: "SwinIR for classical/lightweight SR, configurable (defaults = SwinIR-M: 180 × 6×6 blocks, window 8)",
  schema: z.strictObject({
    scale,
    imgSize: z.number().int().positive().default(48),
    windowSize: z.number().int().min(2).default(8),
    embedDim: z.number().int().positive().default(180),
    depths: z.array(z.number().int().positive()).min(1).default([6, 6, 6, 6, 6, 6]),
    numHeads: z.array(z.number().int().positive()).min(1).default([6, 6, 6, 6, 6, 6]),
    mlpRatio: z.number().positive().default(2),
    dropPathRate: z.number().min(0).max(1).default(0.1),
    patchNorm: z.boolean().default(true),
    imgRange: z.number().positive().default(1),
    upsampler: z.enum(["pixelshuffle", "pixelshuffledirect"]).default("pixelshuffle"),
    resiConnection: z.enum(["1conv", "3conv"]).default("1conv"),
    evalPadding,
    residual: z.boolean().default(false),
  }),
  build: (o) => new SwinIr(o),
});

defineArch({
  kind: "sr",
  name: "swinir-m",
  description: "SwinIR-M (classical SR, s48w8): loads 001_classicalSR_DIV2K_s48w8_SwinIR-M_x{2,3,4,8}.pth by name",
  schema: z.strictObject({ scale, evalPadding }),
  build: (o) => new SwinIr(o),
});

defineArch({
  kind: "sr",
  name: "swinir-tiny",
  description:
    "SwinIR with 2 groups × 2 blocks of 24 channels, window 8, one-conv upsampler, for CPU experiments; option residual (over bicubic)",
  schema: z.strictObject({ scale, evalPadding, residual: z.boolean().default(false) }),
  build: (o) => new SwinIr({ ...o, embedDim: 24, depths: [2, 2], numHeads: [3, 3], upsampler: "pixelshuffledirect" }),
});
