/**
 * The Fast R-CNN box branch with torchvision's layout (`roi_heads.box_head.fc6/fc7`,
 * `roi_heads.box_predictor.cls_score/bbox_pred`): proposals are pooled from the pyramid with MultiScaleRoIAlign,
 * run through two fully connected layers and classified with per-class box deltas. With targets, the ground-truth
 * boxes join the proposals, a balanced sample is labelled and the classification (cross-entropy) and box (smooth L1,
 * beta 1/9) losses are returned; without, detections are decoded, thresholded and suppressed per class.
 */
import { arange, cat, zeros } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { Linear } from "../../nn/layers/linear.js";
import { Module } from "../../nn/module.js";
import { BoxCoder, type BoxWeights } from "../boxes/coder.js";
import { BalancedSampler, BELOW_LOW_THRESHOLD, BETWEEN_THRESHOLDS, Matcher } from "../boxes/matcher.js";
import { batchedNms, boxIou, clipBoxesToImage, removeSmallBoxes, type Size } from "../boxes/ops.js";
import type { MultiScaleRoiAlign } from "../boxes/roi-align.js";
import type { Detection, DetectionTarget } from "./types.js";

/** Flatten, then two ReLU fully connected layers (`fc6`, `fc7`): [K, C, P, P] -> [K, representation]. */
export class TwoMlpHead extends Module<[Tensor], Tensor> {
  readonly fc6: Linear;
  readonly fc7: Linear;
  constructor(inFeatures: number, representation: number) {
    super();
    this.fc6 = this.module("fc6", new Linear(inFeatures, representation));
    this.fc7 = this.module("fc7", new Linear(representation, representation));
  }
  forward(x: Tensor): Tensor {
    return F.relu(this.fc7.call(F.relu(this.fc6.call(x.flatten(1)))));
  }
}

/** Class logits [K, C] (`cls_score`) and per-class box deltas [K, 4C] (`bbox_pred`). */
export class FastRcnnPredictor extends Module<[Tensor], { classLogits: Tensor; boxRegression: Tensor }> {
  readonly clsScore: Linear;
  readonly bboxPred: Linear;
  constructor(inFeatures: number, numClasses: number) {
    super();
    this.clsScore = this.module("cls_score", new Linear(inFeatures, numClasses));
    this.bboxPred = this.module("bbox_pred", new Linear(inFeatures, 4 * numClasses));
  }
  forward(x: Tensor): { classLogits: Tensor; boxRegression: Tensor } {
    const flat = x.flatten(1);
    return { classLogits: this.clsScore.call(flat), boxRegression: this.bboxPred.call(flat) };
  }
}

export interface RoiHeadsSettings {
  /** Proposals with IoU >= fg are labelled with their ground truth's class, < bg background. */
  fgIouThresh: number;
  bgIouThresh: number;
  batchSizePerImage: number;
  positiveFraction: number;
  /** Box coder weights (10, 10, 5, 5 in torchvision). */
  bboxRegWeights: BoxWeights;
  /** Inference: class score threshold (strict), NMS IoU per class, detections kept per image. */
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImage: number;
}

export interface RoiHeadsInput {
  /** Pyramid maps by name; the pooler picks its levels. */
  features: ReadonlyMap<string, Tensor>;
  /** Proposals per image [K_i, 4] in resized-image pixels. */
  proposals: readonly Tensor[];
  imageSizes: readonly Size[];
}

export interface RoiHeadsOutput {
  /** Per image, in resized-image pixels (empty when targets were given). */
  detections: Detection[];
  losses?: { loss_classifier: Tensor; loss_box_reg: Tensor };
}

/** Smallest detection side kept (torchvision's remove_small_boxes(min_size=1e-2)). */
const MIN_DETECTION_SIZE = 1e-2;

/** A sampled training set: proposals, their class labels (0 = background) and regression targets, per image. */
export interface RoiSamples {
  proposals: Tensor[];
  labels: Tensor[];
  regressionTargets: Tensor[];
}

export class RoiHeads extends Module<[RoiHeadsInput, (readonly DetectionTarget[])?], RoiHeadsOutput> {
  readonly boxHead: TwoMlpHead;
  readonly boxPredictor: FastRcnnPredictor;
  readonly boxCoder: BoxCoder;
  readonly matcher: Matcher;
  readonly sampler: BalancedSampler;

  constructor(
    readonly boxRoiPool: MultiScaleRoiAlign,
    boxHead: TwoMlpHead,
    boxPredictor: FastRcnnPredictor,
    readonly settings: RoiHeadsSettings,
  ) {
    super();
    this.boxHead = this.module("box_head", boxHead);
    this.boxPredictor = this.module("box_predictor", boxPredictor);
    this.boxCoder = new BoxCoder(settings.bboxRegWeights);
    this.matcher = new Matcher(settings.fgIouThresh, settings.bgIouThresh, false);
    this.sampler = new BalancedSampler(settings.batchSizePerImage, settings.positiveFraction);
  }

  forward(input: RoiHeadsInput, targets?: readonly DetectionTarget[]): RoiHeadsOutput {
    const samples = targets === undefined ? undefined : this.selectTrainingSamples(input.proposals, targets);
    const proposals = samples?.proposals ?? input.proposals;
    const pooled = this.boxRoiPool.forward(input.features, proposals, input.imageSizes); // [K, C, P, P]
    const { classLogits, boxRegression } = this.boxPredictor.call(this.boxHead.call(pooled));
    if (samples === undefined) {
      return { detections: this.postprocessDetections(classLogits, boxRegression, proposals, input.imageSizes) };
    }
    return { detections: [], losses: fastRcnnLoss(classLogits, boxRegression, samples) };
  }

  /**
   * Adds the ground-truth boxes to each image's proposals, labels every proposal by its best ground truth (IoU
   * thresholds), keeps a balanced sample (in ascending proposal order, as torchvision) and encodes its targets.
   */
  selectTrainingSamples(proposals: readonly Tensor[], targets: readonly DetectionTarget[]): RoiSamples {
    return scope(() => {
      const out: RoiSamples = { proposals: [], labels: [], regressionTargets: [] };
      for (const [i, t] of targets.entries()) {
        const gt = t.boxes.to(proposals[i]!.dtype);
        const props = cat([proposals[i]!, gt], 0);
        const k = props.size(0);
        let matched: Tensor;
        let labels: Tensor;
        if (gt.size(0) === 0) {
          matched = zeros([k], { dtype: "int64", device: props.device });
          labels = zeros([k], { dtype: "int64", device: props.device });
        } else {
          const m = this.matcher.match(boxIou(gt, props));
          matched = m.clamp(0);
          labels = t.labels
            .index(matched)
            .maskedFill(m.eq(BELOW_LOW_THRESHOLD), 0)
            .maskedFill(m.eq(BETWEEN_THRESHOLDS), -1);
        }
        const { positive, negative } = this.sampler.sample(labels);
        const keep = cat([positive, negative], 0).sort().values;
        const kept = props.index(keep);
        const gtOrZero = gt.size(0) === 0 ? zeros([1, 4], { dtype: gt.dtype, device: gt.device }) : gt;
        out.proposals.push(kept);
        out.labels.push(labels.index(keep));
        out.regressionTargets.push(this.boxCoder.encode(gtOrZero.index(matched.index(keep)), kept));
      }
      return out;
    });
  }

  /**
   * Per image: decode every class's box, clip, drop background and scores <= scoreThresh and tiny boxes, NMS per
   * class, keep the detectionsPerImage best.
   */
  postprocessDetections(
    classLogits: Tensor,
    boxRegression: Tensor,
    proposals: readonly Tensor[],
    imageSizes: readonly Size[],
  ): Detection[] {
    const s = this.settings;
    return scope(() => {
      const numClasses = classLogits.size(1);
      const all = cat([...proposals], 0);
      const decoded = this.boxCoder.decode(boxRegression, all).reshape(all.size(0), numClasses, 4);
      const probs = F.softmax(classLogits, -1);
      const labelRow = arange(numClasses, undefined, 1, { device: classLogits.device }).view(1, -1);
      let offset = 0;
      return imageSizes.map((size, i) => {
        const k = proposals[i]!.size(0);
        const boxes0 = clipBoxesToImage(decoded.narrow(0, offset, k), size).narrow(1, 1, numClasses - 1);
        const scores0 = probs.narrow(0, offset, k).narrow(1, 1, numClasses - 1);
        offset += k;
        let boxes = boxes0.reshape(-1, 4);
        let scores = scores0.reshape(-1);
        let labels = labelRow
          .expand(k, numClasses)
          .narrow(1, 1, numClasses - 1)
          .reshape(-1);
        const confident = scores.gt(s.scoreThresh).nonzero().squeeze(1);
        [boxes, scores, labels] = [boxes.index(confident), scores.index(confident), labels.index(confident)];
        const big = removeSmallBoxes(boxes, MIN_DETECTION_SIZE);
        [boxes, scores, labels] = [boxes.index(big), scores.index(big), labels.index(big)];
        const keep = batchedNms(boxes, scores, labels, s.nmsThresh);
        const top = keep.narrow(0, 0, Math.min(s.detectionsPerImage, keep.size(0)));
        return { boxes: boxes.index(top), scores: scores.index(top), labels: labels.index(top) };
      });
    });
  }
}

/**
 * Cross-entropy over all sampled proposals, and smooth L1 (beta 1/9, summed) between the deltas predicted for each
 * positive's own class and its targets, divided by the number of sampled proposals (torchvision's fastrcnn_loss).
 */
export function fastRcnnLoss(
  classLogits: Tensor,
  boxRegression: Tensor,
  samples: RoiSamples,
): { loss_classifier: Tensor; loss_box_reg: Tensor } {
  return scope(() => {
    const labels = cat(samples.labels, 0);
    const targets = cat(samples.regressionTargets, 0);
    const k = classLogits.size(0);
    const pos = labels.gt(0).nonzero().squeeze(1);
    const perClass = boxRegression.reshape(k, -1, 4).index(pos, labels.index(pos)); // [P, 4]
    return {
      loss_classifier: F.crossEntropy(classLogits, labels),
      loss_box_reg: F.smoothL1Loss(perClass, targets.index(pos), 1 / 9, "sum").div(labels.size(0)),
    };
  });
}
