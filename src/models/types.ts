/**
 * Contracts between networks and the training recipes. Recipes only see these interfaces, so any SR network works
 * with any task network, and a new task is one `defineTask` with its adapter (src/tasks/).
 */
import type { Tensor } from "../engine/tensor.js";
import type { Module } from "../nn/module.js";

/** Super-resolution network: [N, 3, h, w] in [0, 1] -> [N, 3, h*scale, w*scale] (not clamped). */
export interface SrNetwork extends Module<[Tensor], Tensor> {
  readonly scale: number;
}

/** Output of a task network together with the requested feature taps (name -> feature map). */
export interface WithTaps<O> {
  out: O;
  taps: Map<string, Tensor>;
}

/**
 * A recognition network usable by the recipes. Inputs are RGB images in [0, 1]; the network applies its own
 * normalisation (ImageNet mean/std by default), so TDP features are computed exactly as the reference does.
 */
export interface TaskNetwork<O> extends Module<[Tensor], O> {
  /** Names accepted by forwardTaps (e.g. "start", "l1".."l4" for ResNets; "C0".."C5" for DeepLabV3). */
  readonly tapNames: readonly string[];
  /** Runs the network and also returns the named intermediate feature maps. */
  forwardTaps(x: Tensor, taps: readonly string[]): WithTaps<O>;
}

/** Classifier output: logits [N, numClasses]. */
export type ClassifierOutput = Tensor;
/** Segmenter output: `out` [N, K, H, W] (and `aux` [N, K, H, W] when the network has an auxiliary head). */
export interface SegmenterOutput {
  out: Tensor;
  aux?: Tensor;
}
