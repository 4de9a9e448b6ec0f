/**
 * SR4IR (methods.md A8), per mini-batch:
 *   phase 1 — update S with L_pix(S(x_l), x_h) + TDP(T_eval(S(x_l)), T_eval(x_h)); T frozen in eval mode, HR
 *             features without gradient; TDP off during the warm-up;
 *   phase 2 — update T on the chosen inputs (S re-run with the updated weights and detached, HR, CQMix of both),
 *             each task loss weighted `inputWeight` (0.34); the task loss never reaches S.
 * `alternate: false` is the "no alternation" ablation: one backward of all terms into both networks.
 */

import { z } from "zod";
import { count, durationUnit } from "../../config/fields.js";
import { cqmix } from "../../data/cqmix.js";
import { noGrad } from "../../engine/autograd.js";
import type { Tensor } from "../../engine/tensor.js";
import { TasksrError } from "../../errors.js";
import { PixelLossName } from "../../losses/pixel.js";
import type { Batch } from "../../tasks/adapter.js";
import { pixelLoss, tdpLoss } from "../losses.js";
import { backward } from "../stepper.js";
import { defineRecipe } from "./registry.js";
import { srInference } from "./simple.js";
import type { Recipe, RecipeContext } from "./types.js";

/** TDP loss: weighted criterion between task-net features of SR and HR (A6.2). */
const Tdp = z.strictObject({
  taps: z.record(z.string(), z.number().min(0)),
  weight: z.number().min(0).default(1),
  criterion: PixelLossName.default("l1"),
});

/** CQMix (A7): per-image grid x grid Bernoulli(p) mask, nearest-upsampled; 1 = SR pixel. */
const CqMix = z.strictObject({ grid: count, p: z.number().min(0).max(1).default(0.5) });

/**
 * SR4IR (A8): phase 1 updates SR with pixel + TDP (task net frozen, eval mode); phase 2 updates the task net on the
 * chosen inputs (SR re-run detached, HR, CQMix), each weighted `inputWeight`. `alternate: false` is the "no
 * alternation" ablation (one joint backward).
 */
export const sr4irConfig = z.strictObject({
  name: z.literal("sr4ir"),
  pixelLoss: PixelLossName.default("l1"),
  warmup: z.strictObject({ length: z.number().min(0), unit: durationUnit }).default({ length: 0, unit: "epochs" }),
  tdp: Tdp.optional(),
  cqmix: CqMix.optional(),
  taskInputs: z
    .array(z.enum(["sr", "hr", "cqmix"]))
    .min(1)
    .default(["sr", "hr", "cqmix"]),
  inputWeight: z.number().min(0).default(0.34),
  alternate: z.boolean().default(true),
});
type Sr4irConfig = z.output<typeof sr4irConfig>;

export interface Sr4irOptions {
  cfg: Sr4irConfig;
  /** Iterations of the TDP warm-up (converted from the config's unit by the caller). */
  warmupIters: number;
  /** CQMix of a (detached) SR batch and its HR batch; undefined when the config has no cqmix block. */
  cqmix?: (sr: Tensor, hr: Tensor, ctx: RecipeContext) => Tensor;
}

export function sr4ir(o: Sr4irOptions): Recipe {
  const { cfg } = o;
  if (cfg.taskInputs.includes("cqmix") && o.cqmix === undefined) {
    throw new TasksrError("E_CONFIG", "recipe.taskInputs include cqmix but no CQMix is configured (recipe.cqmix)");
  }
  const tdpActive = (ctx: RecipeContext) => cfg.tdp !== undefined && ctx.iteration >= o.warmupIters;

  /** L_pix (+ TDP) on the SR output x of the batch; T must be in eval mode with frozen weights. */
  function srTerms(ctx: RecipeContext, x: Tensor, batch: Batch, out: Record<string, number>): Tensor {
    const hr = batch.hr;
    const pix = pixelLoss(cfg.pixelLoss, x, hr);
    out.pix = pix.item();
    if (!tdpActive(ctx)) return pix;
    const names = Object.keys(cfg.tdp!.taps);
    const fHr = noGrad(() => ctx.task.taps(hr, names, batch));
    const fSr = ctx.task.taps(x, names, batch);
    const tdp = tdpLoss(fSr, fHr, cfg.tdp!.taps, cfg.tdp!.criterion, cfg.tdp!.weight);
    out.tdp = tdp.item();
    return pix.add(tdp);
  }

  /** inputWeight * sum of the task losses on the configured inputs (T in train mode). */
  function taskTerms(
    ctx: RecipeContext,
    sr: Tensor,
    hr: Tensor,
    batch: Parameters<Recipe["step"]>[1],
    out: Record<string, number>,
  ): Tensor {
    let total: Tensor | undefined;
    for (const kind of cfg.taskInputs) {
      const x = kind === "sr" ? sr : kind === "hr" ? hr : o.cqmix!(sr.detach(), hr, ctx);
      const l = ctx.task.loss(x, batch).total.mul(cfg.inputWeight);
      out[`task_${kind}`] = l.item() / cfg.inputWeight;
      total = total === undefined ? l : total.add(l);
    }
    return total!;
  }

  /**
   * Freezes (false) or unfreezes (true) the task parameters the task optimizer trains; parameters the task network
   * keeps frozen for good (e.g. a detector's first backbone stages) stay frozen.
   */
  function setTaskTrainable(ctx: RecipeContext, on: boolean): void {
    for (const g of ctx.taskStep!.optimizer.paramGroups) for (const p of g.params) p.requiresGrad = on;
  }

  return {
    name: "sr4ir",
    producesSr: true,
    step(ctx, batch, lr) {
      const out: Record<string, number> = {};
      const srNet = ctx.sr!.train();
      if (!cfg.alternate) {
        ctx.task.net.train();
        setTaskTrainable(ctx, true);
        const loss = ctx.autocast(() => {
          const x = srNet.call(lr);
          ctx.task.net.eval();
          const s = srTerms(ctx, x, batch, out);
          ctx.task.net.train();
          return s.add(taskTerms(ctx, x, batch.hr, batch, out));
        });
        backward(loss, [ctx.srStep!, ctx.taskStep!]);
        ctx.srStep!.step();
        ctx.taskStep!.step();
        return out;
      }
      // Phase 1: SR update through a frozen task net in eval mode (BatchNorm running statistics).
      ctx.task.net.eval();
      setTaskTrainable(ctx, false);
      const l1 = ctx.autocast(() => srTerms(ctx, srNet.call(lr), batch, out));
      ctx.srStep!.backwardStep(l1);
      // Phase 2: task update on SR from the updated S (detached), HR and CQMix; nothing reaches S.
      ctx.task.net.train();
      setTaskTrainable(ctx, true);
      const sr = noGrad(() => srNet.call(lr));
      const l2 = ctx.autocast(() => taskTerms(ctx, sr, batch.hr, batch, out));
      ctx.taskStep!.backwardStep(l2);
      return out;
    },
    testInput: (ctx, lr) => srInference(ctx, lr),
  };
}

defineRecipe({
  name: "sr4ir",
  schema: sr4irConfig,
  label: "SR4IR",
  nets: { trainsSr: true, trainsTask: true, usesSr: true },
  check: (_c, r) =>
    r.taskInputs.includes("cqmix") && r.cqmix === undefined
      ? [
          "recipe.cqmix: taskInputs include cqmix, which needs a cqmix block (e.g. { grid: 4 }); or drop cqmix from taskInputs",
        ]
      : [],
  build: (r, o) => {
    const warmupIters = Math.round(r.warmup.unit === "epochs" ? r.warmup.length * o.itersPerEpoch : r.warmup.length);
    const mix = r.cqmix;
    return sr4ir({
      cfg: r,
      warmupIters,
      cqmix: mix
        ? (sr, hr, ctx) => cqmix(sr, hr, { grid: mix.grid, p: mix.p, generator: ctx.cqmixGenerator, shard: ctx.shard })
        : undefined,
    });
  },
});
