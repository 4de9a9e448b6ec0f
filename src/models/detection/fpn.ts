/**
 * Feature pyramid on a MobileNetV3 backbone, with torchvision's layout (`BackboneWithFPN` over
 * `_mobilenet_extractor`): `backbone.body.{0..16}` are the MobileNetV3-Large features, `backbone.fpn.inner_blocks.i.0`
 * (1x1 lateral convs) and `backbone.fpn.layer_blocks.i.0` (3x3 output convs), plus a parameter-free max-pool level.
 *
 * ```ts
 * const b = new MobileNetV3Fpn({ norm: "frozen", trainableLayers: 3 });
 * const maps = b.call(x); // Map {"0" => [N, 256, H/16, W/16], "1" => [N, 256, H/32, W/32], "pool" => [N, 256, H/64, W/64]}
 * ```
 */
import { noGrad } from "../../engine/autograd.js";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { check } from "../../errors.js";
import { kaimingUniform_ } from "../../nn/init.js";
import { ModuleList } from "../../nn/layers/container.js";
import { Conv2d } from "../../nn/layers/conv.js";
import { Module } from "../../nn/module.js";
import { MobileNetV3Features, type MobileNetV3Options } from "../backbones/mobilenetv3.js";
import { batchNorm, Conv2dNormActivation, frozenBatchNorm } from "../blocks/conv_norm_act.js";

/**
 * Top-down pyramid (Lin et al. 2017, torchvision's FeaturePyramidNetwork without norm layers): every input level gets
 * a 1x1 lateral conv; from the coarsest level down, the running map is upsampled (nearest) and added to the next
 * lateral; each sum goes through a 3x3 conv. `LastLevelMaxPool` appends max_pool2d(kernel 1, stride 2) of the last
 * output as "pool".
 */
export class FeaturePyramidNetwork extends Module<[Tensor[]], Tensor[]> {
  readonly innerBlocks: ModuleList<Conv2dNormActivation>;
  readonly layerBlocks: ModuleList<Conv2dNormActivation>;

  constructor(
    inChannels: readonly number[],
    readonly outChannels: number,
  ) {
    super();
    const conv = (i: number, k: number) =>
      new Conv2dNormActivation(i, outChannels, k, { norm: null, activation: null });
    this.innerBlocks = this.module("inner_blocks", new ModuleList(inChannels.map((c) => conv(c, 1))));
    this.layerBlocks = this.module("layer_blocks", new ModuleList(inChannels.map(() => conv(outChannels, 3))));
    // torchvision: kaiming_uniform_(a=1) weights, zero biases.
    noGrad(() =>
      this.apply((m) => {
        if (!(m instanceof Conv2d)) return;
        kaimingUniform_(m.weight, { a: 1 });
        m.bias?.zero_();
      }),
    );
  }

  /** Maps from fine to coarse; returns the pyramid in the same order followed by the pooled level. */
  forward(x: Tensor[]): Tensor[] {
    check(x.length === this.innerBlocks.length, () => `FPN: expected ${this.innerBlocks.length} maps, got ${x.length}`);
    const last = x.length - 1;
    let inner = this.innerBlocks.at(last).call(x[last]!);
    const results = [this.layerBlocks.at(last).call(inner)];
    for (let i = last - 1; i >= 0; i--) {
      const lateral = this.innerBlocks.at(i).call(x[i]!); // [N, C, H_i, W_i]
      const topDown = F.interpolate(inner, { size: [lateral.size(2), lateral.size(3)], mode: "nearest" });
      inner = lateral.add(topDown);
      results.unshift(this.layerBlocks.at(i).call(inner));
    }
    results.push(F.maxPool2d(results[results.length - 1]!, 1, { stride: 2 }));
    return results;
  }
}

export interface MobileNetV3FpnOptions extends Pick<MobileNetV3Options, "widthMult" | "reducedTail"> {
  /**
   * "batch": BatchNorm2d with torch's defaults (eps 1e-5, momentum 0.1: torchvision's builder without weights passes
   * nn.BatchNorm2d itself); "frozen": FrozenBatchNorm2d (eps 1e-5, what it uses with pretrained weights).
   */
  norm: "batch" | "frozen";
  /** Backbone stages left trainable, counted from the last (0..6; torchvision's trainable_backbone_layers). */
  trainableLayers: number;
  /** FPN channels (256 in torchvision). */
  fpnChannels: number;
}

/** MobileNetV3-Large `features` (key `body`) + FPN (key `fpn`) on layers 13 and 16 (the last two stages). */
export class MobileNetV3Fpn extends Module<[Tensor], Map<string, Tensor>> {
  readonly body: MobileNetV3Features;
  readonly fpn: FeaturePyramidNetwork;
  /** Layers of `body` feeding the pyramid levels "0" and "1". */
  readonly returnLayers: readonly number[];
  readonly outChannels: number;
  /** Names of the returned maps, fine to coarse. */
  readonly featureNames = ["0", "1", "pool"] as const;

  constructor(o: MobileNetV3FpnOptions) {
    super();
    this.body = this.module(
      "body",
      new MobileNetV3Features({
        widthMult: o.widthMult,
        reducedTail: o.reducedTail,
        norm: o.norm === "frozen" ? frozenBatchNorm(1e-5) : batchNorm(),
      }),
    );
    const stages = this.body.stageIndices; // [0, 2, 4, 7, 13, 16]
    check(
      Number.isInteger(o.trainableLayers) && o.trainableLayers >= 0 && o.trainableLayers <= stages.length,
      () => `trainableBackboneLayers must be an integer in 0..${stages.length}, got ${o.trainableLayers}`,
      "E_CONFIG",
    );
    const freezeBefore = o.trainableLayers === 0 ? this.body.length : stages[stages.length - o.trainableLayers]!;
    for (let i = 0; i < freezeBefore; i++) this.body.at(i).requiresGrad_(false);
    this.returnLayers = stages.slice(-2);
    this.outChannels = o.fpnChannels;
    this.fpn = this.module(
      "fpn",
      new FeaturePyramidNetwork(
        this.returnLayers.map((i) => this.body.channels[i]!),
        o.fpnChannels,
      ),
    );
  }

  /** Normalised, padded batch [N, 3, H, W] -> pyramid maps by name (strides 16, 32, 64 on a plain backbone). */
  forward(x: Tensor): Map<string, Tensor> {
    const maps = this.body.forwardFeatures(x, this.returnLayers);
    const pyramid = this.fpn.call(this.returnLayers.map((i) => maps.get(i)!));
    return new Map(this.featureNames.map((n, i) => [n, pyramid[i]!]));
  }
}
