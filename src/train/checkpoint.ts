/**
 * Training checkpoints: one safetensors file holding every network, optimizer state, RNG state and the loop
 * position, written atomically (temp file + fsync + rename) so an interrupted write never replaces a good file.
 * Key layout: `net.<name>.<state-dict key>`, `optim.<name>.<group>.<param>.<slot>`, `rng.<i>` (default
 * generators, CPU first), `rank<r>.rng.<i>` (the default generators of rank r >= 1 of a distributed run), `gen.<name>`
 * (named generators); JSON metadata under the `tasksr` metadata key.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { type Generator, getRngStates, setRngStates } from "../engine/creation.js";
import type { OptimizerState } from "../engine/optim.js";
import { loadSafetensors, saveSafetensors } from "../engine/safetensors.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { Module } from "../nn/module.js";

/** Where the loop stands; enough to continue bit-exactly. */
export interface LoopState {
  epoch: number;
  /** Optimizer steps taken so far (drives the closed-form schedules). */
  iteration: number;
  /** Batches already consumed in `epoch` (resume starts at this batch). */
  batchInEpoch: number;
  configHash: string;
  /** Recipe-specific values (e.g. best metric so far). */
  extra: Record<string, unknown>;
  /** Processes of the run that wrote the checkpoint (absent: 1); `batchInEpoch` counts its global batches. */
  world?: number;
}

export interface Checkpointable {
  nets: Record<string, Module<never[], unknown>>;
  optimizers: Record<string, { stateDict(): OptimizerState; loadStateDict(s: OptimizerState): void }>;
  generators: Record<string, Generator>;
}

/** The file name of the snapshot the trainer saves after `epoch` epochs (every `train.saveEvery`). */
export const epochCheckpointName = (epoch: number): string => `epoch_${String(epoch).padStart(3, "0")}.safetensors`;

/**
 * Saves everything needed to continue. `rankRng[r - 1]` holds rank r's default generator states in a distributed run
 * (rank 0's are this process's).
 */
export function saveCheckpoint(
  path: string,
  parts: Checkpointable,
  state: LoopState,
  rankRng: readonly (readonly Tensor[])[] = [],
): void {
  const tensors = new Map<string, Tensor>();
  const owned: Tensor[] = [];
  const optimMeta: Record<string, OptimizerState["meta"]> = {};
  try {
    for (const [name, net] of Object.entries(parts.nets)) {
      for (const [k, t] of net.stateDict()) tensors.set(`net.${name}.${k}`, t);
    }
    for (const [name, opt] of Object.entries(parts.optimizers)) {
      const s = opt.stateDict();
      optimMeta[name] = s.meta;
      for (const [k, t] of Object.entries(s.tensors)) tensors.set(`optim.${name}.${k}`, t);
    }
    for (const [i, t] of getRngStates().entries()) {
      owned.push(t);
      tensors.set(`rng.${i}`, t);
    }
    for (const [r, states] of rankRng.entries()) {
      for (const [i, t] of states.entries()) tensors.set(`rank${r + 1}.rng.${i}`, t);
    }
    for (const [name, g] of Object.entries(parts.generators)) {
      const t = g.getState();
      owned.push(t);
      tensors.set(`gen.${name}`, t);
    }
    saveSafetensors(path, tensors, { tasksr: JSON.stringify({ state, optim: optimMeta }) });
  } finally {
    for (const t of owned) t.dispose();
  }
}

/**
 * The loop state of a checkpoint, read from its header alone (no tensors), so that a resume can be checked before
 * anything in the run folder is written.
 */
export function readCheckpointState(path: string): LoopState {
  if (!existsSync(path)) throw new TasksrError("E_BAD_FILE", `checkpoint ${path} does not exist`);
  const fd = openSync(path, "r");
  let header: { __metadata__?: Record<string, string> };
  try {
    const size = fstatSync(fd).size;
    const len = Buffer.alloc(8);
    const n = size >= 8 && readSync(fd, len, 0, 8, 0) === 8 ? Number(len.readBigUInt64LE(0)) : -1;
    if (n < 0 || n > size - 8) throw new TasksrError("E_BAD_FILE", `${path} is cut short or not a safetensors file`);
    const text = Buffer.alloc(n);
    readSync(fd, text, 0, n, 8);
    header = JSON.parse(text.toString("utf8")) as typeof header;
  } catch (err) {
    if (err instanceof TasksrError) throw err;
    throw new TasksrError("E_BAD_FILE", `${path}: unreadable safetensors header (${(err as Error).message})`);
  } finally {
    closeSync(fd);
  }
  const meta = header.__metadata__?.tasksr;
  if (meta === undefined)
    throw new TasksrError("E_BAD_FILE", `${path} is not a tasksr checkpoint (no tasksr metadata)`);
  return (JSON.parse(meta) as { state: LoopState }).state;
}

/** The error for resuming a run from a checkpoint that a different config wrote. */
export function differentConfig(path: string, written: string, now: string): TasksrError {
  return new TasksrError(
    "E_CONFIG",
    `${path} was written by a run with a different config (hash ${written}, now ${now}); resume with the same config and --set options, or start a new run`,
  );
}

/**
 * Restores everything saved by saveCheckpoint into the given (already built) parts and returns the loop state. Rank
 * r >= 1 of a distributed run restores its own default generator states when the checkpoint holds them (a run with
 * more than r processes wrote it) and leaves them as they are otherwise.
 */
export function loadCheckpoint(path: string, parts: Checkpointable, rank = 0): LoopState {
  if (!existsSync(path)) throw new TasksrError("E_BAD_FILE", `checkpoint ${path} does not exist`);
  const file = loadSafetensors(path);
  try {
    const metaText = file.metadata.tasksr;
    if (metaText === undefined)
      throw new TasksrError("E_BAD_FILE", `${path} is not a tasksr checkpoint (no tasksr metadata)`);
    const meta = JSON.parse(metaText) as { state: LoopState; optim: Record<string, OptimizerState["meta"]> };
    const group = (prefix: string): Map<string, Tensor> => {
      const out = new Map<string, Tensor>();
      for (const [k, t] of file.tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), t);
      return out;
    };
    for (const [name, net] of Object.entries(parts.nets)) {
      const sd = group(`net.${name}.`);
      if (sd.size === 0) throw new TasksrError("E_BAD_FILE", `${path} holds no weights for network "${name}"`);
      net.loadStateDict(sd);
    }
    for (const [name, opt] of Object.entries(parts.optimizers)) {
      const m = meta.optim[name];
      if (m === undefined) throw new TasksrError("E_BAD_FILE", `${path} holds no state for optimizer "${name}"`);
      opt.loadStateDict({ tensors: Object.fromEntries(group(`optim.${name}.`)), meta: m });
    }
    const rng = [...group(rank === 0 ? "rng." : `rank${rank}.rng.`).entries()]
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, t]) => t);
    if (rank === 0 || rng.length > 0) setRngStates(rng);
    for (const [name, g] of Object.entries(parts.generators)) {
      const t = file.tensors.get(`gen.${name}`);
      if (t === undefined) throw new TasksrError("E_BAD_FILE", `${path} holds no state for generator "${name}"`);
      g.setState(t);
    }
    return meta.state;
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}
