/**
 * The transform contract: a function of a sample and its random stream. A transform returns a new sample whose
 * target moves with the pixels; random transforms draw from `rng` once per call (a fixed number of draws for a
 * given sample), so a sample's augmentation depends only on the stream the loader derives from
 * (seed, epoch, dataset index), never on loading order.
 */
import type { Sample, Target } from "../types.js";
import type { Rng } from "./rng.js";

export type Transform = <T extends Target>(sample: Sample<T>, rng: Rng) => Sample<T>;

/** The sample unchanged. */
export const identity: Transform = (sample) => sample;

/** Applies `transforms` left to right, sharing one random stream. */
export function compose(transforms: readonly Transform[]): Transform {
  const list = [...transforms];
  return (sample, rng) => list.reduce((s, t) => t(s, rng), sample);
}
