/**
 * MobileNetV3-Large feature extractor with torchvision's exact layout (`torchvision.models.mobilenet_v3_large(...)
 * .features`): children "0" (stem) … "15" (inverted residual blocks) and "16" (last 1×1 conv), so the keys read
 * `0.0.weight`, `3.block.2.fc1.weight`, `16.1.running_var` — prefixed by whatever name the owner registers it under
 * (`features.` in the ImageNet classifier, `backbone.` in DeepLabV3, `backbone.body.` in torchvision's detectors).
 *
 * Options follow torchvision's `_mobilenet_v3_conf`: a width multiplier (channels rounded to multiples of 8), a
 * reduced tail (last stage at half width) and a dilated last stage (blocks 13–15 at stride 1, dilation 2: output
 * stride 16 instead of 32).
 *
 * ```ts
 * const f = new MobileNetV3Features({ dilated: true });
 * const maps = f.forwardFeatures(x, [4, 16]); // Map {4 => [N, 40, H/8, W/8], 16 => [N, 960, H/16, W/16]}
 * ```
 * Reference: Howard et al., "Searching for MobileNetV3" (ICCV 2019), Table 1.
 */
import { z } from "zod";
import { noGrad } from "../../engine/autograd.js";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { TasksrError } from "../../errors.js";
import { kaimingNormal_ } from "../../nn/init.js";
import { Hardswish, ReLU } from "../../nn/layers/activation.js";
import { Sequential } from "../../nn/layers/container.js";
import { Conv2d } from "../../nn/layers/conv.js";
import { Module } from "../../nn/module.js";
import {
  type ActivationFactory,
  batchNorm,
  Conv2dNormActivation,
  frozenBatchNorm,
  type NormFactory,
} from "../blocks/conv_norm_act.js";
import { defineArch } from "../registry.js";

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------
export interface MobileNetV3Options {
  /** Channel multiplier; every width is rounded to a multiple of 8 as torchvision does (default 1). */
  widthMult?: number;
  /** Halves the channels of the last stage (blocks 13–15 and the last conv), as torchvision's `reduced_tail`. */
  reducedTail?: boolean;
  /** Blocks 13–15 run at stride 1 with dilation 2 (output stride 16), as torchvision's `dilated`. */
  dilated?: boolean;
  /**
   * "batch": BatchNorm2d(eps 0.001, momentum 0.01), torchvision's default for MobileNetV3; "frozen":
   * FrozenBatchNorm2d(eps 1e-5), what torchvision's detectors pass; or any factory.
   */
  norm?: "batch" | "frozen" | NormFactory;
}

/** Rounds to the nearest multiple of `divisor`, never losing more than 10% (torchvision's `_make_divisible`). */
export function makeDivisible(v: number, divisor = 8): number {
  let r = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (r < 0.9 * v) r += divisor;
  return r;
}

/** One row of Table 1: input/expanded/output channels before the width multiplier. */
interface BlockConfig {
  cin: number;
  kernel: number;
  expanded: number;
  cout: number;
  se: boolean;
  hardswish: boolean;
  stride: number;
  dilation: number;
}

/** The 15 inverted residual blocks of MobileNetV3-Large, channels already scaled. */
function largeConfig(widthMult: number, reducedTail: boolean, dilated: boolean): BlockConfig[] {
  const t = reducedTail ? 2 : 1;
  const d = dilated ? 2 : 1;
  // cin, kernel, expanded, cout, SE, hardswish, stride, dilation
  const rows: [number, number, number, number, boolean, boolean, number, number][] = [
    [16, 3, 16, 16, false, false, 1, 1],
    [16, 3, 64, 24, false, false, 2, 1], // C1
    [24, 3, 72, 24, false, false, 1, 1],
    [24, 5, 72, 40, true, false, 2, 1], // C2
    [40, 5, 120, 40, true, false, 1, 1],
    [40, 5, 120, 40, true, false, 1, 1],
    [40, 3, 240, 80, false, true, 2, 1], // C3
    [80, 3, 200, 80, false, true, 1, 1],
    [80, 3, 184, 80, false, true, 1, 1],
    [80, 3, 184, 80, false, true, 1, 1],
    [80, 3, 480, 112, true, true, 1, 1],
    [112, 3, 672, 112, true, true, 1, 1],
    [112, 5, 672, 160 / t, true, true, 2, d], // C4
    [160 / t, 5, 960 / t, 160 / t, true, true, 1, d],
    [160 / t, 5, 960 / t, 160 / t, true, true, 1, d],
  ];
  const w = (c: number) => makeDivisible(c * widthMult);
  return rows.map(([cin, kernel, expanded, cout, se, hardswish, stride, dilation]) => ({
    cin: w(cin),
    kernel,
    expanded: w(expanded),
    cout: w(cout),
    se,
    hardswish,
    stride,
    dilation,
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------------------------
/** Squeeze-and-excitation with a hard-sigmoid gate; keys `fc1`, `fc2` (torchvision.ops.SqueezeExcitation). */
export class SqueezeExcitation extends Module {
  readonly fc1: Conv2d;
  readonly fc2: Conv2d;
  constructor(channels: number, squeeze: number) {
    super();
    this.fc1 = this.module("fc1", new Conv2d(channels, squeeze, 1));
    this.fc2 = this.module("fc2", new Conv2d(squeeze, channels, 1));
  }
  forward(x: Tensor): Tensor {
    const pooled = F.adaptiveAvgPool2d(x, 1); // [N, C, 1, 1]
    const gate = F.hardsigmoid(this.fc2.call(F.relu(this.fc1.call(pooled))));
    return x.mul(gate); // [N, C, H, W]
  }
}

/** Expand (1×1) → depthwise k×k → [SE] → project (1×1), residual when shape-preserving; keys `block.N`. */
export class InvertedResidual extends Module {
  readonly block: Sequential;
  readonly useResidual: boolean;
  /** True when the configured stride is 2: the block starts a new stage (a C_i position), even when dilated. */
  readonly startsStage: boolean;
  readonly outChannels: number;

  constructor(c: BlockConfig, norm: NormFactory) {
    super();
    if (c.stride !== 1 && c.stride !== 2) throw new TasksrError("E_CONFIG", `illegal stride ${c.stride}`);
    this.useResidual = c.stride === 1 && c.cin === c.cout;
    this.startsStage = c.stride > 1;
    this.outChannels = c.cout;
    const activation: ActivationFactory = c.hardswish ? () => new Hardswish() : () => new ReLU();
    const layers: Module<[Tensor], Tensor>[] = [];
    if (c.expanded !== c.cin) layers.push(new Conv2dNormActivation(c.cin, c.expanded, 1, { norm, activation }));
    // A dilated block keeps the resolution: the dilation replaces the stride.
    layers.push(
      new Conv2dNormActivation(c.expanded, c.expanded, c.kernel, {
        stride: c.dilation > 1 ? 1 : c.stride,
        dilation: c.dilation,
        groups: c.expanded,
        norm,
        activation,
      }),
    );
    if (c.se) layers.push(new SqueezeExcitation(c.expanded, makeDivisible(Math.floor(c.expanded / 4))));
    layers.push(new Conv2dNormActivation(c.expanded, c.cout, 1, { norm, activation: null }));
    this.block = this.module("block", new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    return this.useResidual ? y.add(x) : y;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------------------------
const normFactory = (n: MobileNetV3Options["norm"]): NormFactory =>
  typeof n === "function" ? n : n === "frozen" ? frozenBatchNorm(1e-5) : batchNorm({ eps: 0.001, momentum: 0.01 });

/** `[N, 3, H, W]` (already normalised) → `[N, 960·w, H/32, W/32]` (H/16 when dilated). */
export class MobileNetV3Features extends Sequential {
  /**
   * Layer indices of C0…C5 as torchvision computes them: the stem, every block whose configured stride is 2, and
   * the last conv — [0, 2, 4, 7, 13, 16].
   */
  readonly stageIndices: readonly number[];
  /** Output channels of every layer, by index. */
  readonly channels: readonly number[];
  readonly options: Required<Omit<MobileNetV3Options, "norm">>;

  constructor(o: MobileNetV3Options = {}) {
    const opts = { widthMult: o.widthMult ?? 1, reducedTail: o.reducedTail ?? false, dilated: o.dilated ?? false };
    const norm = normFactory(o.norm);
    const cfg = largeConfig(opts.widthMult, opts.reducedTail, opts.dilated);
    const stem = new Conv2dNormActivation(3, cfg[0]!.cin, 3, {
      stride: 2,
      norm,
      activation: () => new Hardswish(),
    });
    const blocks = cfg.map((c) => new InvertedResidual(c, norm));
    const last = cfg[cfg.length - 1]!.cout;
    const head = new Conv2dNormActivation(last, 6 * last, 1, { norm, activation: () => new Hardswish() });
    super(stem, ...blocks, head);
    this.options = opts;
    this.channels = [cfg[0]!.cin, ...cfg.map((c) => c.cout), 6 * last];
    this.stageIndices = [0, ...blocks.flatMap((b, i) => (b.startsStage ? [i + 1] : [])), blocks.length + 1];
    initMobileNetV3_(this);
  }

  /** Runs layers 0…max(indices) and returns the output of each requested layer. */
  forwardFeatures(x: Tensor, indices: readonly number[]): Map<number, Tensor> {
    const want = new Set(indices);
    const stop = Math.max(...indices);
    if (!(stop < this.length)) throw new RangeError(`layer ${stop} out of range (${this.length} layers)`);
    const out = new Map<number, Tensor>();
    let h = x;
    for (let i = 0; i <= stop; i++) {
      const next = this.at(i).call(h);
      if (h !== x && next !== h && !want.has(i - 1)) h.dispose();
      h = next;
      if (want.has(i)) out.set(i, h);
    }
    return out;
  }
}

/** torchvision's MobileNetV3 init: convs kaiming-normal (fan_out), zero bias; norms keep weight 1, bias 0. */
export function initMobileNetV3_(m: Module<never[], unknown>): void {
  noGrad(() =>
    m.apply((child) => {
      if (child instanceof Conv2d) {
        kaimingNormal_(child.weight, { mode: "fanOut" });
        child.bias?.zero_();
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------------------------
defineArch({
  kind: "backbone",
  name: "mobilenet-v3-large",
  description: "MobileNetV3-Large features (torchvision layout); options widthMult, reducedTail, dilated, norm",
  schema: z.strictObject({
    widthMult: z.number().positive().default(1),
    reducedTail: z.boolean().default(false),
    dilated: z.boolean().default(false),
    norm: z.enum(["batch", "frozen"]).default("batch"),
  }),
  build: (o) => new MobileNetV3Features(o),
});
