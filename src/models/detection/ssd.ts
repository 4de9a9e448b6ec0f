/**
 * SSD (Liu et al. 2016) with torchvision's layout: `backbone.*` (VGG16 feature extractor with the L2-normalised
 * conv4_3, dilated fc6/fc7 and extra layers, or a light backbone), `head.classification_head.module_list.N` and
 * `head.regression_head.module_list.N` (3x3 convs per feature map), default boxes, MultiBox loss and inference.
 */

import { noGrad } from "../../engine/autograd.js";
import { cat, full, stack, zeros } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { check } from "../../errors.js";
import { fans } from "../../nn/init.js";
import { ReLU } from "../../nn/layers/activation.js";
import { ModuleList, Sequential } from "../../nn/layers/container.js";
import { Conv2d } from "../../nn/layers/conv.js";
import { BatchNorm2d } from "../../nn/layers/norm.js";
import { MaxPool2d } from "../../nn/layers/pool.js";
import { Module } from "../../nn/module.js";
import { BoxCoder } from "../boxes/coder.js";
import { SsdMatcher } from "../boxes/matcher.js";
import { batchedNms, boxIou, clipBoxesToImage, type Size } from "../boxes/ops.js";
import { checkTaps } from "../taps.js";
import type { WithTaps } from "../types.js";
import { DefaultBoxGenerator, type DefaultBoxSettings } from "./anchors.js";
import { DetectionTransform, IMAGENET_MEAN, IMAGENET_STD, type TransformOptions } from "./transform.js";
import type { Detection, DetectionTarget, Detector, DetectorInput, DetectorOutput } from "./types.js";

type Layer = Module<[Tensor], Tensor>;

/** xavier_uniform_ weights and zero biases, torchvision's init of the SSD extras and heads. */
function xavierInit(m: Module<never[], unknown>): void {
  noGrad(() => {
    for (const [, c] of m.namedModules()) {
      if (!(c instanceof Conv2d)) continue;
      const { fanIn, fanOut } = fans(c.weight.shape);
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      c.weight.uniform_(-bound, bound);
      c.bias?.zero_();
    }
  });
}

/** A backbone returning one feature map per default-box level. */
export interface SsdBackbone extends Module<[Tensor], Tensor[]> {
  readonly outChannels: readonly number[];
  /** Tap name of each returned map. */
  readonly featureNames: readonly string[];
}

// ---------------------------------------------------------------------------------------------------------------
// VGG16 feature extractor (torchvision's SSDFeatureExtractorVGG)
// ---------------------------------------------------------------------------------------------------------------
const relu = () => new ReLU();
const conv = (i: number, o: number, k: number, opts: ConstructorParameters<typeof Conv2d>[3] = {}) =>
  new Conv2d(i, o, k, opts);

/** VGG16 layers [conv1_1 ... pool5]: indices 0..30 as torchvision's vgg16().features (pool3 with ceil_mode). */
function vgg16Layers(): Layer[] {
  const cfg: (number | "M" | "C")[] = [
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "C",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
  ];
  const layers: Layer[] = [];
  let c = 3;
  for (const v of cfg) {
    if (v === "M" || v === "C") {
      layers.push(new MaxPool2d(2, { stride: 2, ceilMode: v === "C" }));
    } else {
      const l = conv(c, v, 3, { padding: 1 });
      // torchvision's VGG init: kaiming_normal_(fan_out, relu), zero bias.
      noGrad(() => {
        l.weight.normal_(0, Math.sqrt(2 / fans(l.weight.shape).fanOut));
        l.bias!.zero_();
      });
      layers.push(l, relu());
      c = v;
    }
  }
  return layers;
}

export class VggSsdBackbone extends Module<[Tensor], Tensor[]> implements SsdBackbone {
  readonly outChannels = [512, 1024, 512, 256, 256, 256] as const;
  readonly featureNames = ["conv4_3", "fc7", "conv8_2", "conv9_2", "conv10_2", "conv11_2"] as const;
  /** conv4_3's L2Norm scale, one per channel, initialised to 20. */
  readonly scaleWeight: Tensor;
  readonly features: Sequential;
  readonly extra: ModuleList<Sequential>;

  /** trainableLayers: VGG stages left trainable, counted from the last (0..5, torchvision's rule). */
  constructor(trainableLayers = 5) {
    super();
    check(
      Number.isInteger(trainableLayers) && trainableLayers >= 0 && trainableLayers <= 5,
      () => `VGG SSD: trainableBackboneLayers must be in 0..5, got ${trainableLayers}`,
      "E_CONFIG",
    );
    const vgg = vgg16Layers();
    this.scaleWeight = this.param("scale_weight", full([512], 20));
    this.features = this.module("features", new Sequential(...vgg.slice(0, 23))); // up to conv4_3 + ReLU
    const fc = new Sequential(
      new MaxPool2d(3, { stride: 1, padding: 1 }),
      conv(512, 1024, 3, { padding: 6, dilation: 6 }), // fc6, atrous
      relu(),
      conv(1024, 1024, 1), // fc7
      relu(),
    );
    xavierInit(fc);
    const tail = (i: number, mid: number, o: number, stride: number, padding: number) =>
      new Sequential(conv(i, mid, 1), relu(), conv(mid, o, 3, { stride, padding }), relu());
    const extras = [
      tail(1024, 256, 512, 2, 1),
      tail(512, 128, 256, 2, 1),
      tail(256, 128, 256, 1, 0),
      tail(256, 128, 256, 1, 0),
    ];
    for (const e of extras) xavierInit(e);
    // extra.0 = pool4, conv5_1..conv5_3 (pool5 is replaced by fc's 3x3/1 pool), fc6, fc7.
    this.extra = this.module("extra", new ModuleList([new Sequential(...vgg.slice(23, 30), fc), ...extras]));
    // Freeze VGG stages before the trainable ones (stage starts: 0, pool1, pool2, pool3, pool4).
    const stageStarts = [0, 4, 9, 16, 23];
    const freezeBefore = trainableLayers === 0 ? 30 : stageStarts[5 - trainableLayers]!;
    for (const [i, l] of vgg.entries()) if (i < freezeBefore) l.requiresGrad_(false);
  }

  forward(x: Tensor): Tensor[] {
    let h = this.features.call(x); // [N, 512, 38, 38] for 300x300
    const out = [F.normalize(h).mul(this.scaleWeight.reshape(1, -1, 1, 1))];
    for (const block of this.extra.items) {
      h = block.call(h);
      out.push(h);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Light backbone for small images on the CPU
// ---------------------------------------------------------------------------------------------------------------
const convBnRelu = (i: number, o: number, stride: number): Layer[] => [
  conv(i, o, 3, { stride, padding: 1, bias: false }),
  new BatchNorm2d(o),
  relu(),
];

/**
 * Small all-conv backbone (3x3 conv + BatchNorm + ReLU): `features` reaches stride 8 with widths[0..2], each
 * `extra.k` halves the resolution again with widths[3 + k]; maps at strides 8, 16, 32, ... (12, 6, 3 for 96 px).
 */
export class LightSsdBackbone extends Module<[Tensor], Tensor[]> implements SsdBackbone {
  readonly outChannels: readonly number[];
  readonly featureNames: readonly string[];
  readonly features: Sequential;
  readonly extra: ModuleList<Sequential>;

  constructor(readonly widths: readonly number[] = [16, 32, 64, 128, 128]) {
    super();
    check(widths.length >= 3, () => "light SSD: widths needs at least 3 entries", "E_CONFIG");
    const [w0, w1, w2] = widths as [number, number, number];
    this.features = this.module(
      "features",
      new Sequential(
        ...convBnRelu(3, w0, 1),
        ...convBnRelu(w0, w0, 2),
        ...convBnRelu(w0, w1, 1),
        ...convBnRelu(w1, w1, 2),
        ...convBnRelu(w1, w2, 1),
        ...convBnRelu(w2, w2, 2),
      ),
    );
    const extras = widths.slice(3).map((w, k) => new Sequential(...convBnRelu(widths[2 + k]!, w, 2)));
    this.extra = this.module("extra", new ModuleList(extras));
    this.outChannels = widths.slice(2);
    this.featureNames = this.outChannels.map((_, i) => String(i));
  }

  forward(x: Tensor): Tensor[] {
    let h = this.features.call(x);
    const out = [h];
    for (const block of this.extra.items) {
      h = block.call(h);
      out.push(h);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Heads
// ---------------------------------------------------------------------------------------------------------------
/** One 3x3 conv per feature map predicting `columns` values per default box; output [N, sum HWA, columns]. */
export class SsdScoringHead extends Module<[Tensor[]], Tensor> {
  readonly moduleList: ModuleList<Conv2d>;
  constructor(
    inChannels: readonly number[],
    numAnchors: readonly number[],
    readonly columns: number,
  ) {
    super();
    this.moduleList = this.module(
      "module_list",
      new ModuleList(inChannels.map((c, i) => conv(c, columns * numAnchors[i]!, 3, { padding: 1 }))),
    );
    xavierInit(this);
  }

  forward(features: Tensor[]): Tensor {
    const parts = features.map((x, i) => {
      const y = this.moduleList.at(i).call(x); // [N, A*K, H, W]
      const [n, , h, w] = y.shape as [number, number, number, number];
      return y.view(n, -1, this.columns, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, this.columns);
    });
    return cat(parts, 1);
  }
}

export class SsdHead extends Module<[Tensor[]], { clsLogits: Tensor; bboxRegression: Tensor }> {
  readonly classificationHead: SsdScoringHead;
  readonly regressionHead: SsdScoringHead;
  constructor(inChannels: readonly number[], numAnchors: readonly number[], numClasses: number) {
    super();
    this.classificationHead = this.module(
      "classification_head",
      new SsdScoringHead(inChannels, numAnchors, numClasses),
    );
    this.regressionHead = this.module("regression_head", new SsdScoringHead(inChannels, numAnchors, 4));
  }
  forward(features: Tensor[]): { clsLogits: Tensor; bboxRegression: Tensor } {
    return { bboxRegression: this.regressionHead.call(features), clsLogits: this.classificationHead.call(features) };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The detector
// ---------------------------------------------------------------------------------------------------------------
export interface SsdSettings {
  /** Classes including background (index 0). */
  numClasses: number;
  defaultBoxes: DefaultBoxSettings;
  transform: TransformOptions;
  /** Inference: per-class score threshold, NMS IoU, detections kept per image, candidates per class before NMS. */
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImage: number;
  topkCandidates: number;
  /** Training: IoU for a default box to match a ground truth; positive share that sets the 3:1 negative mining. */
  iouThresh: number;
  positiveFraction: number;
}

/** torchvision's SSD300 defaults (input 300x300, ImageNet-style mean on the 0-255 scale). */
export const SSD300_DEFAULTS: Omit<SsdSettings, "numClasses" | "defaultBoxes"> = {
  transform: {
    resize: { kind: "fixed", size: [300, 300] },
    mean: [0.48235, 0.45882, 0.40784],
    std: [1 / 255, 1 / 255, 1 / 255],
    channelOrder: "rgb",
    sizeDivisible: 1,
  },
  scoreThresh: 0.01,
  nmsThresh: 0.45,
  detectionsPerImage: 200,
  topkCandidates: 400,
  iouThresh: 0.5,
  positiveFraction: 0.25,
};

/** Input handling of the original (Caffe) SSD: BGR, mean (104, 117, 123) subtracted on the 0-255 scale. */
export const CAFFE_BGR_INPUT: Pick<TransformOptions, "mean" | "std" | "channelOrder"> = {
  mean: [104 / 255, 117 / 255, 123 / 255],
  std: [1 / 255, 1 / 255, 1 / 255],
  channelOrder: "bgr",
};

const SSD300_RATIOS = [[2], [2, 3], [2, 3], [2, 3], [2], [2]];
const SSD300_STEPS = [8, 16, 32, 64, 100, 300];
/** Default boxes of torchvision's ssd300_vgg16. */
export const SSD300_BOXES_TORCHVISION: DefaultBoxSettings = {
  aspectRatios: SSD300_RATIOS,
  scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
  steps: SSD300_STEPS,
};
/** Default boxes of the original SSD300 (VOC config: min sizes 30..264, max sizes 60..315 px on 300). */
export const SSD300_BOXES_ORIGINAL: DefaultBoxSettings = {
  aspectRatios: SSD300_RATIOS,
  scales: [30, 60, 111, 162, 213, 264, 315].map((s) => s / 300),
  steps: SSD300_STEPS,
};

export class Ssd extends Module<[DetectorInput, (readonly DetectionTarget[])?], DetectorOutput> implements Detector {
  readonly backbone: SsdBackbone;
  readonly head: SsdHead;
  readonly anchorGenerator: DefaultBoxGenerator;
  readonly transform: DetectionTransform;
  readonly boxCoder = BoxCoder.fromVariances(0.1, 0.2);
  readonly matcher: SsdMatcher;
  readonly numClasses: number;
  readonly tapNames: readonly string[];

  constructor(
    backbone: SsdBackbone,
    readonly settings: SsdSettings,
  ) {
    super();
    this.anchorGenerator = new DefaultBoxGenerator(settings.defaultBoxes);
    check(
      backbone.outChannels.length === settings.defaultBoxes.aspectRatios.length,
      () =>
        `SSD: the backbone gives ${backbone.outChannels.length} maps but the default boxes have ${settings.defaultBoxes.aspectRatios.length} levels`,
      "E_CONFIG",
    );
    this.backbone = this.module("backbone", backbone);
    this.head = this.module(
      "head",
      new SsdHead(backbone.outChannels, this.anchorGenerator.numAnchorsPerLocation(), settings.numClasses),
    );
    this.transform = new DetectionTransform(settings.transform);
    this.matcher = new SsdMatcher(settings.iouThresh);
    this.numClasses = settings.numClasses;
    this.tapNames = backbone.featureNames;
  }

  forward(images: DetectorInput, targets?: readonly DetectionTarget[]): DetectorOutput {
    return this.#run(images, [], targets).out;
  }

  forwardTaps(
    images: DetectorInput,
    taps: readonly string[],
    targets?: readonly DetectionTarget[],
  ): WithTaps<DetectorOutput> {
    return scope(() => this.#run(images, taps, targets));
  }

  #run(images: DetectorInput, taps: readonly string[], targets?: readonly DetectionTarget[]): WithTaps<DetectorOutput> {
    checkTaps("SSD", taps, this.tapNames);
    const batch = this.transform.apply(images, targets);
    const features = this.backbone.call(batch.images);
    const head = this.head.call(features);
    const imageSize: Size = [batch.images.size(2), batch.images.size(3)];
    const anchors = this.anchorGenerator.forward(
      imageSize,
      features.map((f) => [f.size(2), f.size(3)] as const),
      batch.images.device,
    );
    const tapMap = new Map(taps.map((t) => [t, features[this.tapNames.indexOf(t)]!]));
    if (batch.targets !== undefined) {
      return { out: { detections: [], losses: this.computeLoss(batch.targets, head, anchors) }, taps: tapMap };
    }
    const dets = this.postprocessDetections(head, anchors, batch.imageSizes);
    return {
      out: { detections: this.transform.postprocess(dets, batch.imageSizes, batch.originalSizes) },
      taps: tapMap,
    };
  }

  /** Default-box index matched to each ground truth, or -1, per image ([A] int64). */
  matchTargets(targets: readonly DetectionTarget[], anchors: Tensor): Tensor[] {
    return scope(() =>
      targets.map((t) => {
        if (t.boxes.size(0) === 0) return zeros([anchors.size(0)], { dtype: "int64", device: anchors.device }).sub(1);
        return this.matcher.match(boxIou(t.boxes, anchors));
      }),
    );
  }

  /**
   * MultiBox loss: smooth-L1 (beta 1) on the encoded boxes of matched default boxes, softmax cross-entropy on the
   * positives plus the hardest negatives (neg:pos = (1 - positiveFraction) / positiveFraction per image), both
   * summed and divided by the number of positives in the batch (at least 1).
   */
  computeLoss(
    targets: readonly DetectionTarget[],
    head: { clsLogits: Tensor; bboxRegression: Tensor },
    anchors: Tensor,
  ): Record<string, Tensor> {
    return scope(() => {
      const matched = this.matchTargets(targets, anchors);
      let numForeground = 0;
      const bboxLosses: Tensor[] = [];
      const clsTargets: Tensor[] = [];
      for (const [i, t] of targets.entries()) {
        const m = matched[i]!;
        const fg = m.ge(0).nonzero().squeeze(1);
        const gtIdx = m.index(fg);
        numForeground += fg.size(0);
        const reg = head.bboxRegression.select(0, i).index(fg);
        const target = this.boxCoder.encode(t.boxes.index(gtIdx), anchors.index(fg));
        bboxLosses.push(F.smoothL1Loss(reg, target, 1, "sum"));
        const cls = zeros([anchors.size(0)], { dtype: "int64", device: anchors.device });
        clsTargets.push(cls.indexPut_([fg], t.labels.index(gtIdx)));
      }
      const clsTarget = stack(clsTargets, 0); // [N, A]
      const logits = head.clsLogits;
      const k = logits.size(-1);
      const clsLoss = F.crossEntropy(logits.reshape(-1, k), clsTarget.reshape(-1), { reduction: "none" }).view(
        ...clsTarget.shape,
      );
      // Hard negative mining: rank the non-positives by loss; keep the top (ratio x #positives) of each image.
      const ratio = (1 - this.settings.positiveFraction) / this.settings.positiveFraction;
      const foreground = clsTarget.gt(0);
      const numNegative = foreground.sum(1, true).mul(ratio);
      const negativeLoss = clsLoss.detach().maskedFill(foreground, Number.NEGATIVE_INFINITY);
      const rank = negativeLoss.sort(1, true).indices.sort(1).indices;
      const background = rank.lt(numNegative);
      const n = Math.max(1, numForeground);
      return {
        bbox_regression: stack(bboxLosses, 0).sum().div(n),
        classification: clsLoss.maskedSelect(foreground).sum().add(clsLoss.maskedSelect(background).sum()).div(n),
      };
    });
  }

  /** Per image: decode, clip, per-class threshold and top-k, class-wise NMS, best detectionsPerImage. */
  postprocessDetections(
    head: { clsLogits: Tensor; bboxRegression: Tensor },
    anchors: Tensor,
    imageSizes: readonly Size[],
  ): Detection[] {
    const s = this.settings;
    return scope(() => {
      const scores = F.softmax(head.clsLogits, -1); // [N, A, K]
      return imageSizes.map((size, i) => {
        const boxes = clipBoxesToImage(this.boxCoder.decode(head.bboxRegression.select(0, i), anchors), size);
        const sc = scores.select(0, i);
        const allBoxes: Tensor[] = [];
        const allScores: Tensor[] = [];
        const allLabels: Tensor[] = [];
        for (let label = 1; label < this.numClasses; label++) {
          const keep = sc.select(1, label).gt(s.scoreThresh).nonzero().squeeze(1);
          const top = sc
            .select(1, label)
            .index(keep)
            .topk(Math.min(s.topkCandidates, keep.size(0)));
          allScores.push(top.values);
          allBoxes.push(boxes.index(keep.index(top.indices)));
          allLabels.push(zeros([top.values.size(0)], { dtype: "int64", device: boxes.device }).add(label));
        }
        const b = cat(allBoxes, 0);
        const scr = cat(allScores, 0);
        const lab = cat(allLabels, 0);
        const kept = batchedNms(b, scr, lab, s.nmsThresh);
        const top = kept.narrow(0, 0, Math.min(s.detectionsPerImage, kept.size(0)));
        return { boxes: b.index(top), scores: scr.index(top), labels: lab.index(top) };
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------------------------
/** Inference/training thresholds that may be overridden on any SSD. */
export type SsdThresholds = Partial<
  Pick<
    SsdSettings,
    "scoreThresh" | "nmsThresh" | "detectionsPerImage" | "topkCandidates" | "iouThresh" | "positiveFraction"
  >
>;

export interface Ssd300Options extends SsdThresholds {
  /** Classes including background (default 91, COCO). */
  numClasses?: number;
  /** Default-box preset: torchvision's scales (0.07..1.05) or the original SSD300's sizes (30..315 px). */
  defaultBoxes?: "torchvision" | "original";
  /** Input normalisation: torchvision's RGB mean on the 0-255 scale, or the original BGR mean subtraction. */
  input?: "torchvision" | "caffe-bgr";
  /** VGG stages left trainable from the last (0..5); 4 freezes conv1 as torchvision does with pretrained weights. */
  trainableBackboneLayers?: number;
}

/** SSD300 with a VGG16 backbone, keys and outputs as torchvision's ssd300_vgg16. */
export function ssd300Vgg16(o: Ssd300Options = {}): Ssd {
  const {
    numClasses = 91,
    defaultBoxes = "torchvision",
    input = "torchvision",
    trainableBackboneLayers = 4,
    ...rest
  } = o;
  const transform =
    input === "caffe-bgr" ? { ...SSD300_DEFAULTS.transform, ...CAFFE_BGR_INPUT } : SSD300_DEFAULTS.transform;
  return new Ssd(new VggSsdBackbone(trainableBackboneLayers), {
    ...SSD300_DEFAULTS,
    ...rest,
    transform,
    numClasses,
    defaultBoxes: defaultBoxes === "original" ? SSD300_BOXES_ORIGINAL : SSD300_BOXES_TORCHVISION,
  });
}

export interface LightSsdOptions extends SsdThresholds {
  numClasses: number;
  /** Backbone widths: three for the stride-8 trunk, then one per extra map (default [16, 32, 64, 128, 128]). */
  widths?: readonly number[];
  /** Resize every image to [height, width]; by default images keep their size (any size works). */
  size?: readonly [number, number];
  /** Default boxes: extra aspect ratios per map and the scale range (defaults suit objects of 10-60% of the image). */
  aspectRatios?: readonly (readonly number[])[];
  minRatio?: number;
  maxRatio?: number;
}

/** A small SSD for CPU experiments on small images (e.g. 64-96 px); ImageNet normalisation. */
export function lightSsd(o: LightSsdOptions): Ssd {
  const {
    numClasses,
    widths = [16, 32, 64, 128, 128],
    size,
    aspectRatios,
    minRatio = 0.1,
    maxRatio = 0.6,
    ...rest
  } = o;
  const maps = widths.length - 2;
  const ratios = aspectRatios ?? Array.from({ length: maps }, (_, k) => (k === 0 || k === maps - 1 ? [2] : [2, 3]));
  return new Ssd(new LightSsdBackbone(widths), {
    ...SSD300_DEFAULTS,
    ...rest,
    numClasses,
    defaultBoxes: { aspectRatios: ratios, minRatio, maxRatio },
    transform: {
      resize: size ? { kind: "fixed", size } : { kind: "none" },
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      channelOrder: "rgb",
      sizeDivisible: 1,
    },
  });
}
