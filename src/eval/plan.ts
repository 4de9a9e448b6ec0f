/**
 * What `tasksr eval` evaluates, resolved from its arguments into one plan: the validation data, the LR synthesis,
 * the image the task network sees (HR, an interpolation of LR, or an SR network's output) and the task network.
 *
 * - a run folder: its resolved config, its final sr/task weights, and its setting's test pipeline;
 * - a config: the run it produces (`<out>/<name>`) when that has finished, otherwise the weights the config names
 *   (SR4IR's `--test_only`);
 * - `--sr X --task Y`: any SR source through any task network (TDSR's table: every SR method into one fixed
 *   detector), with data and task from `--config` or from Y's run config.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import type { RunConfig } from "../config/schema.js";
import { createDataset } from "../data/datasets/registry.js";
import type { Dataset } from "../data/types.js";
import * as F from "../engine/functional.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import { isRunFolder, type LoadedSr, type LoadedTask, loadSr, loadTask } from "../infer/sources.js";
import "../models/index.js";
import { validationSet } from "../data/run.js";
import { buildArch } from "../models/registry.js";
import type { SrNetwork } from "../models/types.js";
import { loadNetWeights } from "../nn/weights.js";
import { settingLabel } from "../report/settings.js";
import "../tasks/index.js";
import { buildTaskAdapter } from "../tasks/registry.js";
import { getRecipe } from "../train/recipes/index.js";
import { readResults, readRunConfig, runFiles } from "../train/run.js";

/** The image the task network sees for an LR batch. */
export type PipelineInput =
  | { kind: "hr" }
  | { kind: "interpolate"; mode: "bicubic" | "bilinear" }
  | { kind: "sr"; net: SrNetwork };

/**
 * The `interpolate` input: LR upsampled ×scale — bilinear with align_corners (SR4IR's L→T upsampler), bicubic
 * without (its bicubic "SR net"). [N, 3, h, w] -> [N, 3, h·s, w·s].
 */
export const interpolateLr = (lr: Tensor, mode: "bicubic" | "bilinear", scale: number): Tensor =>
  F.interpolate(lr, { size: [lr.size(2) * scale, lr.size(3) * scale], mode, alignCorners: mode === "bilinear" });

export interface EvalPlan {
  /** Data, task, LR synthesis and evaluation options; `scale` is the evaluation scale. */
  cfg: RunConfig;
  val: Dataset;
  input: PipelineInput;
  /** e.g. "SR runs/x/sr.safetensors (edsr-tiny x4)", "bicubic x4", "HR". */
  inputLabel: string;
  task: LoadedTask;
  /** The paper's setting name, or "<input> → <task net>" for a pair. */
  setting: string;
  runDir?: string;
  /** Folder the config's relative paths (eval.lpips weights) are taken from. */
  baseDir?: string;
  /** Frees the networks. */
  dispose(): void;
}

export interface PlanOptions {
  device: string;
  /** Folder relative dataset paths are resolved from (default: where the config or run says). */
  baseDir?: string;
  /** Evaluate at most this many validation images. */
  limit?: number;
}

async function openVal(cfg: RunConfig, baseDir: string, limit?: number): Promise<Dataset> {
  const full = await createDataset(cfg.data.val, { baseDir, where: "data.val" });
  if (full.task !== cfg.task) {
    throw new TasksrError("E_CONFIG", `data.val: a ${full.task} dataset, but the task is ${cfg.task}`);
  }
  return validationSet(full, cfg, limit);
}

/** The folder a run's relative dataset paths were taken from (recorded in results.json), else the working directory. */
function runBaseDir(dir: string): string {
  const f = runFiles(dir).results;
  if (existsSync(f)) {
    const base = readResults(dir).baseDir;
    if (base !== undefined) return base;
  }
  return process.cwd();
}

function inputOf(
  recipe: RunConfig["recipe"]["name"],
  sr: LoadedSr | undefined,
  scale: number,
): { input: PipelineInput; label: string } {
  if (recipe === "hr2task") return { input: { kind: "hr" }, label: "HR" };
  if (recipe === "lr2task") return { input: { kind: "interpolate", mode: "bilinear" }, label: `bilinear x${scale}` };
  return { input: { kind: "sr", net: sr!.net }, label: `SR ${sr!.description}` };
}

/** Completes a plan with the disposal of its networks. */
function withDispose(p: Omit<EvalPlan, "dispose">, sr: LoadedSr | undefined): EvalPlan {
  return {
    ...p,
    dispose() {
      sr?.net.dispose();
      p.task.adapter.net.dispose();
    },
  };
}

/** A finished (or checkpointed) run folder, through its own test pipeline. */
export async function planFromRun(dir: string, o: PlanOptions): Promise<EvalPlan> {
  const cfg = readRunConfig(dir);
  const baseDir = o.baseDir ?? runBaseDir(dir);
  const val = await openVal(cfg, baseDir, o.limit);
  const task = loadTask(dir, cfg, val.classes.length, { device: o.device, flag: "--run" });
  let sr: LoadedSr | undefined;
  try {
    if (getRecipe(cfg.recipe.name).nets.usesSr) sr = loadSr(dir, { device: o.device, flag: "--run" });
  } catch (err) {
    task.adapter.net.dispose();
    throw err;
  }
  const { input, label } = inputOf(cfg.recipe.name, sr, cfg.scale);
  return withDispose(
    { cfg, val, input, inputLabel: label, task, setting: settingLabel(cfg.recipe.name), runDir: dir, baseDir },
    sr,
  );
}

/** A config: its run folder when that finished, else the networks with the weights the config names. */
export async function planFromConfig(
  cfg: RunConfig,
  configPath: string,
  o: PlanOptions & { out: string },
): Promise<EvalPlan> {
  const runDir = resolve(o.out, cfg.name);
  if (existsSync(runFiles(runDir).task))
    return planFromRun(runDir, { ...o, baseDir: o.baseDir ?? dirname(resolve(configPath)) });
  const baseDir = o.baseDir ?? dirname(resolve(configPath));
  if (cfg.taskNet.weights === undefined) {
    throw new TasksrError(
      "E_CLI_ARG",
      `--config ${configPath}: ${runDir} has no trained task network and the config names no taskNet.weights; ` +
        `train it first (tasksr train --config ${configPath}) or set taskNet.weights`,
    );
  }
  const val = await openVal(cfg, baseDir, o.limit);
  const adapter = buildTaskAdapter(cfg.task, cfg.taskNet.arch, cfg.taskNet.options, val.classes.length);
  let sr: SrNetwork | undefined;
  try {
    loadNetWeights(adapter.net, cfg.taskNet, "taskNet", baseDir);
    adapter.net.to(o.device).requiresGrad_(false).eval();
    if (getRecipe(cfg.recipe.name).nets.usesSr && cfg.sr) {
      sr = buildArch(cfg.sr.arch, { scale: cfg.scale, ...cfg.sr.options }, "sr");
      loadNetWeights(sr, cfg.sr, "sr", baseDir);
      sr.to(o.device).requiresGrad_(false).eval();
    }
  } catch (err) {
    adapter.net.dispose();
    sr?.dispose();
    throw err;
  }
  const where = (w: string | undefined) => (w === undefined ? "untrained" : isAbsolute(w) ? w : resolve(baseDir, w));
  const task: LoadedTask = {
    adapter,
    arch: cfg.taskNet.arch,
    description: `${where(cfg.taskNet.weights)} (${cfg.taskNet.arch})`,
  };
  const loaded =
    sr && cfg.sr
      ? {
          net: sr,
          arch: cfg.sr.arch,
          scale: cfg.scale,
          description: `${where(cfg.sr.weights)} (${cfg.sr.arch} x${cfg.scale})`,
        }
      : undefined;
  const { input, label } = inputOf(cfg.recipe.name, loaded, cfg.scale);
  return withDispose(
    { cfg, val, input, inputLabel: label, task, setting: settingLabel(cfg.recipe.name), baseDir },
    loaded,
  );
}

export interface PairOptions extends PlanOptions {
  /** Data and task from this config (required when --task is a weights file). */
  cfg?: RunConfig;
  configPath?: string;
  /** Evaluation scale (default: the SR network's, else the config's). */
  scale?: number;
  /** Architecture/scale of plain SR weights. */
  arch?: string;
}

/**
 * `--sr X --task Y`: X is hr, bicubic, bilinear, a run folder or a weights file; Y a run folder or weights file.
 */
export async function planFromPair(srSpec: string, taskSpec: string, o: PairOptions): Promise<EvalPlan> {
  let cfg = o.cfg;
  let baseDir = o.baseDir ?? (o.configPath ? dirname(resolve(o.configPath)) : undefined);
  if (cfg === undefined) {
    if (!isRunFolder(taskSpec)) {
      throw new TasksrError("E_CLI_ARG", `--task ${taskSpec} is not a run folder; pass --config for the data and task`);
    }
    cfg = readRunConfig(taskSpec);
    baseDir ??= runBaseDir(taskSpec);
  }
  const fixed = srSpec === "hr" || srSpec === "bicubic" || srSpec === "bilinear";
  let sr: LoadedSr | undefined;
  if (!fixed) sr = loadSr(srSpec, { device: o.device, arch: o.arch, scale: o.scale });
  const scale = o.scale ?? sr?.scale ?? cfg.scale;
  if (scale !== 2 && scale !== 3 && scale !== 4 && scale !== 8) {
    sr?.net.dispose();
    throw new TasksrError("E_CLI_ARG", `--scale must be 2, 3, 4 or 8, got ${scale}`);
  }
  cfg = { ...cfg, scale };
  let val: Dataset;
  let task: LoadedTask;
  try {
    val = await openVal(cfg, baseDir ?? process.cwd(), o.limit);
    task = loadTask(taskSpec, cfg, val.classes.length, { device: o.device });
  } catch (err) {
    sr?.net.dispose();
    throw err;
  }
  const input: PipelineInput = sr
    ? { kind: "sr", net: sr.net }
    : srSpec === "hr"
      ? { kind: "hr" }
      : { kind: "interpolate", mode: srSpec as "bicubic" | "bilinear" };
  const inputLabel = sr ? `SR ${sr.description}` : srSpec === "hr" ? "HR" : `${srSpec} x${scale}`;
  const from = task.cfg ? settingLabel(task.cfg.recipe.name) : task.arch;
  const srName = sr ? (sr.cfg ? settingLabel(sr.cfg.recipe.name) : sr.arch) : srSpec;
  return withDispose(
    { cfg, val, input, inputLabel, task, setting: `${srName} → ${from} task net`, baseDir: baseDir ?? process.cwd() },
    sr,
  );
}
