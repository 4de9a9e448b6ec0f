/** Losses shared by the recipes (methods.md A6). */
import * as F from "../engine/functional.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";

/** Element-mean L1 or MSE between an SR batch and its HR batch. */
export const pixelLoss = (kind: "l1" | "mse", sr: Tensor, hr: Tensor): Tensor =>
  kind === "l1" ? F.l1Loss(sr, hr) : F.mseLoss(sr, hr);

/**
 * Task-driven perceptual loss: weight * sum_k lambda_k * crit(F_k(SR), F_k(HR)) with element-mean L1/MSE per tap.
 * HR features must come without gradient; the gradient flows through the SR features only.
 */
export function tdpLoss(
  sr: ReadonlyMap<string, Tensor>,
  hr: ReadonlyMap<string, Tensor>,
  taps: Readonly<Record<string, number>>,
  criterion: "l1" | "mse",
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
