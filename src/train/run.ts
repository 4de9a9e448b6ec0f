/**
 * A run on disk: `<out>/<name>/` with config.resolved.yaml, cmd.txt, metrics.jsonl, checkpoints/, segments.json, and
 * after completion the final weights (sr.safetensors, task.safetensors) and results.json; while a process trains it,
 * its lock (lock.ts). tasksr marks the folder as its own (folder.ts).
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { configHash, configToYaml, validateRun } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import type { ProcessGroup } from "../dist/group.js";
import { saveSafetensors } from "../engine/safetensors.js";
import { TasksrError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomic.js";
import { buildRun } from "./build.js";
import { differentConfig, epochCheckpointName, type LoopState, readCheckpointState } from "./checkpoint.js";
import { childFolder, claimFolder } from "./folder.js";
import { lockRunFolder } from "./lock.js";
import { readEvals, rewindJsonl } from "./logging.js";
import { beginSegment, finishSegments } from "./segments.js";
import { removeStaleTemps } from "./temps.js";
import { flatEval, runTraining, type TrainResult } from "./trainer.js";

export interface RunFiles {
  dir: string;
  config: string;
  metrics: string;
  latest: string;
  sr: string;
  task: string;
  results: string;
}

export function runFiles(dir: string): RunFiles {
  return {
    dir,
    config: join(dir, "config.resolved.yaml"),
    metrics: join(dir, "metrics.jsonl"),
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
  /**
   * "auto": continue from <out>/<name>/checkpoints/latest.safetensors when it exists (a finished run is left as it
   * is); or a checkpoint path.
   */
  resume?: string;
  /** Folder relative data/weights paths are resolved from. */
  baseDir?: string;
  device?: string;
  /** The command line, recorded in cmd.txt. */
  argv?: readonly string[];
  log?: (line: string) => void;
  signal?: AbortSignal;
  stopAfterIters?: number;
  /** Distributed training: this process's group; rank 0 alone writes the run folder (docs/distributed.md). */
  group?: ProcessGroup;
}

/** What rank 0 tells the other ranks before training: where to resume from, or why there is nothing to train. */
interface StartDecision {
  resumeFrom?: string;
  /** The results of the finished run: nothing to train. */
  finished?: RunResults;
  error?: string;
}

/** What trainRun returns: the training result, and the run's results once it is complete. */
export type TrainRunResult = TrainResult & {
  results?: RunResults;
  /** The run had finished before: nothing was trained or evaluated, `results` are the stored ones. */
  finishedBefore?: boolean;
};

/**
 * Trains one config end to end in its run folder `<out>/<name>/`, holding the folder's lock throughout. Nothing in
 * the folder is written until the resume checks pass; resuming a finished run does nothing.
 */
export async function trainRun(cfg: RunConfig, o: TrainRunOptions = {}): Promise<TrainRunResult> {
  const group = o.group !== undefined && o.group.world > 1 ? o.group : undefined;
  const files = runFiles(childFolder(o.out ?? "runs", cfg.name, "name"));
  if (group !== undefined && group.rank !== 0) return trainFollower(cfg, files, o, group);
  let decided = false;
  const decide = (d: StartDecision) => {
    if (group === undefined || decided) return;
    decided = true;
    group.broadcastJson(d);
  };
  try {
    claimFolder(files.dir, "run");
    const release = lockRunFolder(files.dir);
    try {
      return await trainLocked(cfg, files, { ...o, group }, decide);
    } finally {
      release();
    }
  } catch (err) {
    // The other ranks wait for the decision: give them the reason instead of leaving them to time out.
    decide({ error: err instanceof Error ? err.message : String(err) });
    throw err;
  }
}

/** Rank r >= 1: trains beside rank 0 without writing anything; the run folder is rank 0's. */
async function trainFollower(
  cfg: RunConfig,
  files: RunFiles,
  o: TrainRunOptions,
  group: ProcessGroup,
): Promise<TrainRunResult> {
  const d = group.broadcastJson<StartDecision>({});
  if (d.error !== undefined) {
    throw new TasksrError("E_DIST", `rank ${group.rank}: rank 0 could not start the run: ${d.error}`);
  }
  if (d.finished) {
    return {
      runDir: files.dir,
      final: undefined,
      evals: [],
      stopped: "completed",
      iterations: 0,
      seconds: 0,
      finishedBefore: true,
    };
  }
  const parts = await buildRun(cfg, { baseDir: o.baseDir, device: o.device, group });
  try {
    const result = await runTraining(parts, {
      runDir: files.dir,
      resumeFrom: d.resumeFrom,
      signal: o.signal,
      stopAfterIters: o.stopAfterIters,
    });
    const results = group.broadcastJson<RunResults | null>(null) ?? undefined;
    return { ...result, results };
  } finally {
    parts.dispose();
  }
}

async function trainLocked(
  cfg: RunConfig,
  files: RunFiles,
  o: TrainRunOptions,
  decide: (d: StartDecision) => void,
): Promise<TrainRunResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const stale = removeStaleTemps(files.dir);
  if (stale.length > 0) log(`removed ${stale.length} temp file(s) left by killed writes: ${stale.join(", ")}`);
  const hash = configHash(cfg);
  const auto = o.resume === "auto";
  const given = o.resume === undefined ? undefined : resolve(o.resume);
  const resumeFrom = auto ? (existsSync(files.latest) ? files.latest : undefined) : given;
  const state = resumeFrom === undefined ? undefined : readCheckpointState(resumeFrom);
  if (state !== undefined && state.configHash !== hash) throw differentConfig(resumeFrom!, state.configHash, hash);
  if (auto && existsSync(files.results)) {
    const results = readResults(files.dir);
    if (results.configHash !== hash) throw differentConfig(files.results, results.configHash, hash);
    log(`run ${cfg.name} has finished: nothing to train (results in ${files.results})`);
    decide({ finished: results });
    const { iterations, seconds } = results;
    return {
      runDir: files.dir,
      final: undefined,
      evals: [],
      stopped: "completed",
      iterations,
      seconds,
      results,
      finishedBefore: true,
    };
  }
  writeFileAtomic(files.config, configToYaml(cfg));
  appendFileSync(join(files.dir, "cmd.txt"), `${new Date().toISOString()} ${(o.argv ?? process.argv).join(" ")}\n`);
  if (resumeFrom !== files.latest) unfinish(files);
  if (state === undefined) {
    // A new start: the records of an earlier run in this folder are not part of this one.
    rewindJsonl(files.metrics, 0, 0);
  } else {
    if (state.epoch === cfg.train.epochs) {
      // Resuming a run that ended with its last checkpoint re-runs the final evaluation: drop the recorded one first.
      rewindJsonl(files.metrics, state.iteration, state.epoch - 1);
    }
    if (resumeFrom === files.latest) restoreEpochSnapshot(files, state, cfg.train.saveEvery, log);
  }
  decide({ resumeFrom });
  const parts = await buildRun(cfg, { baseDir: o.baseDir, device: o.device, group: o.group });
  try {
    const world = o.group?.world ?? 1;
    const batch =
      world > 1
        ? `batch ${cfg.train.batchSize} per process x ${world} processes = global batch ${cfg.train.batchSize * world}`
        : `batch ${cfg.train.batchSize}`;
    log(
      `run ${cfg.name}: ${cfg.recipe.name} on ${cfg.task} x${cfg.scale}, device ${parts.device}, ` +
        `${parts.datasets.train.length} train / ${parts.datasets.val.length} val images, ${batch}, ${parts.batchesPerEpoch} batches/epoch`,
    );
    beginSegment(files.dir, state?.iteration ?? 0, state !== undefined);
    const result = await runTraining(parts, {
      runDir: files.dir,
      resumeFrom,
      log,
      signal: o.signal,
      stopAfterIters: o.stopAfterIters,
    });
    if (result.stopped !== "completed") {
      o.group?.broadcastJson(null);
      return result;
    }
    if (parts.sr) saveSafetensors(files.sr, parts.sr.stateDict(), { arch: cfg.sr!.arch, scale: String(cfg.scale) });
    saveSafetensors(files.task, parts.task.net.stateDict(), { arch: cfg.taskNet.arch });
    const results: RunResults = {
      name: cfg.name,
      recipe: cfg.recipe.name,
      task: cfg.task,
      scale: cfg.scale,
      configHash: hash,
      baseDir: resolve(o.baseDir ?? "."),
      iterations: result.iterations,
      seconds: finishSegments(files.dir, result.seconds),
      final: result.final ? flatEval(result.final) : {},
      // Every segment's evaluations: metrics.jsonl holds them all, rewound to each resume's checkpoint.
      evals: readEvals(files.metrics),
    };
    writeFileAtomic(files.results, `${JSON.stringify(results, null, 2)}\n`);
    // The other ranks return the run's results too (a distributed study goes on with them).
    o.group?.broadcastJson(results);
    return { ...result, results };
  } finally {
    parts.dispose();
  }
}

/**
 * A run continued from another point than its latest checkpoint, or started anew, is not finished any more: its
 * final weights and results (of the earlier run) are removed, so that `eval --run` and studies never pair them with
 * this config.
 */
function unfinish(files: RunFiles): void {
  for (const f of [files.results, files.sr, files.task]) rmSync(f, { force: true });
}

/**
 * The trainer writes `latest` and then the epoch's snapshot; a kill between the two leaves `latest` at the end of the
 * epoch without the snapshot. Both hold the same state, so the snapshot is recreated from `latest` byte for byte.
 */
function restoreEpochSnapshot(files: RunFiles, state: LoopState, saveEvery: number, log: (l: string) => void): void {
  if (state.batchInEpoch !== 0 || state.epoch === 0 || state.epoch % saveEvery !== 0) return;
  const snapshot = join(dirname(files.latest), epochCheckpointName(state.epoch));
  if (existsSync(snapshot)) return;
  writeFileAtomic(snapshot, readFileSync(files.latest));
  log(`recreated ${snapshot} from ${files.latest} (the run was stopped between writing the two)`);
}

/** The final metrics of a finished run folder. */
export function readResults(dir: string): RunResults {
  const f = runFiles(dir).results;
  if (!existsSync(f)) throw new TasksrError("E_BAD_FILE", `${dir} has no results.json (the run did not finish)`);
  return JSON.parse(readFileSync(f, "utf8")) as RunResults;
}
