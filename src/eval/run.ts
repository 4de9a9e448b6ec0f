/**
 * Runs an evaluation plan: validation batches -> LR synthesis -> the plan's input (SR network, interpolation or HR)
 * -> task network, reporting the task metric, PSNR under both protocols and SSIM (src/train/evaluate.ts).
 * The pipeline is the trainer's evaluation (padding of HR sides to a multiple of the scale and cropping back, the
 * fixed evaluation LR stream), so `tasksr eval --run` reproduces the numbers of the run's final evaluation.
 */
import type { RunConfig } from "../config/schema.js";
import { spreadFirst } from "../data/datasets/subset.js";
import { type Batch, collateFor } from "../data/loader/collate.js";
import { DataLoader } from "../data/loader/loader.js";
import { dataWorkers, evalDegradation, presets } from "../data/run.js";
import type { Target } from "../data/types.js";
import { noGrad } from "../engine/autograd.js";
import type { Tensor } from "../engine/tensor.js";
import { lpipsFromConfig } from "../metrics/lpips.js";
import { primaryMetric } from "../report/settings.js";
import { evaluatePipeline } from "../train/evaluate.js";
import { flatEval } from "../train/trainer.js";
import { type EvalPlan, interpolateLr, type PipelineInput } from "./plan.js";
import { DEFAULT_VIS_COUNT, Visualizer } from "./visualize.js";

export interface EvalReport {
  /** Paper setting name, or "<input> → <task net>" for --sr/--task pairs. */
  setting: string;
  run?: string;
  task: string;
  scale: number;
  /** What the task network saw, e.g. "SR runs/x/sr.safetensors (edsr-tiny x4)". */
  input: string;
  taskNet: string;
  /** Key of the task's headline metric in `metrics` (top1, mIoU, AP). */
  primary: string;
  images: number;
  seconds: number;
  /** Task metrics (percent), psnr_sr4ir / psnr_basicsr (dB) and ssim. */
  metrics: Record<string, number>;
  /** Files written by --visualize. */
  visualized?: string[];
}

export interface EvaluateOptions {
  device: string;
  /** Write visualisations of the first `count` images into `dir`. */
  visualize?: { dir: string; count?: number };
  onProgress?: (images: number, total: number) => void;
}

/** The task network's input for an LR batch, at the HR batch's size (the caller's scope owns it). */
function inputFn(input: PipelineInput, cfg: RunConfig): (lr: Tensor, hr: Tensor) => Tensor {
  switch (input.kind) {
    case "hr":
      return (_lr, hr) => hr.alias();
    case "interpolate":
      // The output has the padded HR size; evaluatePipeline crops it back.
      return (lr) => interpolateLr(lr, input.mode, cfg.scale);
    case "sr":
      return (lr) => noGrad(() => input.net.call(lr));
  }
}

export async function evaluatePlan(plan: EvalPlan, o: EvaluateOptions): Promise<EvalReport> {
  const cfg = plan.cfg;
  // The visualised images are the first ones evaluated: spread them over the split.
  const val = o.visualize ? spreadFirst(plan.val, o.visualize.count ?? DEFAULT_VIS_COUNT) : plan.val;
  const loader = new DataLoader<Target, Batch>(val, {
    batchSize: cfg.eval.batchSize,
    collate: collateFor(cfg.task, { device: o.device, scale: cfg.scale }),
    transform: presets(cfg).val,
    prefetch: cfg.data.prefetch,
    workers: dataWorkers(cfg),
  });
  const toInput = inputFn(plan.input, cfg);
  const inputName = plan.input.kind === "interpolate" ? plan.input.mode : plan.input.kind;
  const vis = o.visualize
    ? new Visualizer({ ...o.visualize, classes: plan.val.classes, inputName }, plan.task.adapter.net)
    : undefined;
  let result: Awaited<ReturnType<typeof evaluatePipeline>>;
  const lpips =
    cfg.eval.lpips && plan.input.kind !== "hr" ? lpipsFromConfig(cfg.eval.lpips, plan.baseDir, o.device) : undefined;
  try {
    result = await evaluatePipeline({
      batches: loader.epoch(0),
      degrade: evalDegradation(cfg),
      input: (lr, batch) => toInput(lr, batch.hr),
      observe: vis ? (lr, x, batch) => vis.capture(lr, x, batch) : undefined,
      evaluator: plan.task.adapter.evaluator(),
      psnr: plan.input.kind === "hr" ? undefined : cfg.eval.psnr,
      ssim: cfg.eval.ssim,
      lpips,
      scale: cfg.scale,
      onProgress: (n) => o.onProgress?.(n, plan.val.length),
    });
  } finally {
    lpips?.dispose();
    await loader.close();
  }
  const report: EvalReport = {
    setting: plan.setting,
    ...(plan.runDir ? { run: plan.runDir } : {}),
    task: cfg.task,
    scale: cfg.scale,
    input: plan.inputLabel,
    taskNet: plan.task.description,
    primary: primaryMetric(cfg.task),
    images: result.images,
    seconds: result.seconds,
    metrics: flatEval(result),
  };
  if (vis) report.visualized = await vis.write();
  return report;
}
