// Parity with PyTorch for the neural-network functionals, losses and NMS: outputs and input gradients within
// 1e-5 relative / 1e-6 absolute (float32). Dropout masks come from the seeded global generator, so they match exactly;
// NMS keeps exactly torchvision's indices (ties in index order, IoU equal to the threshold keeps the box).
import { type DType, F, manualSeed } from "../../src/engine/index.js";
import { parityTests } from "../support/parity.js";

type Mode = "nearest" | "nearest-exact" | "bilinear" | "bicubic" | "area";

parityTests("nn", {
  conv2d: ({ x, w, b }, a: F.Conv2dOptions) => F.conv2d(x!, w!, b, a),
  convTranspose2d: ({ x, w, b }, a: F.ConvTranspose2dOptions) => F.convTranspose2d(x!, w!, b, a),
  linear: ({ x, w, b }) => F.linear(x!, w!, b),
  batchNorm: (
    { x, weight, bias, runningMean, runningVar },
    a: { training: boolean; momentum: number; eps: number },
  ) => {
    const y = F.batchNorm(x!, runningMean, runningVar, { weight, bias, ...a });
    // Training mode updates the running statistics in place; the fixtures hold their values after the call.
    return runningMean === undefined ? y : [y, runningMean, runningVar!];
  },
  groupNorm: ({ x, weight, bias }, a: { groups: number; eps: number }) =>
    F.groupNorm(x!, a.groups, weight, bias, a.eps),
  layerNorm: ({ x, weight, bias }, a: { normalizedShape: number[]; eps: number }) =>
    F.layerNorm(x!, a.normalizedShape, weight, bias, a.eps),
  maxPool2d: ({ x }, a: F.PoolOptions & { kernel: F.Pair; dilation: F.Pair }) => F.maxPool2d(x!, a.kernel, a),
  avgPool2d: ({ x }, a: F.PoolOptions & { kernel: F.Pair; countIncludePad: boolean; divisorOverride?: number }) =>
    F.avgPool2d(x!, a.kernel, a),
  adaptiveAvgPool2d: ({ x }, a: { size: F.Pair }) => F.adaptiveAvgPool2d(x!, a.size),
  adaptiveMaxPool2d: ({ x }, a: { size: F.Pair }) => F.adaptiveMaxPool2d(x!, a.size),
  interpolate: ({ x }, a: F.InterpolateOptions & { mode: Mode }) => F.interpolate(x!, a),
  pixelShuffle: ({ x }, a: { r: number }) => F.pixelShuffle(x!, a.r),
  pixelUnshuffle: ({ x }, a: { r: number }) => F.pixelUnshuffle(x!, a.r),
  gridSample: ({ x, grid }, a: F.GridSampleOptions) => F.gridSample(x!, grid!, a),
  softmax: ({ x }, a: { dim: number; dtype?: DType }) => F.softmax(x!, a.dim, a.dtype),
  logSoftmax: ({ x }, a: { dim: number; dtype?: DType }) => F.logSoftmax(x!, a.dim, a.dtype),
  dropout: ({ x }, a: { p: number; training: boolean; seed: number; channels: boolean }) => {
    manualSeed(a.seed);
    return (a.channels ? F.dropout2d : F.dropout)(x!, a.p, a.training);
  },
  oneHot: ({ x }, a: { classes: number }) => F.oneHot(x!, a.classes),
});

parityTests("loss", {
  crossEntropy: ({ logits, target, weight }, a: Omit<F.CrossEntropyOptions, "weight">) =>
    F.crossEntropy(logits!, target!, { weight, ...a }),
  nllLoss: ({ logProbs, target, weight }, a: { reduction: F.Reduction; ignoreIndex: number }) =>
    F.nllLoss(logProbs!, target!, { weight, ...a }),
  bceWithLogits: ({ logits, target, weight, posWeight }, a: { reduction: F.Reduction }) =>
    F.binaryCrossEntropyWithLogits(logits!, target!, { weight, posWeight, reduction: a.reduction }),
  l1Loss: ({ a, b }, o: { reduction: F.Reduction }) => F.l1Loss(a!, b!, o.reduction),
  mseLoss: ({ a, b }, o: { reduction: F.Reduction }) => F.mseLoss(a!, b!, o.reduction),
  smoothL1Loss: ({ a, b }, o: { beta: number; reduction: F.Reduction }) => F.smoothL1Loss(a!, b!, o.beta, o.reduction),
  huberLoss: ({ a, b }, o: { delta: number; reduction: F.Reduction }) => F.huberLoss(a!, b!, o.delta, o.reduction),
  nms: ({ boxes, scores }, a: { iou: number }) => F.nms(boxes!, scores!, a.iou),
});
