/**
 * The TDSR view of a study (the structure of TDSR's Table 1): one frozen task network, trained on HR (H→T), fed HR
 * images, interpolated LR and the output of every SR network the study trained; task metric and PSNR per input.
 * It shows task accuracy and PSNR moving apart: T→S may lose PSNR against SR-FT and still win on the task.
 */
import type { RunConfig } from "../config/schema.js";
import { noGrad } from "../engine/autograd.js";
import type { Tensor } from "../engine/tensor.js";
import { buildArch } from "../models/registry.js";
import type { SrNetwork } from "../models/types.js";
import { loadWeights } from "../nn/weights.js";
import { buildRun } from "../train/build.js";
import { type EvalResult, evaluatePipeline } from "../train/evaluate.js";

/** An input to the frozen task network: HR itself, or the output of an SR network (weights file or none). */
export type ViewInput =
  | { name: string; kind: "hr" }
  | { name: string; kind: "sr"; arch: string; options?: Record<string, unknown>; weights?: string };

export interface ViewRow {
  name: string;
  result: EvalResult;
}

/**
 * Evaluates the task network of `taskCfg` (an H→T run config) with weights `taskWeights` on each input; the data,
 * LR synthesis and evaluation options come from `taskCfg`.
 */
export async function evaluateThroughTask(
  taskCfg: RunConfig,
  taskWeights: string,
  inputs: readonly ViewInput[],
  o: { device?: string; baseDir?: string; onRow?: (row: ViewRow) => void } = {},
): Promise<ViewRow[]> {
  const cfg: RunConfig = {
    ...taskCfg,
    recipe: { name: "hr2task" },
    sr: undefined,
    taskNet: { ...taskCfg.taskNet, weights: taskWeights },
  };
  const parts = await buildRun(cfg, { device: o.device, baseDir: o.baseDir });
  const rows: ViewRow[] = [];
  try {
    for (const input of inputs) {
      let sr: SrNetwork | undefined;
      if (input.kind === "sr") {
        sr = buildArch(input.arch, { scale: cfg.scale, ...input.options }, "sr") as unknown as SrNetwork;
        if (input.weights !== undefined) loadWeights(sr, input.weights, { strict: true });
        sr.to(parts.device);
      }
      try {
        const net = sr;
        const result = await evaluatePipeline({
          batches: parts.val.epoch(0),
          degrade: parts.evalDegrade(),
          input: (lr: Tensor, batch) => (net === undefined ? batch.hr.alias() : noGrad(() => net.call(lr))),
          evaluator: parts.task.evaluator(),
          psnr: net === undefined ? undefined : cfg.eval.psnr,
          ssim: cfg.eval.ssim,
          scale: cfg.scale,
          limit: cfg.eval.limit,
          nets: [parts.task.net, net],
        });
        const row = { name: input.name, result };
        rows.push(row);
        o.onRow?.(row);
      } finally {
        sr?.dispose();
      }
    }
  } finally {
    parts.dispose();
  }
  return rows;
}
