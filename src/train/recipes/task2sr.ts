/**
 * T→S (= TDSR, methods.md B2 / A10): the SR net is trained with alpha * L_rec(SR, HR) + beta * L_task(T(SR), y)
 * through a frozen task net (eval mode, no parameter gradients), so the task gradient reaches the SR net only.
 * alpha/beta follow TDSR's staged schedule (`100k:1:0+200k:1:0.01`) or stay constant.
 */

import { z } from "zod";
import { PixelLossName } from "../../losses/pixel.js";
import { pixelLoss } from "../losses.js";
import { type LossStage, parseLossStages, stageAt } from "../schedule.js";
import { defineRecipe } from "./registry.js";
import { srInference } from "./simple.js";
import type { Recipe } from "./types.js";

export function task2sr(o: { recLoss: string; stages: readonly LossStage[] }): Recipe {
  return {
    name: "task2sr",
    producesSr: true,
    step(ctx, batch, lr) {
      const { alpha, beta } = stageAt(o.stages, ctx.iteration);
      const sr = ctx.sr!.train();
      // The task net is a fixed judge: BatchNorm uses running statistics and its weights get no gradient.
      ctx.task.net.eval();
      ctx.task.net.requiresGrad_(false);
      const out: Record<string, number> = { alpha, beta };
      const loss = ctx.autocast(() => {
        const x = sr.call(lr);
        const rec = pixelLoss(o.recLoss, x, batch.hr);
        out.rec = rec.item();
        if (beta === 0) return rec.mul(alpha);
        const t = ctx.task.loss(x, batch).total;
        out.task = t.item();
        return rec.mul(alpha).add(t.mul(beta));
      });
      ctx.srStep!.backwardStep(loss);
      return out;
    },
    testInput: (ctx, lr) => srInference(ctx, lr),
  };
}

/**
 * T→S (= TDSR): SR net trained with alpha * L_rec + beta * L_task through a frozen task net (taskNet.weights, e.g.
 * from an H→T run). `stages` in TDSR notation ("100k:1:0+200k:1:0.01"); without it, alpha/beta are constant.
 */
export const task2srConfig = z.strictObject({
  name: z.literal("task2sr"),
  recLoss: PixelLossName.default("l1"),
  stages: z.string().optional(),
  alpha: z.number().min(0).default(1),
  beta: z.number().min(0).default(1),
});

defineRecipe({
  name: "task2sr",
  schema: task2srConfig,
  label: "T→S",
  nets: { trainsSr: true, trainsTask: false, usesSr: true },
  links: { taskNet: { from: "hr2task", required: true } },
  check: (c) =>
    c.taskNet.weights === undefined
      ? ["taskNet.weights: T→S trains SR through a frozen task net trained on HR (an H→T run's task.safetensors)"]
      : [],
  build: (r, o) =>
    task2sr({
      recLoss: r.recLoss,
      stages:
        r.stages !== undefined
          ? parseLossStages(r.stages, o.itersPerEpoch)
          : [{ iters: Number.POSITIVE_INFINITY, alpha: r.alpha, beta: r.beta }],
    }),
});
