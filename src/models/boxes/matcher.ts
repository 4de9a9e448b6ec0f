/**
 * Assignment of ground-truth boxes to anchors/proposals (torchvision's Matcher and SSDMatcher) and the balanced
 * positive/negative sampler of the R-CNN heads.
 */
import { arange, randperm, where, zeros } from "../../engine/creation.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { check } from "../../errors.js";

/** Match value of a prediction whose best IoU is below the low threshold. */
export const BELOW_LOW_THRESHOLD = -1;
/** Match value of a prediction whose best IoU lies in [low, high). */
export const BETWEEN_THRESHOLDS = -2;

/**
 * For each prediction (column of the [M gt, N pred] quality matrix), the index of its best ground truth when that
 * IoU is >= high, BETWEEN_THRESHOLDS when in [low, high), BELOW_LOW_THRESHOLD below low. With
 * `allowLowQualityMatches`, every prediction that is the best one for some ground truth (ties included) keeps its
 * best ground truth whatever the IoU (the RPN's rule).
 */
export class Matcher {
  constructor(
    readonly highThreshold: number,
    readonly lowThreshold: number,
    readonly allowLowQualityMatches = false,
  ) {
    check(lowThreshold <= highThreshold, () => "Matcher: lowThreshold must be <= highThreshold", "E_CONFIG");
  }

  /** quality [M, N] (M >= 1 ground truths, N >= 1 predictions) -> matches [N] int64. */
  match(quality: Tensor): Tensor {
    check(quality.numel > 0, () => `Matcher: empty quality matrix [${quality.shape}]`);
    return scope(() => {
      const { values, indices } = quality.max(0); // [N]
      let matches = where(
        values.lt(this.lowThreshold),
        BELOW_LOW_THRESHOLD,
        where(values.lt(this.highThreshold), BETWEEN_THRESHOLDS, indices),
      );
      if (this.allowLowQualityMatches) {
        const best = quality.amax(1, true); // [M, 1]
        const isBestForSomeGt = quality.eq(best).any(0); // [N]
        matches = where(isBestForSomeGt, indices, matches);
      }
      return matches;
    });
  }
}

/**
 * SSD's matching: IoU >= threshold matches, everything else is background (-1), and every ground truth is forced
 * onto its best prior (later ground truths win when two pick the same prior).
 */
export class SsdMatcher {
  readonly #base: Matcher;
  constructor(readonly threshold: number) {
    this.#base = new Matcher(threshold, threshold, false);
  }

  match(quality: Tensor): Tensor {
    return scope(() => {
      const matches = this.#base.match(quality);
      const bestPrior = quality.max(1).indices; // [M]
      return matches.indexPut_([bestPrior], arange(quality.size(0), undefined, 1, { device: quality.device }));
    });
  }
}

/** Sampled indices of one image (int64, ascending). */
export interface SampledIndices {
  positive: Tensor;
  negative: Tensor;
}

/**
 * Draws up to `batchSizePerImage` elements per image with at most `positiveFraction` positives (labels >= 1);
 * negatives (label 0) fill the rest; -1 is ignored. Random permutations come from the default generator of the
 * labels' device, in torchvision's order (per image: positives, then negatives), so a seeded run reproduces it.
 */
export class BalancedSampler {
  constructor(
    readonly batchSizePerImage: number,
    readonly positiveFraction: number,
  ) {}

  sample(labels: Tensor): SampledIndices {
    return scope(() => {
      const positive = labels.ge(1).nonzero().squeeze(1);
      const negative = labels.eq(0).nonzero().squeeze(1);
      const numPos = Math.min(positive.size(0), Math.floor(this.batchSizePerImage * this.positiveFraction));
      const numNeg = Math.min(negative.size(0), this.batchSizePerImage - numPos);
      const device = labels.device;
      const pick = randperm(positive.size(0), { device }).narrow(0, 0, numPos);
      const pickNeg = randperm(negative.size(0), { device }).narrow(0, 0, numNeg);
      // Back to ascending order, as torchvision's mask-then-nonzero does (the order sets the summation order).
      const asc = (all: Tensor, chosen: Tensor): Tensor => {
        const mask = zeros([labels.size(0)], { dtype: "bool", device });
        mask.indexPut_([all.index(chosen)], true);
        return mask.nonzero().squeeze(1);
      };
      return { positive: asc(positive, pick), negative: asc(negative, pickNeg) };
    });
  }
}
