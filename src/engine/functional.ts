/**
 * Neural-network functionals, mirroring torch.nn.functional (names camelCase, options as objects).
 * Shapes follow PyTorch: images are [N, C, H, W].
 */
import { check } from "../errors.js";
import { DTYPE_CODE, type DType } from "./dtype.js";
import { N } from "./native.js";
import { Tensor } from "./tensor.js";

export type Pair = number | readonly [number, number];
export type Reduction = "mean" | "sum" | "none";
const pair = (p: Pair): number[] => (typeof p === "number" ? [p, p] : [p[0], p[1]]);
const opt = (t: Tensor | undefined) => t?.handle;

// ---------------------------------------------------------------------------------------------------------------
// Linear and convolution
// ---------------------------------------------------------------------------------------------------------------
/** y = x W^T + b; x [..., in], weight [out, in]. */
export const linear = (x: Tensor, weight: Tensor, bias?: Tensor): Tensor =>
  new Tensor(N.linear(x.handle, weight.handle, opt(bias)));

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
/** x [N, Cin, H, W], weight [Cout, Cin/groups, kh, kw] -> [N, Cout, H', W']. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, o: Conv2dOptions = {}): Tensor {
  return new Tensor(
    N.conv2d(
      x.handle,
      weight.handle,
      opt(bias),
      pair(o.stride ?? 1),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.groups ?? 1,
    ),
  );
}
export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}
/** x [N, Cin, H, W], weight [Cin, Cout/groups, kh, kw] -> [N, Cout, (H-1)s - 2p + d(k-1) + op + 1, ...]. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor, o: ConvTranspose2dOptions = {}): Tensor {
  return new Tensor(
    N.convTranspose2d(
      x.handle,
      weight.handle,
      opt(bias),
      pair(o.stride ?? 1),
      pair(o.padding ?? 0),
      pair(o.outputPadding ?? 0),
      o.groups ?? 1,
      pair(o.dilation ?? 1),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisation and dropout
// ---------------------------------------------------------------------------------------------------------------
export interface BatchNormOptions {
  weight?: Tensor;
  bias?: Tensor;
  training?: boolean;
  momentum?: number;
  eps?: number;
}
/** Batch norm over dim 1; in training mode updates runningMean/runningVar in place (unbiased variance). */
/**
 * running = (1 - momentum) * running + momentum * batch statistic, for a batch norm whose statistics were computed
 * elsewhere (SyncBatchNorm). The buffers keep their autograd versions, as batch_norm's own update does.
 */
export function runningStatsUpdate(
  runningMean: Tensor,
  runningVar: Tensor,
  mean: Tensor,
  unbiasedVar: Tensor,
  momentum: number,
): void {
  N.runningStats(runningMean.handle, runningVar.handle, mean.handle, unbiasedVar.handle, momentum);
}

export function batchNorm(
  x: Tensor,
  runningMean: Tensor | undefined,
  runningVar: Tensor | undefined,
  o: BatchNormOptions = {},
): Tensor {
  return new Tensor(
    N.batchNorm(
      x.handle,
      opt(o.weight),
      opt(o.bias),
      opt(runningMean),
      opt(runningVar),
      o.training ?? false,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
    ),
  );
}
export const groupNorm = (x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor =>
  new Tensor(N.groupNorm(x.handle, groups, opt(weight), opt(bias), eps));
export const layerNorm = (
  x: Tensor,
  normalizedShape: readonly number[],
  weight?: Tensor,
  bias?: Tensor,
  eps = 1e-5,
): Tensor => new Tensor(N.layerNorm(x.handle, [...normalizedShape], opt(weight), opt(bias), eps));
/** Zeroes elements with probability p and scales the rest by 1/(1-p) when training. */
export const dropout = (x: Tensor, p = 0.5, training = true): Tensor => new Tensor(N.dropout(x.handle, p, training));
/** Zeroes whole channels (dim 1) with probability p when training. */
export const dropout2d = (x: Tensor, p = 0.5, training = true): Tensor =>
  new Tensor(N.dropout2d(x.handle, p, training));
/** x / max(||x||_p over dim, eps). */
export function normalize(x: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  const n = new Tensor(N.norm(x.handle, p, [dim], true));
  try {
    const c = new Tensor(N.clamp(n.handle, eps, null));
    try {
      return x.div(c);
    } finally {
      c.dispose();
    }
  } finally {
    n.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------------------------------------------
export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}
export const maxPool2d = (x: Tensor, kernel: Pair, o: PoolOptions & { dilation?: Pair } = {}): Tensor =>
  new Tensor(
    N.maxPool2d(
      x.handle,
      pair(kernel),
      pair(o.stride ?? kernel),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.ceilMode ?? false,
    ),
  );
export const avgPool2d = (
  x: Tensor,
  kernel: Pair,
  o: PoolOptions & { countIncludePad?: boolean; divisorOverride?: number } = {},
): Tensor =>
  new Tensor(
    N.avgPool2d(
      x.handle,
      pair(kernel),
      pair(o.stride ?? kernel),
      pair(o.padding ?? 0),
      o.ceilMode ?? false,
      o.countIncludePad ?? true,
      o.divisorOverride,
    ),
  );
export const adaptiveAvgPool2d = (x: Tensor, size: Pair): Tensor =>
  new Tensor(N.adaptiveAvgPool2d(x.handle, pair(size)));
export const adaptiveMaxPool2d = (x: Tensor, size: Pair): Tensor =>
  new Tensor(N.adaptiveMaxPool2d(x.handle, pair(size)));

// ---------------------------------------------------------------------------------------------------------------
// Resampling and padding
// ---------------------------------------------------------------------------------------------------------------
export type InterpolateMode = "nearest" | "nearest-exact" | "bilinear" | "bicubic" | "area";
export interface InterpolateOptions {
  /** Output [H, W] (exclusive with scaleFactor). */
  size?: Pair;
  /** Scale factor(s); output = floor(input * scale) and the kernel maps coordinates with 1/scale, as F.interpolate. */
  scaleFactor?: Pair;
  mode?: InterpolateMode;
  alignCorners?: boolean;
  /** Anti-aliased downsampling (bilinear and bicubic only), as F.interpolate(antialias=True). */
  antialias?: boolean;
}
/** Resizes [N, C, H, W] images with PyTorch's F.interpolate semantics (recompute_scale_factor unset). */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  const mode = o.mode ?? "nearest";
  check(x.ndim === 4, () => `interpolate(): expected [N, C, H, W], got shape [${x.shape}]`);
  check(
    (o.size === undefined) !== (o.scaleFactor === undefined),
    () => "interpolate(): give exactly one of size and scaleFactor",
  );
  const linear = mode === "bilinear" || mode === "bicubic";
  check(
    linear || o.alignCorners === undefined,
    () => `interpolate(): alignCorners only applies to bilinear/bicubic, not ${mode}`,
  );
  check(linear || !o.antialias, () => `interpolate(): antialias only applies to bilinear/bicubic, not ${mode}`);
  let size: number[];
  let scales: [number | undefined, number | undefined] = [undefined, undefined];
  if (o.size !== undefined) {
    size = pair(o.size);
  } else {
    const s = pair(o.scaleFactor!);
    size = [Math.floor(x.shape[2]! * s[0]!), Math.floor(x.shape[3]! * s[1]!)];
    if (mode !== "area") scales = [s[0], s[1]];
  }
  return new Tensor(
    N.interpolate(x.handle, mode, size, o.alignCorners ?? false, scales[0], scales[1], o.antialias ?? false),
  );
}
/** [N, C*r*r, H, W] -> [N, C, H*r, W*r] */
export const pixelShuffle = (x: Tensor, r: number): Tensor => new Tensor(N.pixelShuffle(x.handle, r));
/** [N, C, H*r, W*r] -> [N, C*r*r, H, W] */
export const pixelUnshuffle = (x: Tensor, r: number): Tensor => new Tensor(N.pixelUnshuffle(x.handle, r));

export interface GridSampleOptions {
  mode?: "bilinear" | "nearest" | "bicubic";
  paddingMode?: "zeros" | "border" | "reflection";
  alignCorners?: boolean;
}
/** Samples x [N, C, H, W] at grid [N, Ho, Wo, 2] (x, y in [-1, 1]). */
export function gridSample(x: Tensor, grid: Tensor, o: GridSampleOptions = {}): Tensor {
  const mode = { bilinear: 0, nearest: 1, bicubic: 2 }[o.mode ?? "bilinear"];
  const padding = { zeros: 0, border: 1, reflection: 2 }[o.paddingMode ?? "zeros"];
  return new Tensor(N.gridSample(x.handle, grid.handle, mode, padding, o.alignCorners ?? false));
}

/**
 * Pads trailing dims; `pads` lists (left, right) for the last dim first, then the one before, as F.pad.
 * Modes: constant (with `value`), reflect, replicate, circular.
 */
export const pad = (
  x: Tensor,
  pads: readonly number[],
  mode: "constant" | "reflect" | "replicate" | "circular" = "constant",
  value = 0,
): Tensor => new Tensor(N.pad(x.handle, [...pads], mode, mode === "constant" ? value : undefined));

// ---------------------------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------------------------
export const relu = (x: Tensor): Tensor => new Tensor(N.relu(x.handle));
export const relu6 = (x: Tensor): Tensor => new Tensor(N.hardtanh(x.handle, 0, 6));
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => new Tensor(N.leakyRelu(x.handle, negativeSlope));
/** PReLU with one slope per channel (dim 1) or one shared slope. */
export const prelu = (x: Tensor, weight: Tensor): Tensor => new Tensor(N.prelu(x.handle, weight.handle));
export const gelu = (x: Tensor, approximate: "none" | "tanh" = "none"): Tensor =>
  new Tensor(N.gelu(x.handle, approximate));
export const silu = (x: Tensor): Tensor => new Tensor(N.silu(x.handle));
export const hardswish = (x: Tensor): Tensor => new Tensor(N.hardswish(x.handle));
export const hardsigmoid = (x: Tensor): Tensor => new Tensor(N.hardsigmoid(x.handle));
export const hardtanh = (x: Tensor, min = -1, max = 1): Tensor => new Tensor(N.hardtanh(x.handle, min, max));
export const elu = (x: Tensor, alpha = 1): Tensor => new Tensor(N.elu(x.handle, alpha));
export const softplus = (x: Tensor, beta = 1, threshold = 20): Tensor =>
  new Tensor(N.softplus(x.handle, beta, threshold));
export const sigmoid = (x: Tensor): Tensor => new Tensor(N.sigmoid(x.handle));
export const tanh = (x: Tensor): Tensor => new Tensor(N.tanh(x.handle));
export const softmax = (x: Tensor, dim: number, dtype?: DType): Tensor =>
  new Tensor(N.softmax(x.handle, dim, dtype && DTYPE_CODE[dtype]));
export const logSoftmax = (x: Tensor, dim: number, dtype?: DType): Tensor =>
  new Tensor(N.logSoftmax(x.handle, dim, dtype && DTYPE_CODE[dtype]));
/** int64 class indices -> int64 one-hot with a new last dim of `classes` (-1 infers it). */
export const oneHot = (t: Tensor, classes = -1): Tensor => new Tensor(N.oneHot(t.handle, classes));

// ---------------------------------------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------------------------------------
export interface CrossEntropyOptions {
  weight?: Tensor;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}
/** logits [N, C, ...] against int64 targets [N, ...] (or class probabilities [N, C, ...]). */
export const crossEntropy = (logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor =>
  new Tensor(
    N.crossEntropy(
      logits.handle,
      target.handle,
      opt(o.weight),
      o.reduction ?? "mean",
      o.ignoreIndex ?? -100,
      o.labelSmoothing ?? 0,
    ),
  );
export const nllLoss = (
  logProbs: Tensor,
  target: Tensor,
  o: Omit<CrossEntropyOptions, "labelSmoothing"> = {},
): Tensor =>
  new Tensor(N.nllLoss(logProbs.handle, target.handle, opt(o.weight), o.reduction ?? "mean", o.ignoreIndex ?? -100));
export const binaryCrossEntropyWithLogits = (
  logits: Tensor,
  target: Tensor,
  o: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {},
): Tensor =>
  new Tensor(N.bceWithLogits(logits.handle, target.handle, opt(o.weight), opt(o.posWeight), o.reduction ?? "mean"));
export const l1Loss = (a: Tensor, b: Tensor, reduction: Reduction = "mean"): Tensor =>
  new Tensor(N.l1Loss(a.handle, b.handle, reduction));
export const mseLoss = (a: Tensor, b: Tensor, reduction: Reduction = "mean"): Tensor =>
  new Tensor(N.mseLoss(a.handle, b.handle, reduction));
/** Smooth L1 with transition point `beta` (torch semantics: 0.5 d^2 / beta below beta). */
export const smoothL1Loss = (a: Tensor, b: Tensor, beta = 1, reduction: Reduction = "mean"): Tensor =>
  new Tensor(N.smoothL1Loss(a.handle, b.handle, reduction, beta));
export const huberLoss = (a: Tensor, b: Tensor, delta = 1, reduction: Reduction = "mean"): Tensor =>
  new Tensor(N.huberLoss(a.handle, b.handle, reduction, delta));

// ---------------------------------------------------------------------------------------------------------------
// Boxes
// ---------------------------------------------------------------------------------------------------------------
/**
 * Non-maximum suppression (torchvision.ops.nms): boxes [N, 4] xyxy, scores [N]; returns kept indices [K] int64
 * sorted by decreasing score. A box is dropped when its IoU with a kept box exceeds `iouThreshold`.
 */
export const nms = (boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor =>
  new Tensor(N.nms(boxes.handle, scores.handle, iouThreshold));
