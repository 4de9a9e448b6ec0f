/**
 * The single-network settings (methods.md A10):
 * H→T (task net on HR), L→T (task net on bilinear-upsampled LR), SR-FT (SR net on a pixel loss) and
 * S→T (task net on the output of a frozen SR net).
 */
import { noGrad } from "../../engine/autograd.js";
import * as F from "../../engine/functional.js";
import type { Tensor } from "../../engine/tensor.js";
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

defineRecipe({
  name: "hr2task",
  label: "H→T",
  nets: { trainsSr: false, trainsTask: true, usesSr: false },
  build: () => hr2task,
});
defineRecipe({
  name: "lr2task",
  label: "L→T",
  nets: { trainsSr: false, trainsTask: true, usesSr: false },
  build: () => lr2task,
});
defineRecipe({
  name: "sr-ft",
  label: "SR-FT",
  nets: { trainsSr: true, trainsTask: false, usesSr: true },
  build: (r) => srFinetune(r.pixelLoss),
});
defineRecipe({
  name: "sr2task",
  label: "S→T",
  nets: { trainsSr: false, trainsTask: true, usesSr: true },
  check: (c) =>
    c.sr?.weights === undefined
      ? ["sr.weights: S→T runs the task net on a frozen, already fine-tuned SR net (an SR-FT run's sr.safetensors)"]
      : [],
  build: () => sr2task,
});
