/**
 * ResNet classifiers (He et al., CVPR 2016) with torchvision's exact layout and keys — `conv1`, `bn1`,
 * `layer{1..4}.{j}.{conv1,bn1,conv2,bn2[,conv3,bn3]}`, `layer{k}.0.downsample.{0,1}`, `fc` — so ImageNet weights load
 * by name (a different class count only changes `fc`). torchvision's init: convs kaiming-normal (fan_out, ReLU gain),
 * BatchNorm weight 1 / bias 0, optional zero-init of each residual branch's last BatchNorm; construction draws random
 * numbers in torchvision's order, so a seeded build equals torchvision's for the same seed.
 *
 * Input: RGB in [0, 1], normalised inside (ImageNet mean/std by default). Feature taps as SR4IR names them: `start`
 * (after the stem), `l1`…`l4` (each stage's output after its final ReLU; `l4` is [N, 512, 7, 7] for ResNet-18 at
 * 224 px).
 *
 * ```ts
 * const net = new ResNet({ ...RESNET_DEPTHS.resnet18, numClasses: 200 });
 * const { out, taps } = net.forwardTaps(x, ["l4"]); // out [N, 200], taps.get("l4") [N, 512, H/32, W/32]
 * ```
 */
import { z } from "zod";
import { noGrad } from "../../engine/autograd.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { kaimingNormal_ } from "../../nn/init.js";
import { Sequential } from "../../nn/layers/container.js";
import { Conv2d } from "../../nn/layers/conv.js";
import { Linear } from "../../nn/layers/linear.js";
import { BatchNorm2d } from "../../nn/layers/norm.js";
import { Module } from "../../nn/module.js";
import { ImageNormalize, type NormalizeOptions } from "../blocks/normalize.js";
import { defineArch } from "../registry.js";
import { checkTaps } from "../taps.js";
import type { TaskNetwork, WithTaps } from "../types.js";

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------
export interface ResNetOptions extends NormalizeOptions {
  block: "basic" | "bottleneck";
  /** Blocks per stage. */
  layers: readonly [number, number, number, number];
  /** Default 1000. */
  numClasses?: number;
  /** Channels of the stem and of stage 1's blocks (default 64, torchvision's); stages double it. */
  width?: number;
  /**
   * "imagenet": 7×7 stride-2 conv + 3×3 stride-2 max-pool (torchvision); "small": one 3×3 stride-1 conv and no
   * max-pool, for 28–64 px inputs (the usual CIFAR-style stem). Keys are the same (`conv1`, `bn1`).
   */
  stem?: "imagenet" | "small";
  /** Zero-init the last BatchNorm of every residual branch so each block starts as the identity (default false). */
  zeroInitResidual?: boolean;
}

export const RESNET_DEPTHS = {
  resnet18: { block: "basic", layers: [2, 2, 2, 2] },
  resnet34: { block: "basic", layers: [3, 4, 6, 3] },
  resnet50: { block: "bottleneck", layers: [3, 4, 6, 3] },
} as const satisfies Record<string, Pick<ResNetOptions, "block" | "layers">>;

export const RESNET_TAPS = ["start", "l1", "l2", "l3", "l4"] as const;
export type ResNetTap = (typeof RESNET_TAPS)[number];

// ---------------------------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------------------------
const conv3x3 = (cin: number, cout: number, stride = 1) =>
  new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false });
const conv1x1 = (cin: number, cout: number, stride = 1) => new Conv2d(cin, cout, 1, { stride, bias: false });

interface ResidualBlock extends Module<[Tensor], Tensor> {
  /** The BatchNorm closing the residual branch (zero-init target). */
  readonly lastNorm: BatchNorm2d;
}

/**
 * Two 3×3 convs; [N, cin, H, W] -> [N, planes, H/stride, W/stride]. `downsample` is built by the caller before the
 * block (as torchvision's `_make_layer` does) and registered last, matching torchvision's key and init order.
 */
export class BasicBlock extends Module implements ResidualBlock {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | undefined;
  constructor(cin: number, planes: number, stride: number, downsample?: Sequential) {
    super();
    this.conv1 = this.module("conv1", conv3x3(cin, planes, stride));
    this.bn1 = this.module("bn1", new BatchNorm2d(planes));
    this.conv2 = this.module("conv2", conv3x3(planes, planes));
    this.bn2 = this.module("bn2", new BatchNorm2d(planes));
    this.downsample = downsample && this.module("downsample", downsample);
  }
  get lastNorm(): BatchNorm2d {
    return this.bn2;
  }
  forward(x: Tensor): Tensor {
    const h = F.relu(this.bn1.call(this.conv1.call(x)));
    const r = this.bn2.call(this.conv2.call(h));
    return F.relu(r.add(this.downsample ? this.downsample.call(x) : x));
  }
}

/** 1×1 → 3×3 (stride here, "ResNet v1.5") → 1×1 expanding ×4; [N, cin, H, W] -> [N, 4·planes, H/s, W/s]. */
export class Bottleneck extends Module implements ResidualBlock {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | undefined;
  constructor(cin: number, planes: number, stride: number, downsample?: Sequential) {
    super();
    this.conv1 = this.module("conv1", conv1x1(cin, planes));
    this.bn1 = this.module("bn1", new BatchNorm2d(planes));
    this.conv2 = this.module("conv2", conv3x3(planes, planes, stride));
    this.bn2 = this.module("bn2", new BatchNorm2d(planes));
    this.conv3 = this.module("conv3", conv1x1(planes, planes * 4));
    this.bn3 = this.module("bn3", new BatchNorm2d(planes * 4));
    this.downsample = downsample && this.module("downsample", downsample);
  }
  get lastNorm(): BatchNorm2d {
    return this.bn3;
  }
  forward(x: Tensor): Tensor {
    const h1 = F.relu(this.bn1.call(this.conv1.call(x)));
    const h2 = F.relu(this.bn2.call(this.conv2.call(h1)));
    const r = this.bn3.call(this.conv3.call(h2));
    return F.relu(r.add(this.downsample ? this.downsample.call(x) : x));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------------------------
export class ResNet extends Module implements TaskNetwork<Tensor> {
  readonly tapNames: readonly string[] = RESNET_TAPS;
  readonly normalize: ImageNormalize;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly stages: Sequential[];
  readonly fc: Linear;
  readonly smallStem: boolean;

  constructor(o: ResNetOptions) {
    super();
    const width = o.width ?? 64;
    const Block = o.block === "basic" ? BasicBlock : Bottleneck;
    this.smallStem = o.stem === "small";
    this.normalize = this.module("normalize", new ImageNormalize(o));
    this.conv1 = this.module(
      "conv1",
      this.smallStem
        ? new Conv2d(3, width, 3, { padding: 1, bias: false })
        : new Conv2d(3, width, 7, { stride: 2, padding: 3, bias: false }),
    );
    this.bn1 = this.module("bn1", new BatchNorm2d(width));
    let cin = width;
    const all: ResidualBlock[] = [];
    this.stages = o.layers.map((n, k) => {
      const planes = width * 2 ** k;
      const stride = k === 0 ? 1 : 2;
      const cout = planes * Block.expansion;
      const downsample =
        stride !== 1 || cin !== cout ? new Sequential(conv1x1(cin, cout, stride), new BatchNorm2d(cout)) : undefined;
      const blocks = [new Block(cin, planes, stride, downsample)];
      for (let j = 1; j < n; j++) blocks.push(new Block(cout, planes, 1));
      all.push(...blocks);
      cin = cout;
      return this.module(`layer${k + 1}`, new Sequential(...blocks));
    });
    this.fc = this.module("fc", new Linear(cin, o.numClasses ?? 1000));
    initResNet_(this, all, o.zeroInitResidual ?? false);
  }

  /** [N, 3, H, W] in [0, 1] -> logits [N, numClasses]. */
  forward(x: Tensor): Tensor {
    return this.run(x, new Set()).out;
  }

  /** Logits plus the requested taps (`start`, `l1`…`l4`). */
  forwardTaps(x: Tensor, taps: readonly string[]): WithTaps<Tensor> {
    checkTaps("ResNet", taps, this.tapNames);
    return scope(() => this.run(x, new Set(taps)));
  }

  private run(x: Tensor, want: ReadonlySet<string>): WithTaps<Tensor> {
    const taps = new Map<string, Tensor>();
    const kept = new Set<Tensor>([x]);
    let h = x;
    // Frees the previous map as soon as the next exists, unless it is the input or a requested tap.
    const advance = (next: Tensor, tap?: ResNetTap) => {
      if (!kept.has(h)) h.dispose();
      h = next;
      if (tap !== undefined && want.has(tap)) {
        taps.set(tap, h);
        kept.add(h);
      }
    };
    advance(this.normalize.call(x));
    advance(F.relu(this.bn1.call(this.conv1.call(h))), this.smallStem ? "start" : undefined);
    if (!this.smallStem) advance(F.maxPool2d(h, 3, { stride: 2, padding: 1 }), "start");
    for (const [k, stage] of this.stages.entries()) advance(stage.call(h), RESNET_TAPS[k + 1]);
    const logits = this.fc.call(F.adaptiveAvgPool2d(h, 1).flatten(1)); // [N, numClasses]
    return { out: logits, taps };
  }
}

/** torchvision's ResNet init (the Linear keeps torch's default init). */
function initResNet_(net: ResNet, blocks: readonly ResidualBlock[], zeroInitResidual: boolean): void {
  noGrad(() => {
    net.apply((m) => {
      if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: "fanOut", nonlinearity: "relu" });
    });
    if (zeroInitResidual) for (const b of blocks) b.lastNorm.weight!.zero_();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------------------------
const common = {
  numClasses: z.number().int().positive().default(1000),
  stem: z.enum(["imagenet", "small"]).default("imagenet"),
  zeroInitResidual: z.boolean().default(false),
  mean: z.array(z.number()).length(3).optional(),
  std: z.array(z.number().positive()).length(3).optional(),
};

for (const [name, depth] of Object.entries(RESNET_DEPTHS)) {
  defineArch({
    kind: "task.classification",
    name,
    description: `${name.replace("resnet", "ResNet-")} (torchvision layout and keys); stem "small" for 28–64 px inputs`,
    schema: z.strictObject(common),
    build: (o) => new ResNet({ ...depth, ...o }),
  });
}

defineArch({
  kind: "task.classification",
  name: "resnet-tiny",
  description: "ResNet with the small stem, 1 basic block per stage and 16 base channels, for CPU experiments",
  schema: z.strictObject({ ...common, stem: z.enum(["imagenet", "small"]).default("small") }),
  build: (o) => new ResNet({ block: "basic", layers: [1, 1, 1, 1], width: 16, ...o }),
});
