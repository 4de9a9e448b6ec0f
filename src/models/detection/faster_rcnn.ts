/**
 * Faster R-CNN with a MobileNetV3-Large FPN backbone, torchvision's `fasterrcnn_mobilenet_v3_large_fpn` layout:
 * `backbone.body.*` / `backbone.fpn.*` (fpn.ts), `rpn.head.*` (rpn.ts), `roi_heads.box_head.*` and
 * `roi_heads.box_predictor.*` (roi_heads.ts), around the GeneralizedRCNNTransform (transform.ts).
 *
 * SR4IR's rules (methods.md A5.4): losses are computed whenever targets are given, in train and eval mode alike,
 * with the training-time proposal counts and sampling; the RPN drops proposals scoring below 0.05. Sampling draws
 * from the engine's default generator, so `manualSeed` makes a run reproducible.
 *
 * ```ts
 * const det = fasterRcnnMobileNetV3LargeFpn({ numClasses: 21, norm: "frozen" });
 * const { out, taps } = det.forwardTaps([img], ["0", "1"]); // out.detections[0].boxes [K, 4] in img's pixels
 * const { losses } = det.call([img], [{ boxes, labels }]);   // loss_classifier, loss_box_reg, loss_objectness, ...
 * ```
 */
import { scope } from "../../engine/scope.js";
import { check } from "../../errors.js";
import { Module } from "../../nn/module.js";
import { MultiScaleRoiAlign } from "../boxes/roi-align.js";
import { checkTaps } from "../taps.js";
import type { WithTaps } from "../types.js";
import { AnchorGenerator } from "./anchors.js";
import { MobileNetV3Fpn, type MobileNetV3FpnOptions } from "./fpn.js";
import { FastRcnnPredictor, RoiHeads, type RoiHeadsSettings, TwoMlpHead } from "./roi_heads.js";
import { RegionProposalNetwork, type RpnSettings } from "./rpn.js";
import { DetectionTransform, IMAGENET_MEAN, IMAGENET_STD } from "./transform.js";
import type { DetectionTarget, Detector, DetectorInput, DetectorOutput } from "./types.js";

export interface FasterRcnnSettings {
  /** Classes including background (index 0). */
  numClasses: number;
  backbone: MobileNetV3FpnOptions;
  /** Resize so the short side is minSize unless the long side would pass maxSize; pad to a multiple of sizeDivisible. */
  minSize: number;
  maxSize: number;
  sizeDivisible: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Anchor sizes (pixels of the resized image) and height/width ratios, the same on every pyramid level. */
  anchorSizes: readonly number[];
  aspectRatios: readonly number[];
  rpn: RpnSettings;
  roi: RoiHeadsSettings;
  /** Width of the two fully connected layers of the box head (1024 in torchvision). */
  representationSize: number;
}

/**
 * Maps torchvision's ImageNet MobileNetV3-Large keys (`features.*`) onto the detector's `backbone.body.*`, dropping
 * its classifier (load with `strict: false`: the FPN and heads are reported missing). BatchNorm `num_batches_tracked`
 * entries are ignored by FrozenBatchNorm2d.
 */
export const imagenetDetectorBackboneRemap = (key: string): string | null =>
  key.startsWith("features.") ? `backbone.body.${key.slice("features.".length)}` : null;

/** Taps: the pyramid maps (SR4IR's TDP uses "0" and "1"). */
export const FASTER_RCNN_TAPS = ["0", "1", "pool"] as const;

export class FasterRcnn
  extends Module<[DetectorInput, (readonly DetectionTarget[])?], DetectorOutput>
  implements Detector
{
  readonly backbone: MobileNetV3Fpn;
  readonly rpn: RegionProposalNetwork;
  readonly roiHeads: RoiHeads;
  readonly transform: DetectionTransform;
  readonly numClasses: number;
  readonly tapNames: readonly string[] = FASTER_RCNN_TAPS;

  constructor(readonly settings: FasterRcnnSettings) {
    super();
    check(
      Number.isInteger(settings.numClasses) && settings.numClasses >= 2,
      () => `Faster R-CNN: numClasses (background included) must be an integer >= 2, got ${settings.numClasses}`,
      "E_CONFIG",
    );
    check(
      settings.minSize >= 1 && settings.maxSize >= settings.minSize,
      () => `Faster R-CNN: needs 1 <= minSize <= maxSize, got ${settings.minSize} and ${settings.maxSize}`,
      "E_CONFIG",
    );
    this.numClasses = settings.numClasses;
    this.backbone = this.module("backbone", new MobileNetV3Fpn(settings.backbone));
    const levels = this.backbone.featureNames.length;
    const anchors = new AnchorGenerator(
      Array.from({ length: levels }, () => settings.anchorSizes),
      Array.from({ length: levels }, () => settings.aspectRatios),
    );
    const channels = this.backbone.outChannels;
    this.rpn = this.module("rpn", new RegionProposalNetwork(anchors, channels, settings.rpn));
    // torchvision pools from the levels named 0..3 that exist, i.e. "0" and "1" (not "pool"); 7x7 bins, 2 samples.
    const pool = new MultiScaleRoiAlign(["0", "1", "2", "3"], 7, 2);
    this.roiHeads = this.module(
      "roi_heads",
      new RoiHeads(
        pool,
        new TwoMlpHead(channels * 7 * 7, settings.representationSize),
        new FastRcnnPredictor(settings.representationSize, settings.numClasses),
        settings.roi,
      ),
    );
    this.transform = new DetectionTransform({
      resize: { kind: "minMax", minSize: settings.minSize, maxSize: settings.maxSize },
      mean: settings.mean,
      std: settings.std,
      channelOrder: "rgb",
      sizeDivisible: settings.sizeDivisible,
    });
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
    checkTaps("Faster R-CNN", taps, this.tapNames);
    const batch = this.transform.apply(images, targets);
    const features = this.backbone.call(batch.images);
    const tapMap = new Map(taps.map((t) => [t, features.get(t)!]));
    const proposals = this.rpn.call(
      {
        batchSize: [batch.images.size(2), batch.images.size(3)],
        imageSizes: batch.imageSizes,
        features: [...features.values()],
      },
      batch.targets,
    );
    const heads = this.roiHeads.call(
      { features, proposals: proposals.boxes, imageSizes: batch.imageSizes },
      batch.targets,
    );
    if (batch.targets !== undefined) {
      // torchvision's order: box-branch losses, then RPN losses.
      return { out: { detections: [], losses: { ...heads.losses!, ...proposals.losses! } }, taps: tapMap };
    }
    const detections = this.transform.postprocess(heads.detections, batch.imageSizes, batch.originalSizes);
    return { out: { detections }, taps: tapMap };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------------------------
/** torchvision's `FasterRCNN` defaults with SR4IR's rpn_score_thresh = 0.05. */
export const RPN_DEFAULTS: RpnSettings = {
  preNmsTopN: { training: 2000, testing: 1000 },
  postNmsTopN: { training: 2000, testing: 1000 },
  nmsThresh: 0.7,
  fgIouThresh: 0.7,
  bgIouThresh: 0.3,
  batchSizePerImage: 256,
  positiveFraction: 0.5,
  scoreThresh: 0.05,
};

export const ROI_DEFAULTS: RoiHeadsSettings = {
  fgIouThresh: 0.5,
  bgIouThresh: 0.5,
  batchSizePerImage: 512,
  positiveFraction: 0.25,
  bboxRegWeights: [10, 10, 5, 5],
  scoreThresh: 0.05,
  nmsThresh: 0.5,
  detectionsPerImage: 100,
};

/** Options of the registered builders: torchvision's FasterRCNN keyword arguments in camelCase. */
export interface FasterRcnnOptions {
  numClasses?: number;
  /** "batch" (torchvision without weights, the default) or "frozen" (with pretrained weights, as SR4IR). */
  norm?: "batch" | "frozen";
  /** Stages left trainable from the last (0..6); default 6 with "batch", 3 with "frozen" (torchvision's rule). */
  trainableBackboneLayers?: number;
  minSize?: number;
  maxSize?: number;
  sizeDivisible?: number;
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
  anchorSizes?: readonly number[];
  aspectRatios?: readonly number[];
  rpnPreNmsTopNTrain?: number;
  rpnPreNmsTopNTest?: number;
  rpnPostNmsTopNTrain?: number;
  rpnPostNmsTopNTest?: number;
  rpnNmsThresh?: number;
  rpnFgIouThresh?: number;
  rpnBgIouThresh?: number;
  rpnBatchSizePerImage?: number;
  rpnPositiveFraction?: number;
  rpnScoreThresh?: number;
  boxScoreThresh?: number;
  boxNmsThresh?: number;
  boxDetectionsPerImg?: number;
  boxFgIouThresh?: number;
  boxBgIouThresh?: number;
  boxBatchSizePerImage?: number;
  boxPositiveFraction?: number;
}

/** Architecture choices that distinguish the full model from the light one. */
interface Shape {
  widthMult: number;
  reducedTail: boolean;
  fpnChannels: number;
  representationSize: number;
  minSize: number;
  maxSize: number;
  anchorSizes: readonly number[];
}

function build(shape: Shape, o: FasterRcnnOptions): FasterRcnn {
  const norm = o.norm ?? "batch";
  const r = RPN_DEFAULTS;
  const b = ROI_DEFAULTS;
  return new FasterRcnn({
    numClasses: o.numClasses ?? 91,
    backbone: {
      widthMult: shape.widthMult,
      reducedTail: shape.reducedTail,
      norm,
      trainableLayers: o.trainableBackboneLayers ?? (norm === "frozen" ? 3 : 6),
      fpnChannels: shape.fpnChannels,
    },
    minSize: o.minSize ?? shape.minSize,
    maxSize: o.maxSize ?? shape.maxSize,
    sizeDivisible: o.sizeDivisible ?? 32,
    mean: o.mean ?? IMAGENET_MEAN,
    std: o.std ?? IMAGENET_STD,
    anchorSizes: o.anchorSizes ?? shape.anchorSizes,
    aspectRatios: o.aspectRatios ?? [0.5, 1, 2],
    rpn: {
      preNmsTopN: {
        training: o.rpnPreNmsTopNTrain ?? r.preNmsTopN.training,
        testing: o.rpnPreNmsTopNTest ?? r.preNmsTopN.testing,
      },
      postNmsTopN: {
        training: o.rpnPostNmsTopNTrain ?? r.postNmsTopN.training,
        testing: o.rpnPostNmsTopNTest ?? r.postNmsTopN.testing,
      },
      nmsThresh: o.rpnNmsThresh ?? r.nmsThresh,
      fgIouThresh: o.rpnFgIouThresh ?? r.fgIouThresh,
      bgIouThresh: o.rpnBgIouThresh ?? r.bgIouThresh,
      batchSizePerImage: o.rpnBatchSizePerImage ?? r.batchSizePerImage,
      positiveFraction: o.rpnPositiveFraction ?? r.positiveFraction,
      scoreThresh: o.rpnScoreThresh ?? r.scoreThresh,
    },
    roi: {
      fgIouThresh: o.boxFgIouThresh ?? b.fgIouThresh,
      bgIouThresh: o.boxBgIouThresh ?? b.bgIouThresh,
      batchSizePerImage: o.boxBatchSizePerImage ?? b.batchSizePerImage,
      positiveFraction: o.boxPositiveFraction ?? b.positiveFraction,
      bboxRegWeights: b.bboxRegWeights,
      scoreThresh: o.boxScoreThresh ?? b.scoreThresh,
      nmsThresh: o.boxNmsThresh ?? b.nmsThresh,
      detectionsPerImage: o.boxDetectionsPerImg ?? b.detectionsPerImage,
    },
    representationSize: shape.representationSize,
  });
}

/** torchvision's fasterrcnn_mobilenet_v3_large_fpn: MobileNetV3-Large, FPN 256, anchors 32..512, 800/1333 px. */
export const fasterRcnnMobileNetV3LargeFpn = (o: FasterRcnnOptions = {}): FasterRcnn =>
  build(
    {
      widthMult: 1,
      reducedTail: false,
      fpnChannels: 256,
      representationSize: 1024,
      minSize: 800,
      maxSize: 1333,
      anchorSizes: [32, 64, 128, 256, 512],
    },
    o,
  );

/**
 * The same network scaled down for CPU experiments on 64-128 px images: MobileNetV3-Large at width 0.5 with the
 * reduced tail, FPN 64, box head 256, anchors 16..128, images resized to a short side of 128 (long side <= 256).
 */
export const lightFasterRcnn = (o: FasterRcnnOptions = {}): FasterRcnn =>
  build(
    {
      widthMult: 0.5,
      reducedTail: true,
      fpnChannels: 64,
      representationSize: 256,
      minSize: 128,
      maxSize: 256,
      anchorSizes: [16, 32, 64, 128],
    },
    o,
  );
