/**
 * Pixel losses by name: the criteria of the SR reconstruction terms (SR-FT, T→S, S+T, SR4IR) and of SR4IR's TDP
 * feature term. A config names one (`pixelLoss: charbonnier`); a plug-in adds one with `definePixelLoss`, after
 * which configs accept its name. Every loss is an element mean over two tensors of one shape.
 *
 * ```ts
 * definePixelLoss({ name: "l1-log", description: "L1 of log(1 + x)", fn: (a, b) => F.l1Loss(a.log1p(), b.log1p()) });
 * const loss = getPixelLoss("charbonnier").fn(sr, hr); // 0-d
 * ```
 */
import { z } from "zod";
import * as F from "../engine/functional.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";

export interface PixelLossEntry {
  name: string;
  description: string;
  /** (prediction, target) of one shape -> 0-d element mean. */
  fn: (a: Tensor, b: Tensor) => Tensor;
}

const registry = new Map<string, PixelLossEntry>();

export function definePixelLoss(entry: PixelLossEntry): void {
  if (registry.has(entry.name)) throw new TasksrError("E_CONFIG", `pixel loss "${entry.name}" is defined twice`);
  registry.set(entry.name, entry);
}

export const listPixelLosses = (): PixelLossEntry[] =>
  [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));

export function getPixelLoss(name: string): PixelLossEntry {
  const e = registry.get(name);
  if (e === undefined) {
    const known = listPixelLosses().map((l) => l.name);
    throw new TasksrError("E_UNKNOWN_NAME", `unknown pixel loss "${name}"; known: ${known.join(", ")}`);
  }
  return e;
}

/** A config field naming a registered pixel loss; checked when the config is parsed, so plug-ins come first. */
export const PixelLossName = z.string().superRefine((name, ctx) => {
  if (!registry.has(name)) {
    const known = listPixelLosses().map((l) => l.name);
    ctx.addIssue({ code: "custom", message: `unknown pixel loss "${name}"; known: ${known.join(", ")}` });
  }
});

definePixelLoss({ name: "l1", description: "mean |a − b|", fn: (a, b) => F.l1Loss(a, b) });
definePixelLoss({ name: "mse", description: "mean (a − b)²", fn: (a, b) => F.mseLoss(a, b) });
/** BasicSR's CharbonnierLoss: eps inside the root unsquared (1e-12), so it is L1 but smooth at 0. */
definePixelLoss({
  name: "charbonnier",
  description: "mean sqrt((a − b)² + 1e-12), BasicSR's CharbonnierLoss",
  fn: (a, b) => a.sub(b).square().add(1e-12).sqrt().mean(),
});
