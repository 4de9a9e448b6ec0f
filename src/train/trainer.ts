/**
 * The training loop shared by every recipe: epochs of batches, gradient-accumulation windows, progress lines and
 * metrics.jsonl, periodic evaluation, atomic checkpoints (latest + every `saveEvery` epochs), bit-exact resume,
 * a clean stop on abort (Ctrl-C) and a hard stop on a non-finite loss that leaves the last good checkpoint intact.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { configHash } from "../config/load.js";
import type { RunConfig } from "../config/schema.js";
import { type Batch, disposeBatch } from "../data/loader/collate.js";
import { type ProcessGroup, rankSeed } from "../dist/group.js";
import { autocast } from "../engine/autograd.js";
import { type Generator, getRngStates, manualSeed } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { Lpips } from "../metrics/lpips.js";
import type { SrNetwork } from "../models/types.js";
import type { TaskAdapter } from "../tasks/adapter.js";
import { type Checkpointable, type LoopState, loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { type EvalResult, evaluatePipeline } from "./evaluate.js";
import { rewindJsonl, TrainProgress } from "./logging.js";
import type { Recipe, RecipeContext } from "./recipes/types.js";
import type { LossScaler, Stepper } from "./stepper.js";

/** A source of batches per epoch (the DataLoader), restartable at a batch index. */
export interface BatchSource {
  readonly length: number;
  epoch(epoch: number, o?: { startBatch?: number }): AsyncIterable<Batch>;
}

/** Everything built from a config (see build.ts). */
export interface RunParts {
  cfg: RunConfig;
  device: string;
  sr: SrNetwork | undefined;
  task: TaskAdapter;
  recipe: Recipe;
  srStep: Stepper | undefined;
  taskStep: Stepper | undefined;
  scaler: LossScaler | undefined;
  train: BatchSource;
  val: BatchSource;
  /** LR synthesis of a training HR batch (A4); the caller owns the result. Async because JPEG runs in the image encoder. */
  degrade: (hr: Tensor) => Promise<Tensor>;
  /** A fresh LR synthesis stream for one evaluation, so that every evaluation sees the same LR images. */
  evalDegrade: () => (hr: Tensor) => Promise<Tensor>;
  cqmixGenerator: Generator;
  /** The random streams training draws from besides the global ones (CQMix masks, LR noise), by checkpoint name. */
  generators: Record<string, Generator>;
  /** Batches consumed per epoch (the loader length, possibly capped). */
  batchesPerEpoch: number;
  /** Optimizer steps per epoch: batchesPerEpoch / train.gradAccum, rounded down (computed once, by buildRun). */
  itersPerEpoch: number;
  /** Whether the evaluation includes the task metric (SR-FT without a trained task net reports quality only). */
  evaluateTask: boolean;
  /** Distributed training (world > 1): this process's group. */
  group?: ProcessGroup;
  /** LPIPS for the evaluations (eval.lpips), when configured and the recipe produces SR images. */
  lpips?: Lpips;
}

export interface TrainOptions {
  runDir: string;
  /** Checkpoint to continue from. */
  resumeFrom?: string;
  log?: (line: string) => void;
  /** Stops at the next accumulation-window boundary, saving a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
  /** Stops after this many optimizer steps in this invocation, saving a checkpoint (tests of resume). */
  stopAfterIters?: number;
}

export interface TrainResult {
  runDir: string;
  /** Final evaluation (undefined when the run was stopped early). */
  final: EvalResult | undefined;
  evals: { epoch: number; result: EvalResult }[];
  stopped: "completed" | "aborted" | "limit";
  iterations: number;
  seconds: number;
}

export function checkpointParts(p: RunParts): Checkpointable {
  const nets: Checkpointable["nets"] = { task: p.task.net };
  if (p.sr) nets.sr = p.sr as unknown as Checkpointable["nets"][string];
  const optimizers: Checkpointable["optimizers"] = {};
  if (p.srStep) optimizers.sr = p.srStep.optimizer;
  if (p.taskStep) optimizers.task = p.taskStep.optimizer;
  return { nets, optimizers, generators: p.generators };
}

/**
 * Evaluates the recipe's test pipeline on the validation split with the networks in eval mode (BatchNorm running
 * statistics, which evaluation must not update); their modes are restored afterwards.
 */
export function evaluateRun(p: RunParts, onProgress?: (images: number) => void): Promise<EvalResult> {
  const ctx = recipeContext(p, 0, 0);
  return evaluatePipeline({
    batches: p.val.epoch(0),
    degrade: p.evalDegrade(),
    input: (lr, batch) => p.recipe.testInput(ctx, lr, batch),
    evaluator: p.evaluateTask ? p.task.evaluator() : undefined,
    psnr: p.recipe.producesSr ? p.cfg.eval.psnr : undefined,
    ssim: p.cfg.eval.ssim,
    lpips: p.lpips,
    scale: p.cfg.scale,
    onProgress,
    nets: [p.task.net, p.sr],
    distributed: p.group && {
      rank: p.group.rank,
      world: p.group.world,
      gather: (st) => p.group!.allgatherJson(st),
      evaluator: () => p.task.evaluator(),
    },
  });
}

function recipeContext(p: RunParts, iteration: number, epoch: number): RecipeContext {
  const amp = p.cfg.train.amp;
  const deviceType = p.device.startsWith("cuda") ? "cuda" : "cpu";
  return {
    cfg: p.cfg,
    sr: p.sr,
    task: p.task,
    srStep: p.srStep,
    taskStep: p.taskStep,
    cqmixGenerator: p.cqmixGenerator,
    iteration,
    epoch,
    itersPerEpoch: p.itersPerEpoch,
    shard: p.group && { rank: p.group.rank, world: p.group.world },
    autocast: <T>(fn: () => T): T =>
      amp === "off" ? fn() : autocast(deviceType, amp === "bf16" ? "bfloat16" : "float16", fn),
  };
}

export function formatEval(r: EvalResult): string {
  const parts = Object.entries(r.task).map(([k, v]) => `${k} ${v.toFixed(2)}`);
  for (const [k, v] of Object.entries(r.psnr)) parts.push(`PSNR(${k}) ${v.toFixed(2)} dB`);
  if (r.ssim !== undefined) parts.push(`SSIM ${r.ssim.toFixed(4)}`);
  return `${parts.join("  ")}  (${r.images} images, ${r.seconds.toFixed(1)} s)`;
}

export async function runTraining(p: RunParts, o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const cfg = p.cfg;
  const g = p.group;
  // Rank 0 alone writes the run folder and prints; the other ranks compute and take part in every collective.
  const writer = g === undefined || g.rank === 0;
  const log = writer ? (o.log ?? ((l: string) => console.log(l))) : () => {};
  const ckptDir = join(o.runDir, "checkpoints");
  const jsonl = join(o.runDir, "metrics.jsonl");
  if (writer) mkdirSync(ckptDir, { recursive: true });
  const parts = checkpointParts(p);
  const accum = cfg.train.gradAccum;
  const world = g?.world ?? 1;
  const itersPerEpoch = p.itersPerEpoch;
  if (itersPerEpoch < 1) {
    throw new TasksrError(
      "E_CONFIG",
      `an epoch has ${p.batchesPerEpoch} batches, fewer than train.gradAccum = ${accum}; lower the batch size or gradAccum`,
    );
  }
  const totalIters = itersPerEpoch * cfg.train.epochs;
  const hash = configHash(cfg);
  let state: LoopState = { epoch: 0, iteration: 0, batchInEpoch: 0, configHash: hash, extra: {} };
  if (o.resumeFrom) {
    state = loadCheckpoint(o.resumeFrom, parts, g?.rank ?? 0);
    if (state.configHash !== hash) {
      throw new TasksrError(
        "E_CONFIG",
        `${o.resumeFrom} was written by a run with a different config (hash ${state.configHash}, now ${hash}); resume with the same config and --set options, or start a new run`,
      );
    }
    const scale = state.extra.lossScale as ReturnType<LossScaler["state"]> | undefined;
    if (p.scaler && scale) p.scaler.loadState(scale);
    if (writer) rewindJsonl(jsonl, state.iteration, state.epoch);
    const written = state.world ?? 1;
    if (g !== undefined && g.rank >= written) {
      // A checkpoint of fewer processes holds no random stream for this rank: one seeded by rank and position.
      manualSeed(rankSeed(cfg.train.seed, g.rank, state.iteration));
    }
    if (written !== world) state = regroup(state, written, world, cfg.train.batchSize, accum, itersPerEpoch, log);
    log(
      `resumed from ${o.resumeFrom} at epoch ${state.epoch + 1}, iteration ${state.iteration}, batch ${state.batchInEpoch}`,
    );
  }
  // DDP's start: every rank continues from rank 0's parameters and buffers.
  if (g) g.broadcast(netTensors(p, true));
  state.world = world;
  const progress = new TrainProgress(
    {
      totalIters,
      totalEpochs: cfg.train.epochs,
      logEvery: cfg.train.logEvery,
      jsonl: writer ? jsonl : undefined,
      write: writer ? o.log : () => {},
      tty: writer ? undefined : false,
    },
    state.iteration,
  );
  if (o.resumeFrom) progress.record("resume", { iter: state.iteration });
  const save = (name: string) => {
    if (p.scaler) state.extra.lossScale = p.scaler.state();
    const rankRng = g ? gatherRankRng(g) : [];
    try {
      if (writer) saveCheckpoint(join(ckptDir, name), parts, state, rankRng);
    } finally {
      for (const t of rankRng.flat()) t.dispose();
    }
  };
  const evals: TrainResult["evals"] = [];
  const evaluate = async (epoch: number) => {
    const r = await evaluateRun(p);
    evals.push({ epoch, result: r });
    progress.event("eval", `[epoch ${epoch}/${cfg.train.epochs}] eval  ${formatEval(r)}`, { epoch, ...flatEval(r) });
  };
  let stopped: TrainResult["stopped"] = "completed";
  let itersThisRun = 0;
  const steppers = [p.srStep, p.taskStep].filter((s): s is Stepper => s !== undefined);
  // Loss values summed over the micro-batches of the current accumulation window (logged as their mean).
  let window: Record<string, number> = {};
  // The last iteration's losses and stop flag, being all-reduced while the next step runs (distributed only).
  let pending: { rec: IterRecord; sync: ReturnType<ProcessGroup["meanAndAny"]> } | undefined;
  /** Logs a finished iteration; a non-finite loss (on any rank: the values are means over ranks) ends the run. */
  const report = (rec: IterRecord) => {
    const bad = Object.entries(rec.values).filter(([, v]) => !Number.isFinite(v));
    if (bad.length) {
      throw new TasksrError(
        "E_NON_FINITE",
        `non-finite loss at epoch ${rec.epoch}, iteration ${rec.iter - 1}: ${JSON.stringify(rec.values)}; the last good checkpoint in ${ckptDir} is kept`,
      );
    }
    progress.step(rec.epoch, rec.iter, { ...rec.values, ...rec.lrs }, rec.images);
  };
  /** Completes and logs the pending iteration; whether any rank asked to stop. */
  const flush = (): boolean => {
    if (pending === undefined) return false;
    const { rec, sync } = pending;
    pending = undefined;
    const r = sync.wait();
    report({ ...rec, values: r.values });
    return r.flags[0] === true;
  };
  // Buffers of the networks that train (BatchNorm statistics); a frozen network's never change.
  const trainedBuffers = g ? netTensors(p, false, true) : [];

  outer: for (let epoch = state.epoch; epoch < cfg.train.epochs; epoch++) {
    const start = state.batchInEpoch;
    let b = start;
    // A run stopped on the epoch's last window resumes straight into the epoch-end evaluation.
    const batches = start < itersPerEpoch * accum ? p.train.epoch(epoch, { startBatch: start }) : [];
    for await (const batch of batches) {
      const windowEnd = (b + 1) % accum === 0;
      for (const s of steppers) {
        s.iteration = state.iteration;
        s.windowEnd = windowEnd;
      }
      let values: Record<string, number>;
      let lr: Tensor | undefined;
      try {
        lr = await p.degrade(batch.hr);
        const l = lr;
        // DDP broadcasts buffers (BatchNorm running statistics) from rank 0 before every forward.
        if (g && trainedBuffers.length > 0) g.broadcast(trainedBuffers);
        values = scope(() => p.recipe.step(recipeContext(p, state.iteration, epoch), batch, l));
      } catch (err) {
        // A peer that died during the step surfaces as an error of the gradient reduction inside backward.
        throw g && !(err instanceof TasksrError) ? g.collectiveError("training step", err) : err;
      } finally {
        lr?.dispose();
        disposeBatch(batch);
      }
      for (const [k, v] of Object.entries(values)) window[k] = (window[k] ?? 0) + v;
      b++;
      state.batchInEpoch = b;
      if (!windowEnd) continue;
      p.scaler?.update();
      state.iteration++;
      itersThisRun++;
      const rec: IterRecord = { epoch: epoch + 1, iter: state.iteration, values: {}, lrs: {}, images: 0 };
      for (const [k, v] of Object.entries(window)) rec.values[k] = v / accum;
      window = {};
      if (p.srStep) rec.lrs.lr_sr = p.srStep.lr;
      if (p.taskStep) rec.lrs.lr_task = p.taskStep.lr;
      rec.images = (batch.hr.shape[0] ?? 0) * accum * world;
      // The step limit is the same on every rank; a stop request (Ctrl-C reaches each rank at its own time) is
      // agreed on with the losses of the iteration, one iteration later (sync), so that all stop at the same step.
      const limit = o.stopAfterIters !== undefined && itersThisRun >= o.stopAfterIters;
      let aborted: boolean;
      if (g) {
        aborted = flush();
        pending = { rec, sync: g.meanAndAny(rec.values, [o.signal?.aborted === true]) };
      } else {
        report(rec);
        aborted = o.signal?.aborted === true;
      }
      if (aborted || limit) {
        flush();
        stopped = aborted ? "aborted" : "limit";
        state.epoch = epoch;
        save("latest.safetensors");
        progress.event(
          "stop",
          `stopped at epoch ${epoch + 1}, iteration ${state.iteration}; checkpoint saved to ${ckptDir}/latest.safetensors`,
          { iter: state.iteration },
        );
        break outer;
      }
      if (b >= itersPerEpoch * accum) break;
    }
    if (flush()) {
      // A stop requested during the epoch's last step: the epoch-end evaluation runs when the run resumes.
      stopped = "aborted";
      state.epoch = epoch;
      save("latest.safetensors");
      progress.event(
        "stop",
        `stopped at the end of epoch ${epoch + 1}; checkpoint saved to ${ckptDir}/latest.safetensors`,
        {
          iter: state.iteration,
        },
      );
      break;
    }
    state.epoch = epoch + 1;
    state.batchInEpoch = 0;
    const last = epoch + 1 === cfg.train.epochs;
    if ((epoch + 1) % cfg.train.evalEvery === 0 || last) await evaluate(epoch + 1);
    save("latest.safetensors");
    if ((epoch + 1) % cfg.train.saveEvery === 0) save(`epoch_${String(epoch + 1).padStart(3, "0")}.safetensors`);
  }
  // Resuming a finished run only re-evaluates, so that its result is reported again.
  if (stopped === "completed" && evals.length === 0) await evaluate(cfg.train.epochs);
  return {
    runDir: o.runDir,
    final: stopped === "completed" ? evals.at(-1)?.result : undefined,
    evals,
    stopped,
    iterations: state.iteration,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** One optimizer step for the log: the window's mean losses, the learning rates and the images of the step. */
interface IterRecord {
  epoch: number;
  iter: number;
  values: Record<string, number>;
  lrs: Record<string, number>;
  images: number;
}

/**
 * The parameters and buffers (`withParams`) or the buffers alone of the run's networks (those that train only, with
 * `trainedOnly`), in a fixed order.
 */
function netTensors(p: RunParts, withParams: boolean, trainedOnly = false): Tensor[] {
  const out: Tensor[] = [];
  for (const [net, step] of [
    [p.sr, p.srStep],
    [p.task.net, p.taskStep],
  ] as const) {
    if (net === undefined || (trainedOnly && step === undefined)) continue;
    if (withParams) out.push(...net.parameters());
    out.push(...net.namedBuffers().map(([, t]) => t));
  }
  return out;
}

/** Every rank's default generator states; rank r >= 1's at [r - 1] (rank 0's are in the checkpoint already). */
function gatherRankRng(g: ProcessGroup): Tensor[][] {
  const mine = getRngStates();
  try {
    const perState = mine.map((t) => g.allgather(t)); // [state][rank]
    const out = Array.from({ length: g.world - 1 }, (_, r) => perState.map((ranks) => ranks[r + 1]!));
    for (const ranks of perState) ranks[0]!.dispose();
    return out;
  } finally {
    for (const t of mine) t.dispose();
  }
}

/**
 * The loop state of a checkpoint written by `written` processes, for `world` processes: an epoch position counts
 * global batches of written * batchSize samples, and continues at the batch of world * batchSize that holds the
 * same sample offset (rounded down to a whole accumulation window: at most one window's samples are seen twice).
 * The iteration is re-counted at the new epoch length, so that schedules in epochs stand where they stood.
 */
function regroup(
  s: LoopState,
  written: number,
  world: number,
  batchSize: number,
  accum: number,
  itersPerEpoch: number,
  log: (l: string) => void,
): LoopState {
  const samples = s.batchInEpoch * batchSize * written;
  const batch = Math.floor(samples / (batchSize * world) / accum) * accum;
  const iteration = s.epoch * itersPerEpoch + batch / accum;
  log(
    `the checkpoint was written by ${written} process(es), this run has ${world}: epoch ${s.epoch + 1} continues ` +
      `at sample ${batch * batchSize * world} of the epoch (was ${samples}), iteration ${iteration} (was ${s.iteration})`,
  );
  return { ...s, batchInEpoch: batch, iteration, world };
}

/** An EvalResult as flat JSON fields (task metrics, psnr_<protocol>, ssim). */
export function flatEval(r: EvalResult): Record<string, number> {
  const out: Record<string, number> = { ...r.task };
  for (const [k, v] of Object.entries(r.psnr)) out[`psnr_${k}`] = v;
  if (r.ssim !== undefined) out.ssim = r.ssim;
  if (r.lpips !== undefined) out.lpips = r.lpips;
  return out;
}
