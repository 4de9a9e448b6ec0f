/**
 * S+T (methods.md A10, "SwT"): SR and task networks trained together by one backward of
 * pixelWeight * L_pix(SR, HR) + taskWeight * L_task(T(SR), y); the task gradient reaches the SR net.
 */
import { z } from "zod";
import { PixelLossName } from "../../losses/pixel.js";
import { pixelLoss } from "../losses.js";
import { backward } from "../stepper.js";
import { defineRecipe } from "./registry.js";
import { srInference } from "./simple.js";
import type { Recipe } from "./types.js";

export function joint(o: { pixelLoss: string; pixelWeight: number; taskWeight: number }): Recipe {
  return {
    name: "joint",
    producesSr: true,
    step(ctx, batch, lr) {
      const sr = ctx.sr!.train();
      ctx.task.net.train();
      const parts: Record<string, number> = {};
      const loss = ctx.autocast(() => {
        const x = sr.call(lr);
        const pix = pixelLoss(o.pixelLoss, x, batch.hr);
        const task = ctx.task.loss(x, batch).total;
        parts.pix = pix.item();
        parts.task = task.item();
        return pix.mul(o.pixelWeight).add(task.mul(o.taskWeight));
      });
      // One backward fills both networks' gradients, then each optimizer steps.
      backward(loss, [ctx.srStep!, ctx.taskStep!]);
      ctx.srStep!.step();
      ctx.taskStep!.step();
      return parts;
    },
    testInput: (ctx, lr) => srInference(ctx, lr),
  };
}

/** S+T: both networks trained jointly by one backward of pixel + task loss. */
export const jointConfig = z.strictObject({
  name: z.literal("joint"),
  pixelLoss: PixelLossName.default("l1"),
  pixelWeight: z.number().min(0).default(1),
  taskWeight: z.number().min(0).default(1),
});

defineRecipe({
  name: "joint",
  schema: jointConfig,
  label: "S+T",
  nets: { trainsSr: true, trainsTask: true, usesSr: true },
  build: (r) => joint(r),
});
