/**
 * Builds every part of a run from its validated config: datasets and loaders, LR synthesis, the SR and task
 * networks (with their weights), the task adapter, the recipe, optimizers with per-group schedules and steppers.
 */
import type { OptimConfig as OptimizerConfig, RunConfig, ScheduleConfig } from "../config/schema.js";
import { createDataset } from "../data/datasets/registry.js";
import { subsetDataset } from "../data/datasets/subset.js";
import { Degradation } from "../data/degrade/pipeline.js";
import { type Batch, collateFor } from "../data/loader/collate.js";
import { DataLoader } from "../data/loader/loader.js";
import type { Shard } from "../data/loader/sampler.js";
import { dataWorkers, evalDegradation, presets, validationSet } from "../data/run.js";
import type { Dataset, Target } from "../data/types.js";
import { type ProcessGroup, rankSeed } from "../dist/group.js";
import { cpuBf16Problem } from "../engine/bf16.js";
import { Generator, manualSeed } from "../engine/creation.js";
import { Adam, AdamW, type Optimizer, SGD } from "../engine/optim.js";
import { resolveDevice } from "../engine/system.js";
import { TasksrError } from "../errors.js";
import "../models/index.js";
import { lpipsFromConfig } from "../metrics/lpips.js";
import { buildArch } from "../models/registry.js";
import type { SrNetwork } from "../models/types.js";
import { convertSyncBatchNorm } from "../nn/layers/norm.js";
import { loadNetWeights } from "../nn/weights.js";
import type { ParamGroup } from "../tasks/adapter.js";
import "../tasks/index.js";
import { buildTaskAdapter, getTask } from "../tasks/registry.js";
import { buildRecipe, getRecipe } from "./recipes/index.js";
import { constant, cosine, cosineRestart, linearWarmup, multiStep, type Schedule, sequential } from "./schedule.js";
import { LossScaler, Stepper } from "./stepper.js";
import type { RunParts } from "./trainer.js";

export interface BuildOptions {
  /** Folder relative dataset/weights paths are resolved from (the config file's folder). */
  baseDir?: string;
  /** Overrides cfg.device. */
  device?: string;
  /** Distributed training: this process's group (docs/distributed.md). */
  group?: ProcessGroup;
}

export interface BuiltRun extends RunParts {
  datasets: { train: Dataset; val: Dataset };
  /** Frees networks and optimizer state. */
  dispose(): void;
}

/** A schedule for one parameter group with base lr `base` (durations in epochs become iterations). */
export function makeSchedule(s: ScheduleConfig | undefined, base: number, itersPerEpoch: number): Schedule {
  if (s === undefined) return constant(base);
  const iters = (v: number, unit: "epochs" | "iters") =>
    Math.max(1, Math.round(unit === "epochs" ? v * itersPerEpoch : v));
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new TasksrError("E_CONFIG", `schedule type ${s.type} needs ${what}`);
    return v;
  };
  let main: Schedule;
  switch (s.type) {
    case "constant":
      main = constant(base);
      break;
    case "cosine":
      main = cosine(base, iters(need(s.periods, "periods: [T_max]")[0]!, s.unit), s.etaMin);
      break;
    case "cosine-restart":
      main = cosineRestart(
        base,
        need(s.periods, "periods").map((p) => iters(p, s.unit)),
        s.etaMin,
      );
      break;
    case "multistep":
      main = multiStep(
        base,
        need(s.milestones, "milestones").map((m) => iters(m, s.unit)),
        s.gamma,
      );
      break;
  }
  if (s.warmup === undefined) return main;
  const w = iters(s.warmup.length, s.warmup.unit);
  return sequential([
    { iters: w, schedule: linearWarmup(base, w, s.warmup.startFactor ?? 1 / w) },
    { iters: Number.POSITIVE_INFINITY, schedule: main },
  ]);
}

function makeOptimizer(c: OptimizerConfig, groups: readonly ParamGroup[]): Optimizer<{ lr: number }> {
  const specs = groups.map((g) => ({ params: g.params, lr: c.lr * g.lrMult }));
  switch (c.type) {
    case "sgd":
      return new SGD(specs, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay, nesterov: c.nesterov });
    case "adam":
      return new Adam(specs, { lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: c.weightDecay });
    case "adamw":
      return new AdamW(specs, { lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: c.weightDecay });
  }
}

/** Builds a run from its config. The caller disposes it. */
export async function buildRun(cfg: RunConfig, o: BuildOptions = {}): Promise<BuiltRun> {
  const device = resolveDevice(o.device ?? cfg.device);
  if (cfg.train.amp === "fp16" && !device.startsWith("cuda")) {
    throw new TasksrError(
      "E_CONFIG",
      `train.amp: fp16 autocast needs a CUDA device, but the run is on ${device}; use amp: bf16 (or off) on the CPU`,
    );
  }
  const bf16Problem = cfg.train.amp === "bf16" && device === "cpu" ? cpuBf16Problem() : undefined;
  if (bf16Problem) {
    throw new TasksrError(
      "E_DEVICE",
      `train.amp: bf16 autocast cannot run on this CPU: a bfloat16 convolution failed with "${bf16Problem}"; use amp: off`,
    );
  }
  manualSeed(cfg.train.seed);
  const fullTrain = await createDataset(cfg.data.train, { baseDir: o.baseDir, where: "data.train" });
  const fullVal = await createDataset(cfg.data.val, { baseDir: o.baseDir, where: "data.val" });
  const train = cfg.data.trainLimit ? subsetDataset(fullTrain, cfg.data.trainLimit, cfg.train.seed) : fullTrain;
  const val = validationSet(fullVal, cfg);
  if (train.task !== cfg.task || val.task !== cfg.task) {
    throw new TasksrError(
      "E_CONFIG",
      `data: the datasets are ${train.task}/${val.task} datasets but task is ${cfg.task}`,
    );
  }
  const numClasses = train.classes.length;
  const group = o.group !== undefined && o.group.world > 1 ? o.group : undefined;
  const shard: Shard | undefined = group && { rank: group.rank, world: group.world };
  const t = presets(cfg);
  const taskDef = getTask(cfg.task);
  const collate = collateFor(cfg.task, { device, scale: cfg.scale });
  const trainLoader = new DataLoader<Target, Batch>(train, {
    batchSize: cfg.train.batchSize,
    collate,
    transform: t.train,
    shuffle: true,
    seed: cfg.train.seed,
    dropLast: cfg.train.dropLast,
    prefetch: cfg.data.prefetch,
    workers: dataWorkers(cfg, group?.localWorld),
    groupFactor: taskDef.data.padded ? 3 : undefined,
    shard,
  });
  const valLoader = new DataLoader<Target, Batch>(val, {
    batchSize: cfg.eval.batchSize,
    collate,
    transform: t.val,
    prefetch: cfg.data.prefetch,
    workers: dataWorkers(cfg, group?.localWorld),
    strided: shard,
  });
  const accum = cfg.train.gradAccum;
  const batchesPerEpoch = Math.min(trainLoader.length, (cfg.train.itersPerEpoch ?? Number.POSITIVE_INFINITY) * accum);
  const itersPerEpoch = Math.floor(batchesPerEpoch / accum);

  const nets = getRecipe(cfg.recipe.name).nets;
  let sr: SrNetwork | undefined;
  if (nets.usesSr && cfg.sr) {
    sr = buildArch(cfg.sr.arch, { scale: cfg.scale, ...cfg.sr.options }, "sr");
    loadNetWeights(sr, cfg.sr, "sr", o.baseDir);
    sr.to(device);
    if (!nets.trainsSr) sr.requiresGrad_(false).eval();
  }
  const task = buildTaskAdapter(cfg.task, cfg.taskNet.arch, cfg.taskNet.options, numClasses);
  loadNetWeights(task.net, cfg.taskNet, "taskNet", o.baseDir);
  task.net.to(device);
  if (!nets.trainsTask) task.net.requiresGrad_(false).eval();

  const scaler = cfg.train.amp === "fp16" ? new LossScaler() : undefined;
  const stepper = (oc: OptimizerConfig | undefined, groups: ParamGroup[], s: ScheduleConfig | undefined) => {
    if (oc === undefined) return undefined;
    const opt = makeOptimizer(oc, groups);
    return new Stepper(
      opt,
      groups.map((g) => makeSchedule(s, oc.lr * g.lrMult, itersPerEpoch)),
      accum,
      scaler,
    );
  };
  const srStep =
    nets.trainsSr && sr
      ? stepper(cfg.optim.sr, [{ params: sr.parameters().filter((p) => p.requiresGrad), lrMult: 1 }], cfg.schedule.sr)
      : undefined;
  const taskStep = nets.trainsTask ? stepper(cfg.optim.task, task.paramGroups(), cfg.schedule.task) : undefined;

  if (group) {
    if (cfg.train.syncBatchNorm) {
      if (sr) convertSyncBatchNorm(sr, group);
      convertSyncBatchNorm(task.net, group);
    }
    const ro = { findUnused: cfg.train.findUnusedParameters ?? false };
    for (const st of [srStep, taskStep]) {
      if (st)
        st.reducer = group.reducer(
          st.optimizer.paramGroups.flatMap((g) => g.params),
          ro,
        );
    }
    manualSeed(rankSeed(cfg.train.seed, group.rank));
  }
  const degradation = new Degradation({ ...cfg.degrade, scale: cfg.scale, seed: cfg.train.seed }, "degrade", shard);
  const cqmixGenerator = new Generator(cfg.train.seed + 1);
  const evalDegrade = () => evalDegradation(cfg, shard);
  const recipe = buildRecipe(cfg.recipe, { itersPerEpoch });
  const lpips = cfg.eval.lpips && recipe.producesSr ? lpipsFromConfig(cfg.eval.lpips, o.baseDir, device) : undefined;
  return {
    cfg,
    device,
    sr,
    task,
    recipe,
    srStep,
    taskStep,
    scaler,
    train: trainLoader,
    val: valLoader,
    degrade: (hr) => degradation.apply(hr),
    evalDegrade,
    cqmixGenerator,
    generators: { cqmix: cqmixGenerator, degrade: degradation.generator },
    batchesPerEpoch,
    itersPerEpoch,
    // A setting that does not train the task net evaluates it only when it has weights (SR-FT without H→T).
    evaluateTask: nets.trainsTask || cfg.taskNet.weights !== undefined,
    group,
    ...(lpips ? { lpips } : {}),
    datasets: { train, val },
    dispose() {
      lpips?.dispose();
      srStep?.optimizer.dispose();
      taskStep?.optimizer.dispose();
      sr?.dispose();
      task.net.dispose();
      // Worker threads end in the background; idle ones never keep the process alive.
      void trainLoader.close();
      void valLoader.close();
    },
  };
}
