/**
 * The single-network settings (methods.md A10):
 * H→T (task net on HR), L→T (task net on bilinear-upsampled LR), SR-FT (SR net on a pixel loss) and
 * S→T (task net on the output of a frozen SR net).
 */
import { z } from "zod";
import { noGrad } from "../../engine/autograd.js";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
import { PixelLossName } from "../../losses/pixel.js";
import { pixelLoss } from "../losses.js";
import { defineRecipe } from "./registry.js";
import type { Recipe, RecipeContext } from "./types.js";

/** L→T's upsampler: bilinear with align_corners=True (SR4IR's nn.UpsamplingBilinear2d), to the HR size. */
export const upsampleLr = (lr: Tensor, hr: Tensor): Tensor =>
  F.interpolate(lr, { size: [hr.shape[2]!, hr.shape[3]!], mode: "bilinear", alignCorners: true });

/** The SR net's output for an LR batch, without gradient, in eval mode (the test-time pipeline LR -> S). */
export function srInference(ctx: RecipeContext, lr: Tensor): Tensor {
  const sr = ctx.sr!;
  const was = sr.training;
  sr.eval();
  try {
    return noGrad(() => sr.call(lr));
  } finally {
    sr.train(was);
  }
}

export const hr2task: Recipe = {
  name: "hr2task",
  producesSr: false,
  step(ctx, batch) {
    ctx.task.net.train();
    const l = ctx.autocast(() => ctx.task.loss(batch.hr, batch));
    ctx.taskStep!.backwardStep(l.total);
    return { task: l.total.item() };
  },
  testInput: (_ctx, _lr, batch) => batch.hr.alias(),
};

export const lr2task: Recipe = {
  name: "lr2task",
  producesSr: false,
  step(ctx, batch, lr) {
    ctx.task.net.train();
    const x = noGrad(() => upsampleLr(lr, batch.hr));
    const l = ctx.autocast(() => ctx.task.loss(x, batch));
    ctx.taskStep!.backwardStep(l.total);
    return { task: l.total.item() };
  },
  testInput: (_ctx, lr, batch) => upsampleLr(lr, batch.hr),
};

export const srFinetune = (kind: string): Recipe => ({
  name: "sr-ft",
  producesSr: true,
  step(ctx, batch, lr) {
    const sr = ctx.sr!.train();
    const loss = ctx.autocast(() => pixelLoss(kind, sr.call(lr), batch.hr));
    ctx.srStep!.backwardStep(loss);
    return { pix: loss.item() };
  },
  testInput: (ctx, lr) => srInference(ctx, lr),
});

export const sr2task: Recipe = {
  name: "sr2task",
  producesSr: true,
  step(ctx, batch, lr) {
    ctx.task.net.train();
    const x = srInference(ctx, lr);
    const l = ctx.autocast(() => ctx.task.loss(x, batch));
    ctx.taskStep!.backwardStep(l.total);
    return { task: l.total.item() };
  },
  testInput: (ctx, lr) => srInference(ctx, lr),
};

/** H→T: task net on HR. */
export const hr2taskConfig = z.strictObject({ name: z.literal("hr2task") });
/** L→T: task net on bilinear-upsampled (align_corners true) LR. */
export const lr2taskConfig = z.strictObject({ name: z.literal("lr2task") });
/** SR-FT: SR net on a pixel loss only. */
export const srFtConfig = z.strictObject({ name: z.literal("sr-ft"), pixelLoss: PixelLossName.default("l1") });
/** S→T: task net on the output of a frozen SR net (sr.weights from an SR-FT run or a weights file). */
export const sr2taskConfig = z.strictObject({ name: z.literal("sr2task") });

defineRecipe({
  name: "hr2task",
  schema: hr2taskConfig,
  label: "H→T",
  nets: { trainsSr: false, trainsTask: true, usesSr: false },
  build: () => hr2task,
});
defineRecipe({
  name: "lr2task",
  schema: lr2taskConfig,
  label: "L→T",
  nets: { trainsSr: false, trainsTask: true, usesSr: false },
  build: () => lr2task,
});
defineRecipe({
  name: "sr-ft",
  schema: srFtConfig,
  label: "SR-FT",
  nets: { trainsSr: true, trainsTask: false, usesSr: true },
  // Judged through H→T's task network when the study trains one.
  links: { taskNet: { from: "hr2task", required: false } },
  build: (r) => srFinetune(r.pixelLoss),
});
defineRecipe({
  name: "sr2task",
  schema: sr2taskConfig,
  label: "S→T",
  nets: { trainsSr: false, trainsTask: true, usesSr: true },
  links: { sr: { from: "sr-ft", required: true } },
  check: (c) =>
    c.sr?.weights === undefined
      ? ["sr.weights: S→T runs the task net on a frozen, already fine-tuned SR net (an SR-FT run's sr.safetensors)"]
      : [],
  build: () => sr2task,
});
