/**
 * Region proposal network (Ren et al. 2015) with torchvision's layout and arithmetic (`rpn.head.conv.0.0`,
 * `rpn.head.cls_logits`, `rpn.head.bbox_pred`): objectness and box deltas per anchor, proposal filtering (per-level
 * top-N, clipping, small/low-score removal, per-level NMS, post-NMS top-N) and, when targets are given, the
 * objectness (BCE) and box (smooth L1, beta 1/9) losses on a balanced sample of anchors.
 */
import { noGrad } from "../../engine/autograd.js";
import { cat, full, zeros } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { check } from "../../errors.js";
import { Sequential } from "../../nn/layers/container.js";
import { Conv2d } from "../../nn/layers/conv.js";
import { Module } from "../../nn/module.js";
import { Conv2dNormActivation } from "../blocks/conv_norm_act.js";
import { BoxCoder } from "../boxes/coder.js";
import { BalancedSampler, BETWEEN_THRESHOLDS, Matcher } from "../boxes/matcher.js";
import { batchedNms, boxIou, clipBoxesToImage, removeSmallBoxes, type Size } from "../boxes/ops.js";
import type { AnchorGenerator } from "./anchors.js";
import type { DetectionTarget } from "./types.js";

/** [N, A*C, H, W] -> [N, H*W*A, C] (cells row-major, anchors minor), torchvision's permute_and_flatten. */
export function flattenLevel(x: Tensor, columns: number): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  return x.view(n, -1, columns, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, columns);
}

/** A shared 3x3 conv + ReLU, then 1x1 convs for the objectness logit and the 4 deltas of every anchor. */
export class RpnHead extends Module<[Tensor[]], { objectness: Tensor[]; deltas: Tensor[] }> {
  readonly conv: Sequential;
  readonly clsLogits: Conv2d;
  readonly bboxPred: Conv2d;

  constructor(channels: number, numAnchors: number) {
    super();
    this.conv = this.module("conv", new Sequential(new Conv2dNormActivation(channels, channels, 3, { norm: null })));
    this.clsLogits = this.module("cls_logits", new Conv2d(channels, numAnchors, 1));
    this.bboxPred = this.module("bbox_pred", new Conv2d(channels, 4 * numAnchors, 1));
    // torchvision: N(0, 0.01) weights, zero biases.
    noGrad(() =>
      this.apply((m) => {
        if (!(m instanceof Conv2d)) return;
        m.weight.normal_(0, 0.01);
        m.bias?.zero_();
      }),
    );
  }

  /** Per level: objectness [N, A, H, W] and deltas [N, 4A, H, W]. */
  forward(features: Tensor[]): { objectness: Tensor[]; deltas: Tensor[] } {
    const objectness: Tensor[] = [];
    const deltas: Tensor[] = [];
    for (const f of features) {
      const t = this.conv.call(f);
      objectness.push(this.clsLogits.call(t));
      deltas.push(this.bboxPred.call(t));
    }
    return { objectness, deltas };
  }
}

/** Values used with targets (training semantics) and without (inference). */
export interface TrainTest {
  training: number;
  testing: number;
}

export interface RpnSettings {
  /** Proposals kept per level before NMS, and per image after it. */
  preNmsTopN: TrainTest;
  postNmsTopN: TrainTest;
  nmsThresh: number;
  /** Anchors with IoU >= fg are positive, < bg negative (plus each ground truth's best anchors). */
  fgIouThresh: number;
  bgIouThresh: number;
  batchSizePerImage: number;
  positiveFraction: number;
  /** Proposals with objectness probability below this are dropped (torchvision 0; SR4IR 0.05). */
  scoreThresh: number;
}

export interface RpnOutput {
  /** Proposals per image [K_i, 4] in resized-image pixels (no gradient), and their objectness probabilities. */
  boxes: Tensor[];
  scores: Tensor[];
  losses?: { loss_objectness: Tensor; loss_rpn_box_reg: Tensor };
}

/** Input of the RPN: the padded batch size, each image's size inside it, and the pyramid maps fine to coarse. */
export interface RpnInput {
  batchSize: Size;
  imageSizes: readonly Size[];
  features: Tensor[];
}

/** Smallest proposal side kept (torchvision's min_size). */
const MIN_PROPOSAL_SIZE = 1e-3;

export class RegionProposalNetwork extends Module<[RpnInput, (readonly DetectionTarget[])?], RpnOutput> {
  readonly head: RpnHead;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  readonly matcher: Matcher;
  readonly sampler: BalancedSampler;

  constructor(
    readonly anchorGenerator: AnchorGenerator,
    channels: number,
    readonly settings: RpnSettings,
  ) {
    super();
    const perLocation = new Set(anchorGenerator.numAnchorsPerLocation());
    check(
      perLocation.size === 1,
      () => "RPN: every level needs the same number of anchors per location (one shared head)",
      "E_CONFIG",
    );
    this.head = this.module("head", new RpnHead(channels, [...perLocation][0]!));
    this.matcher = new Matcher(settings.fgIouThresh, settings.bgIouThresh, true);
    this.sampler = new BalancedSampler(settings.batchSizePerImage, settings.positiveFraction);
  }

  /** Proposals (and, with targets, the losses: SR4IR computes them whenever targets are given, in any mode). */
  forward(input: RpnInput, targets?: readonly DetectionTarget[]): RpnOutput {
    const { objectness: obj, deltas: del } = this.head.call(input.features);
    const n = input.imageSizes.length;
    const device = input.features[0]!.device;
    const anchors = this.anchorGenerator.forward(
      input.batchSize,
      input.features.map((f) => [f.size(2), f.size(3)] as const),
      device,
    ); // [A, 4], the same for every image of the batch
    const perLevel = obj.map((o) => o.size(1) * o.size(2) * o.size(3));
    const objectness = cat(
      obj.map((o) => flattenLevel(o, 1)),
      1,
    ).reshape(n, -1); // [N, A]
    const deltas = cat(
      del.map((d) => flattenLevel(d, 4)),
      1,
    ); // [N, A, 4]
    const training = targets !== undefined;
    // Proposals carry no gradient: Faster R-CNN does not back-propagate through the box decoding.
    const proposals = noGrad(() =>
      this.boxCoder.decode(deltas.detach().reshape(-1, 4), anchors.repeat(n, 1)).view(n, -1, 4),
    );
    const { boxes, scores } = this.filterProposals(
      proposals,
      objectness.detach(),
      input.imageSizes,
      perLevel,
      training,
    );
    if (!training) return { boxes, scores };
    return { boxes, scores, losses: this.computeLoss(objectness, deltas, anchors, targets) };
  }

  /** Per image: top-N per level, clip, drop tiny and low-score boxes, NMS per level, keep the post-NMS top-N. */
  filterProposals(
    proposals: Tensor,
    objectness: Tensor,
    imageSizes: readonly Size[],
    perLevel: readonly number[],
    training: boolean,
  ): { boxes: Tensor[]; scores: Tensor[] } {
    const s = this.settings;
    const preN = training ? s.preNmsTopN.training : s.preNmsTopN.testing;
    const postN = training ? s.postNmsTopN.training : s.postNmsTopN.testing;
    return scope(() => {
      const device = proposals.device;
      const levels = cat(
        perLevel.map((k, l) => full([k], l, { dtype: "int64", device })),
        0,
      );
      let offset = 0;
      const top = cat(
        perLevel.map((k) => {
          const idx = objectness.narrow(1, offset, k).topk(Math.min(preN, k), 1).indices.add(offset);
          offset += k;
          return idx;
        }),
        1,
      ); // [N, K]
      const n = proposals.size(0);
      const prob = objectness.gather(1, top).sigmoid();
      const lvl = levels.index(top);
      const picked = proposals.gather(1, top.unsqueeze(2).expand(n, top.size(1), 4));
      const boxes: Tensor[] = [];
      const scores: Tensor[] = [];
      for (const [i, size] of imageSizes.entries()) {
        let b = clipBoxesToImage(picked.select(0, i), size);
        let sc = prob.select(0, i);
        let lv = lvl.select(0, i);
        const big = removeSmallBoxes(b, MIN_PROPOSAL_SIZE);
        [b, sc, lv] = [b.index(big), sc.index(big), lv.index(big)];
        const confident = sc.ge(s.scoreThresh).nonzero().squeeze(1);
        [b, sc, lv] = [b.index(confident), sc.index(confident), lv.index(confident)];
        const keep = batchedNms(b, sc, lv, s.nmsThresh);
        const kept = keep.narrow(0, 0, Math.min(postN, keep.size(0)));
        boxes.push(b.index(kept));
        scores.push(sc.index(kept));
      }
      return { boxes, scores };
    });
  }

  /**
   * Labels anchors (1 positive, 0 negative, -1 ignored) against each image's ground truth, samples
   * batchSizePerImage of them per image, and returns BCE on the sampled objectness and smooth L1 (beta 1/9, summed,
   * divided by the sample count) on the positives' deltas.
   */
  computeLoss(
    objectness: Tensor,
    deltas: Tensor,
    anchors: Tensor,
    targets: readonly DetectionTarget[],
  ): { loss_objectness: Tensor; loss_rpn_box_reg: Tensor } {
    return scope(() => {
      const a = anchors.size(0);
      const labels: Tensor[] = [];
      const regression: Tensor[] = [];
      const positive: Tensor[] = [];
      const negative: Tensor[] = [];
      for (const [i, t] of targets.entries()) {
        let lab: Tensor;
        let matchedBoxes: Tensor;
        if (t.boxes.size(0) === 0) {
          lab = zeros([a], { dtype: objectness.dtype, device: anchors.device });
          matchedBoxes = zeros([a, 4], { dtype: t.boxes.dtype, device: anchors.device });
        } else {
          const matched = this.matcher.match(boxIou(t.boxes, anchors)); // [A]
          matchedBoxes = t.boxes.index(matched.clamp(0));
          lab = matched.ge(0).to(objectness.dtype).maskedFill(matched.eq(BETWEEN_THRESHOLDS), -1);
        }
        labels.push(lab);
        regression.push(this.boxCoder.encode(matchedBoxes, anchors));
        // One image at a time, positives before negatives: the random draws follow torchvision's order.
        const sampled = this.sampler.sample(lab);
        positive.push(sampled.positive.add(i * a));
        negative.push(sampled.negative.add(i * a));
      }
      const pos = cat(positive, 0);
      const sampledIdx = cat([pos, ...negative], 0);
      const boxLoss = F.smoothL1Loss(deltas.reshape(-1, 4).index(pos), cat(regression, 0).index(pos), 1 / 9, "sum").div(
        sampledIdx.size(0),
      );
      const objLoss = F.binaryCrossEntropyWithLogits(
        objectness.reshape(-1).index(sampledIdx),
        cat(labels, 0).index(sampledIdx),
      );
      return { loss_objectness: objLoss, loss_rpn_box_reg: boxLoss };
    });
  }
}
