/**
 * Learning-rate schedules, evaluated in closed form from the iteration count so that a resumed run continues exactly.
 * All periods are in iterations; configs may give them in epochs and convert with the loader length (methods.md A9).
 */
import { TasksrError } from "../errors.js";

/** lr multiplier source: `lr(t)` for iteration t = number of optimizer steps taken so far (0 at start). */
export interface Schedule {
  lr(t: number): number;
}

/** Constant learning rate. */
export const constant = (base: number): Schedule => ({ lr: () => base });

/**
 * BasicSR's CosineAnnealingRestartLR: consecutive cosine periods, each restarting from `base * weight_i` and decaying
 * to etaMin. Period i covers iterations (C_{i-1}, C_i]; t = 0 gives base.
 */
export function cosineRestart(
  base: number,
  periods: readonly number[],
  etaMin = 0,
  weights?: readonly number[],
): Schedule {
  if (periods.length === 0 || periods.some((p) => !(p > 0))) {
    throw new TasksrError("E_CONFIG", `cosine-restart periods must be positive, got [${periods}]`);
  }
  const w = weights ?? periods.map(() => 1);
  if (w.length !== periods.length)
    throw new TasksrError("E_CONFIG", "cosine-restart needs one restart weight per period");
  const ends: number[] = [];
  periods.reduce((acc, p) => {
    ends.push(acc + p);
    return acc + p;
  }, 0);
  return {
    lr(t: number): number {
      let i = ends.findIndex((c) => t <= c);
      if (i < 0) i = ends.length - 1;
      const start = i === 0 ? 0 : ends[i - 1]!;
      return etaMin + w[i]! * 0.5 * (base - etaMin) * (1 + Math.cos((Math.PI * (t - start)) / periods[i]!));
    },
  };
}

/** torch CosineAnnealingLR (closed form): base -> etaMin over tMax iterations; like torch it rises again after tMax. */
export function cosine(base: number, tMax: number, etaMin = 0): Schedule {
  return { lr: (t) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2 };
}

/** torch LinearLR: factor goes linearly from startFactor to endFactor over `iters` iterations, then stays. */
export function linearWarmup(base: number, iters: number, startFactor: number, endFactor = 1): Schedule {
  return { lr: (t) => base * (startFactor + ((endFactor - startFactor) * Math.min(t, iters)) / iters) };
}

/** torch MultiStepLR: multiplied by gamma at each milestone reached. */
export function multiStep(base: number, milestones: readonly number[], gamma = 0.1): Schedule {
  return { lr: (t) => base * gamma ** milestones.filter((m) => t >= m).length };
}

/**
 * Runs schedules one after the other, each for its number of iterations (the last runs forever); each part sees its
 * own local iteration count, as torch's SequentialLR.
 */
export function sequential(parts: readonly { iters: number; schedule: Schedule }[]): Schedule {
  return {
    lr(t: number): number {
      let start = 0;
      for (const [k, p] of parts.entries()) {
        if (t < start + p.iters || k === parts.length - 1) return p.schedule.lr(t - start);
        start += p.iters;
      }
      throw new Error("sequential schedule has no parts");
    },
  };
}

/** One stage of a TDSR loss schedule: `iters` iterations with loss weights alpha (reconstruction) and beta (task). */
export interface LossStage {
  iters: number;
  alpha: number;
  beta: number;
}

/**
 * Parses TDSR's notation `100k:1:0+200k:1:0.01` (iterations:alpha:beta, stages joined with "+"). Durations take
 * the suffix k (1e3) or m (1e6), or `ep` for epochs (converted with `itersPerEpoch`).
 */
export function parseLossStages(spec: string, itersPerEpoch?: number): LossStage[] {
  const stages = spec.split("+").map((part) => part.trim());
  return stages.map((s, i) => {
    const m = /^(\d+(?:\.\d+)?)(k|m|ep)?:(-?\d*\.?\d+(?:e-?\d+)?):(-?\d*\.?\d+(?:e-?\d+)?)$/i.exec(s);
    if (!m) {
      throw new TasksrError(
        "E_CONFIG",
        `loss schedule stage ${i + 1} "${s}" is not <iters>[k|m|ep]:<alpha>:<beta> (e.g. "100k:1:0+200k:1:0.01")`,
      );
    }
    const n = Number(m[1]);
    const unit = (m[2] ?? "").toLowerCase();
    let iters: number;
    if (unit === "ep") {
      if (itersPerEpoch === undefined)
        throw new TasksrError("E_CONFIG", `stage "${s}" is in epochs but the epoch length is unknown`);
      iters = Math.round(n * itersPerEpoch);
    } else {
      iters = Math.round(n * (unit === "k" ? 1e3 : unit === "m" ? 1e6 : 1));
    }
    if (!(iters > 0)) throw new TasksrError("E_CONFIG", `stage "${s}" must last at least one iteration`);
    return { iters, alpha: Number(m[3]), beta: Number(m[4]) };
  });
}

/** The stage active at iteration t (the last stage continues past the end). */
export function stageAt(stages: readonly LossStage[], t: number): LossStage & { index: number } {
  let start = 0;
  for (const [index, s] of stages.entries()) {
    if (t < start + s.iters) return { ...s, index };
    start += s.iters;
  }
  const index = stages.length - 1;
  return { ...stages[index]!, index };
}

export const totalIters = (stages: readonly LossStage[]): number => stages.reduce((a, s) => a + s.iters, 0);
