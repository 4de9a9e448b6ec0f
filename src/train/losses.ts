/** Losses shared by the recipes (methods.md A6). */
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import { getPixelLoss } from "../losses/pixel.js";

/** The named pixel loss (src/losses/pixel.ts) between an SR batch and its HR batch. */
export const pixelLoss = (name: string, sr: Tensor, hr: Tensor): Tensor => getPixelLoss(name).fn(sr, hr);

/**
 * Task-driven perceptual loss: weight * sum_k lambda_k * crit(F_k(SR), F_k(HR)), crit a pixel loss by name.
 * HR features must come without gradient; the gradient flows through the SR features only.
 */
export function tdpLoss(
  sr: ReadonlyMap<string, Tensor>,
  hr: ReadonlyMap<string, Tensor>,
  taps: Readonly<Record<string, number>>,
  criterion: string,
  weight: number,
): Tensor {
  let total: Tensor | undefined;
  for (const [name, lambda] of Object.entries(taps)) {
    const a = sr.get(name);
    const b = hr.get(name);
    if (a === undefined || b === undefined) {
      throw new TasksrError("E_CONFIG", `TDP tap "${name}" was not produced by the task network`);
    }
    const term = pixelLoss(criterion, a, b).mul(lambda);
    total = total === undefined ? term : total.add(term);
  }
  if (total === undefined) throw new TasksrError("E_CONFIG", "recipe.tdp.taps is empty");
  return total.mul(weight);
}
