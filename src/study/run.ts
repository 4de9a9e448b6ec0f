/**
 * Runs a study: every planned (seed, setting) run in order through the ordinary trainer, reusing finished runs whose
 * config is unchanged and resuming interrupted ones, then the TDSR view per seed. Progress lines name the seed and
 * the setting; the run folders land in `<out>/<study>/seed-<k>/` (write.ts adds the report).
 */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { configHash } from "../config/load.js";
import type { ProcessGroup } from "../dist/group.js";
import { resolveDevice } from "../engine/system.js";
import { TasksrError } from "../errors.js";
import { planFromPair } from "../eval/plan.js";
import { evaluatePlan } from "../eval/run.js";
import { settingLabel } from "../report/settings.js";
import { childFolder, claimFolder, removeOwnedFolder } from "../train/folder.js";
import { formatMetrics } from "../train/logging.js";
import { getRecipe } from "../train/recipes/index.js";
import type { RunResults } from "../train/run.js";
import { readResults, readRunConfig, runFiles, trainRun } from "../train/run.js";
import { viewFolder } from "./figures.js";
import { type PlannedRun, planStudy } from "./plan.js";
import type { StudyConfig } from "./schema.js";

/** Validation images per input in the study's grid. */
const GRID_IMAGES = 6;

/** One input of the TDSR view and its metrics through the H→T network (flat: top1, psnr_sr4ir, ssim, ...). */
export interface ViewRow {
  name: string;
  metrics: Record<string, number>;
}

export interface StudyRun extends PlannedRun {
  results: RunResults;
  /** Whether the run was trained now (false: an earlier finished run with the same config was reused). */
  trained: boolean;
}

export interface StudyResult {
  study: StudyConfig;
  dir: string;
  runs: StudyRun[];
  /** Per seed: the TDSR view rows (input name -> evaluation through the H→T network). */
  tdsr: { seed: number; rows: ViewRow[] }[];
  seconds: number;
  /** A run was stopped (Ctrl-C) before the end: the study is incomplete and resumes when run again. */
  stopped: boolean;
}

export interface StudyOptions {
  out: string;
  /** Names the study file in errors. */
  where: string;
  device?: string;
  /** Folder relative data and weights paths are resolved from (the study file's folder). */
  baseDir?: string;
  /** Delete earlier runs of this study first (only a folder tasksr created as this study's). */
  fresh?: boolean;
  /** Retrain a run whose folder holds a different config (default: stop with an error naming --fresh). */
  replaceChanged?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Distributed: every setting trains over this group; rank 0 alone writes and evaluates the views. */
  group?: ProcessGroup;
}

/**
 * The results of a finished run of exactly this config, or undefined (nothing there yet, or an interrupted run that
 * the trainer resumes). A folder left by a different config is an error, or is deleted with `replaceChanged` (when
 * tasksr created it and no process is training it).
 */
function reusable(run: PlannedRun, replaceChanged: boolean): RunResults | undefined {
  const files = runFiles(run.dir);
  if (!existsSync(files.config)) return undefined;
  if (configHash(readRunConfig(run.dir)) !== configHash(run.cfg)) {
    if (!replaceChanged) {
      throw new TasksrError(
        "E_CONFIG",
        `${run.dir} holds a run of a different config (the study changed); rerun with --fresh or another --out`,
      );
    }
    removeOwnedFolder(run.dir, run.out, "run");
    return undefined;
  }
  return existsSync(files.results) ? readResults(run.dir) : undefined;
}

/** The TDSR view's inputs for one seed (`tasksr eval --sr` specs): HR, interpolated LR, every SR net trained. */
function viewInputs(runs: readonly StudyRun[]): { name: string; spec: string }[] {
  const inputs = [
    { name: "HR", spec: "hr" },
    { name: "bicubic", spec: "bicubic" },
    { name: "bilinear", spec: "bilinear" },
  ];
  for (const r of runs) {
    if (getRecipe(r.setting).nets.trainsSr) inputs.push({ name: settingLabel(r.setting), spec: r.dir });
  }
  return inputs;
}

/**
 * The H→T task network of a seed judging every input (TDSR Table 1); with `visualize`, the first images of each
 * input are written under `<seed folder>/tdsr-view/<input>/` for the study's grid.
 */
async function tdsrView(
  h2tDir: string,
  runs: readonly StudyRun[],
  o: { device: string; baseDir?: string; visualize: boolean },
): Promise<ViewRow[]> {
  const rows: ViewRow[] = [];
  for (const input of viewInputs(runs)) {
    const plan = await planFromPair(input.spec, h2tDir, { device: o.device, baseDir: o.baseDir });
    try {
      const visualize = o.visualize ? { dir: viewFolder(dirname(h2tDir), input.name), count: GRID_IMAGES } : undefined;
      const report = await evaluatePlan(plan, { device: o.device, visualize });
      rows.push({ name: input.name, metrics: report.metrics });
    } finally {
      plan.dispose();
    }
  }
  return rows;
}

export async function runStudy(study: StudyConfig, o: StudyOptions): Promise<StudyResult> {
  const t0 = performance.now();
  const group = o.group !== undefined && o.group.world > 1 ? o.group : undefined;
  const writer = group === undefined || group.rank === 0;
  const log = writer ? (o.log ?? ((l: string) => console.log(l))) : () => {};
  const dir = childFolder(o.out, study.name, `${o.where}: name`);
  const plan = planStudy(study, { out: o.out, where: o.where });
  if (writer) {
    if (o.fresh) removeOwnedFolder(dir, o.out, "study");
    claimFolder(dir, "study");
  }
  const runs: StudyRun[] = [];
  for (const [i, run] of plan.entries()) {
    const tag = `[seed ${run.seed} | ${settingLabel(run.setting)} ${i + 1}/${plan.length}]`;
    // Rank 0 decides (and may delete a changed run's folder); every rank follows its decision.
    let done = writer ? reusable(run, o.replaceChanged === true) : undefined;
    if (group) done = group.broadcastJson(done ?? null) ?? undefined;
    if (done) {
      log(`${tag} reusing the finished run in ${run.dir}`);
      runs.push({ ...run, results: done, trained: false });
      continue;
    }
    const r = await trainRun(run.cfg, {
      out: run.out,
      resume: "auto",
      device: o.device,
      baseDir: o.baseDir,
      log: (line) => log(`${tag} ${line}`),
      signal: o.signal,
      group,
    });
    if (r.results === undefined) {
      return { study, dir, runs, tdsr: [], seconds: (performance.now() - t0) / 1000, stopped: true };
    }
    runs.push({ ...run, results: r.results, trained: true });
  }
  const tdsr: StudyResult["tdsr"] = [];
  if (writer && study.tdsrView && study.settings.includes("hr2task")) {
    for (const seed of study.seeds) {
      const mine = runs.filter((r) => r.seed === seed);
      const h2t = plan.find((p) => p.seed === seed && p.setting === "hr2task")!;
      log(`[seed ${seed} | TDSR view] the H→T task network on HR, interpolated LR and each SR output`);
      const rows = await tdsrView(h2t.dir, mine, {
        device: resolveDevice(o.device ?? h2t.cfg.device),
        baseDir: o.baseDir,
        visualize: seed === study.seeds[0],
      });
      for (const row of rows) log(`[seed ${seed} | TDSR view] ${row.name}: ${formatMetrics(row.metrics)}`);
      tdsr.push({ seed, rows });
    }
  }
  return { study, dir, runs, tdsr, seconds: (performance.now() - t0) / 1000, stopped: false };
}
