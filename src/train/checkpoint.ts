/**
 * Training checkpoints: one safetensors file holding every network, optimizer state, RNG state and the loop
 * position, written atomically (temp file + fsync + rename) so an interrupted write never replaces a good file.
 * Key layout: `net.<name>.<state-dict key>`, `optim.<name>.<group>.<param>.<slot>`, `rng.<i>` (default
 * generators, CPU first), `gen.<name>` (named generators); JSON metadata under the `tasksr` metadata key.
 */
import { existsSync } from "node:fs";
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
}

export interface Checkpointable {
  nets: Record<string, Module<never[], unknown>>;
  optimizers: Record<string, { stateDict(): OptimizerState; loadStateDict(s: OptimizerState): void }>;
  generators: Record<string, Generator>;
}

export function saveCheckpoint(path: string, parts: Checkpointable, state: LoopState): void {
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

/** Restores everything saved by saveCheckpoint into the given (already built) parts and returns the loop state. */
export function loadCheckpoint(path: string, parts: Checkpointable): LoopState {
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
    const rng = [...group("rng.").entries()].sort(([a], [b]) => Number(a) - Number(b)).map(([, t]) => t);
    setRngStates(rng);
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
