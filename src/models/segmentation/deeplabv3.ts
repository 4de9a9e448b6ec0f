/**
 * DeepLabV3 with a MobileNetV3-Large backbone (Chen et al., "Rethinking Atrous Convolution for Semantic Image
 * Segmentation", 2017), laid out as torchvision's `deeplabv3_mobilenet_v3_large` so its weights load by name:
 * `backbone.{0..16}` (the dilated MobileNetV3-Large features, output stride 16), `classifier.0.convs.{0..4}`,
 * `classifier.0.project.0`, `classifier.{1,2,4}` (DeepLabHead: ASPP, 3×3 conv, BN, ReLU, 1×1 conv) and
 * `aux_classifier.{0,1,4}` (FCNHead on C2).
 *
 * Input: RGB in [0, 1], normalised inside (ImageNet mean/std by default). Output `{out, aux}`: logits [N, K, H, W],
 * both heads bilinearly resized (align_corners false) to the input size. Taps `C0`…`C5` are the backbone outputs at
 * torchvision's stage indices [0, 2, 4, 7, 13, 16] — C5 is [N, 960, H/16, W/16] (SR4IR's TDP layer).
 *
 * ```ts
 * const net = new DeepLabV3MobileNetV3({ numClasses: 21 });          // 11,029,328 params
 * const { out, taps } = net.forwardTaps(x, ["C5"]);                  // out.out [N, 21, H, W]
 * ```
 */
import { z } from "zod";
import { cat } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { ReLU } from "../../nn/layers/activation.js";
import { ModuleList, Sequential } from "../../nn/layers/container.js";
import { Conv2d } from "../../nn/layers/conv.js";
import { Dropout } from "../../nn/layers/misc.js";
import { BatchNorm2d } from "../../nn/layers/norm.js";
import { AdaptiveAvgPool2d } from "../../nn/layers/pool.js";
import { Module } from "../../nn/module.js";
import { MobileNetV3Features, type MobileNetV3Options } from "../backbones/mobilenetv3.js";
import { batchNorm } from "../blocks/conv_norm_act.js";
import { ImageNormalize, type NormalizeOptions } from "../blocks/normalize.js";
import { defineArch } from "../registry.js";
import { checkTaps } from "../taps.js";
import type { SegmenterOutput, TaskNetwork, WithTaps } from "../types.js";

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------
export interface DeepLabV3Options extends NormalizeOptions, Pick<MobileNetV3Options, "widthMult" | "reducedTail"> {
  /** Default 21 (Pascal VOC). */
  numClasses?: number;
  /** Auxiliary FCNHead on C2 (default true, as SR4IR trains it). */
  aux?: boolean;
  /** Channels of the ASPP branches and the head (default 256, torchvision's). */
  headChannels?: number;
  /** ASPP dilations (default [12, 24, 36]). */
  atrousRates?: readonly number[];
  /**
   * Momentum of the backbone's BatchNorm running statistics (default 0.01, torchvision's MobileNetV3 value). From
   * scratch and for a few hundred iterations, 0.01 leaves the statistics far behind the weights and evaluation
   * predicts background only; 0.1 (torch's default) lets short CPU runs evaluate what they learned.
   */
  bnMomentum?: number;
}

export const DEEPLAB_TAPS = ["C0", "C1", "C2", "C3", "C4", "C5"] as const;

/** Maps torchvision's ImageNet MobileNetV3-Large keys (`features.*`) onto `backbone.*`, dropping its classifier. */
export const imagenetBackboneRemap = (key: string): string | null =>
  key.startsWith("features.") ? `backbone.${key.slice("features.".length)}` : null;

// ---------------------------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------------------------
const convBnRelu = (cin: number, cout: number, kernel: number, dilation = 1): Module<[Tensor], Tensor>[] => [
  new Conv2d(cin, cout, kernel, { padding: kernel === 1 ? 0 : dilation, dilation, bias: false }),
  new BatchNorm2d(cout),
  new ReLU(),
];

const resizeTo = (y: Tensor, h: number, w: number): Tensor =>
  F.interpolate(y, { size: [h, w], mode: "bilinear", alignCorners: false });

/** Image pooling branch: global average → 1×1 conv, BN, ReLU → broadcast back to the input size (keys `1`, `2`). */
export class AsppPooling extends Sequential {
  constructor(cin: number, cout: number) {
    super(new AdaptiveAvgPool2d(1), ...convBnRelu(cin, cout, 1));
  }
  override forward(x: Tensor): Tensor {
    return resizeTo(super.forward(x), x.size(2), x.size(3)); // [N, cout, 1, 1] -> [N, cout, H, W]
  }
}

/** Atrous spatial pyramid pooling: 1×1, three dilated 3×3 and the pooling branch, concatenated and projected. */
export class Aspp extends Module {
  readonly convs: ModuleList;
  readonly project: Sequential;
  constructor(cin: number, rates: readonly number[], cout: number) {
    super();
    this.convs = this.module(
      "convs",
      new ModuleList([
        new Sequential(...convBnRelu(cin, cout, 1)),
        ...rates.map((r) => new Sequential(...convBnRelu(cin, cout, 3, r))),
        new AsppPooling(cin, cout),
      ]),
    );
    const branches = rates.length + 2;
    this.project = this.module("project", new Sequential(...convBnRelu(branches * cout, cout, 1), new Dropout(0.5)));
  }
  forward(x: Tensor): Tensor {
    const res = cat(
      this.convs.items.map((c) => c.call(x)),
      1,
    ); // [N, branches·cout, H, W]
    return this.project.call(res);
  }
}

/** ASPP → 3×3 conv, BN, ReLU → 1×1 conv to the classes; keys `0` (ASPP), `1`, `2`, `4`. */
export class DeepLabHead extends Sequential {
  constructor(cin: number, classes: number, channels: number, rates: readonly number[]) {
    super(new Aspp(cin, rates, channels), ...convBnRelu(channels, channels, 3), new Conv2d(channels, classes, 1));
  }
}

/** 3×3 conv to cin/4, BN, ReLU, Dropout 0.1, 1×1 conv to the classes; keys `0`, `1`, `4`. */
export class FcnHead extends Sequential {
  constructor(cin: number, classes: number) {
    const mid = Math.floor(cin / 4);
    super(...convBnRelu(cin, mid, 3), new Dropout(0.1), new Conv2d(mid, classes, 1));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------------------------
export class DeepLabV3MobileNetV3 extends Module<[Tensor], SegmenterOutput> implements TaskNetwork<SegmenterOutput> {
  readonly tapNames: readonly string[] = DEEPLAB_TAPS;
  readonly normalize: ImageNormalize;
  readonly backbone: MobileNetV3Features;
  readonly classifier: DeepLabHead;
  readonly auxClassifier: FcnHead | undefined;
  /** Backbone layer of each tap, C0…C5. */
  readonly tapLayers: readonly number[];

  constructor(o: DeepLabV3Options = {}) {
    super();
    const classes = o.numClasses ?? 21;
    this.normalize = this.module("normalize", new ImageNormalize(o));
    this.backbone = this.module(
      "backbone",
      new MobileNetV3Features({
        widthMult: o.widthMult,
        reducedTail: o.reducedTail,
        dilated: true,
        norm: batchNorm({ eps: 0.001, momentum: o.bnMomentum ?? 0.01 }),
      }),
    );
    this.tapLayers = this.backbone.stageIndices;
    const [c2, c5] = [this.tapLayers[2]!, this.tapLayers[5]!];
    const rates = o.atrousRates ?? [12, 24, 36];
    this.classifier = this.module(
      "classifier",
      new DeepLabHead(this.backbone.channels[c5]!, classes, o.headChannels ?? 256, rates),
    );
    this.auxClassifier =
      (o.aux ?? true) ? this.module("aux_classifier", new FcnHead(this.backbone.channels[c2]!, classes)) : undefined;
  }

  /** [N, 3, H, W] in [0, 1] -> {out, aux}: logits [N, K, H, W]. */
  forward(x: Tensor): SegmenterOutput {
    return this.run(x, []).out;
  }

  /** Logits plus the requested taps (`C0`…`C5`). */
  forwardTaps(x: Tensor, taps: readonly string[]): WithTaps<SegmenterOutput> {
    checkTaps("DeepLabV3", taps, this.tapNames);
    return scope(() => this.run(x, taps));
  }

  private run(x: Tensor, taps: readonly string[]): WithTaps<SegmenterOutput> {
    const [h, w] = [x.size(2), x.size(3)];
    const layerOf = (tap: string) => this.tapLayers[(DEEPLAB_TAPS as readonly string[]).indexOf(tap)]!;
    const [c2, c5] = [this.tapLayers[2]!, this.tapLayers[5]!];
    const maps = this.backbone.forwardFeatures(this.normalize.call(x), [c5, c2, ...taps.map(layerOf)]);
    const out: SegmenterOutput = { out: resizeTo(this.classifier.call(maps.get(c5)!), h, w) };
    if (this.auxClassifier) out.aux = resizeTo(this.auxClassifier.call(maps.get(c2)!), h, w);
    return { out, taps: new Map(taps.map((t) => [t, maps.get(layerOf(t))!])) };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------------------------
const common = {
  numClasses: z.number().int().positive().default(21),
  aux: z.boolean().default(true),
  mean: z.array(z.number()).length(3).optional(),
  std: z.array(z.number().positive()).length(3).optional(),
  bnMomentum: z.number().gt(0).max(1).default(0.01),
};

defineArch({
  kind: "task.segmentation",
  name: "deeplabv3-mobilenetv3-large",
  description: "DeepLabV3 + dilated MobileNetV3-Large (torchvision keys), aux FCNHead, taps C0..C5",
  schema: z.strictObject(common),
  build: (o) => new DeepLabV3MobileNetV3(o),
});

defineArch({
  kind: "task.segmentation",
  name: "deeplabv3-mobilenetv3-light",
  description:
    "DeepLabV3 + MobileNetV3-Large at width 0.5 with reduced tail and a 64-channel head, for CPU experiments",
  schema: z.strictObject(common),
  build: (o) => new DeepLabV3MobileNetV3({ ...o, widthMult: 0.5, reducedTail: true, headChannels: 64 }),
});
