/**
 * A run on disk: `<out>/<name>/` with config.resolved.yaml, cmd.txt, metrics.jsonl, checkpoints/, and after
 * completion the final weights (sr.safetensors, task.safetensors) and results.json.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { configHash, configToYaml, validateRun } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import { saveSafetensors, writeFileAtomic } from "../engine/safetensors.js";
import { TasksrError } from "../errors.js";
import { buildRun } from "./build.js";
import { flatEval, runTraining, type TrainResult } from "./trainer.js";

export interface RunFiles {
  dir: string;
  config: string;
  latest: string;
  sr: string;
  task: string;
  results: string;
}

export function runFiles(dir: string): RunFiles {
  return {
    dir,
    config: join(dir, "config.resolved.yaml"),
    latest: join(dir, "checkpoints", "latest.safetensors"),
    sr: join(dir, "sr.safetensors"),
    task: join(dir, "task.safetensors"),
    results: join(dir, "results.json"),
  };
}

/** The resolved config saved in a run folder. */
export function readRunConfig(dir: string): RunConfig {
  const f = runFiles(dir).config;
  if (!existsSync(f))
    throw new TasksrError("E_BAD_FILE", `${dir} is not a tasksr run folder (no config.resolved.yaml)`);
  return validateRun(parseYaml(readFileSync(f, "utf8")), f);
}

export interface RunResults {
  name: string;
  recipe: string;
  task: string;
  scale: number;
  configHash: string;
  /** Folder the config's relative data and weights paths were resolved from. */
  baseDir?: string;
  iterations: number;
  seconds: number;
  final: Record<string, number>;
  evals: { epoch: number; metrics: Record<string, number> }[];
}

export interface TrainRunOptions {
  /** Folder that holds run folders (default "runs"). */
  out?: string;
  /** "auto": continue from <out>/<name>/checkpoints/latest.safetensors when it exists; or a checkpoint path. */
  resume?: string;
  /** Folder relative data/weights paths are resolved from. */
  baseDir?: string;
  device?: string;
  /** The command line, recorded in cmd.txt. */
  argv?: readonly string[];
  log?: (line: string) => void;
  signal?: AbortSignal;
  stopAfterIters?: number;
}

/** Trains one config end to end, writing the run folder; returns the training result. */
export async function trainRun(
  cfg: RunConfig,
  o: TrainRunOptions = {},
): Promise<TrainResult & { results?: RunResults }> {
  const files = runFiles(resolve(o.out ?? "runs", cfg.name));
  mkdirSync(files.dir, { recursive: true });
  let resumeFrom: string | undefined;
  if (o.resume === "auto") resumeFrom = existsSync(files.latest) ? files.latest : undefined;
  else if (o.resume !== undefined) resumeFrom = o.resume;
  writeFileAtomic(files.config, configToYaml(cfg));
  appendFileSync(join(files.dir, "cmd.txt"), `${new Date().toISOString()} ${(o.argv ?? process.argv).join(" ")}\n`);
  const parts = await buildRun(cfg, { baseDir: o.baseDir, device: o.device });
  try {
    const log = o.log ?? ((l: string) => console.log(l));
    log(
      `run ${cfg.name}: ${cfg.recipe.name} on ${cfg.task} x${cfg.scale}, device ${parts.device}, ` +
        `${parts.datasets.train.length} train / ${parts.datasets.val.length} val images, ${parts.batchesPerEpoch} batches/epoch`,
    );
    const result = await runTraining(parts, {
      runDir: files.dir,
      resumeFrom,
      log,
      signal: o.signal,
      stopAfterIters: o.stopAfterIters,
    });
    if (result.stopped !== "completed") return result;
    if (parts.sr) saveSafetensors(files.sr, parts.sr.stateDict(), { arch: cfg.sr!.arch, scale: String(cfg.scale) });
    saveSafetensors(files.task, parts.task.net.stateDict(), { arch: cfg.taskNet.arch });
    const results: RunResults = {
      name: cfg.name,
      recipe: cfg.recipe.name,
      task: cfg.task,
      scale: cfg.scale,
      configHash: configHash(cfg),
      baseDir: resolve(o.baseDir ?? "."),
      iterations: result.iterations,
      seconds: result.seconds,
      final: result.final ? flatEval(result.final) : {},
      evals: result.evals.map((e) => ({ epoch: e.epoch, metrics: flatEval(e.result) })),
    };
    writeFileAtomic(files.results, `${JSON.stringify(results, null, 2)}\n`);
    return { ...result, results };
  } finally {
    parts.dispose();
  }
}

/** The final metrics of a finished run folder. */
export function readResults(dir: string): RunResults {
  const f = runFiles(dir).results;
  if (!existsSync(f)) throw new TasksrError("E_BAD_FILE", `${dir} has no results.json (the run did not finish)`);
  return JSON.parse(readFileSync(f, "utf8")) as RunResults;
}
