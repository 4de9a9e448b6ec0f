/**
 * Loading weights files into a network: safetensors (ours, or exported from PyTorch) or PyTorch `.pth`/`.pt`
 * (zip or legacy format, optionally nested under a key such as "params" or "state_dict").
 */
import { closeSync, openSync, readSync } from "node:fs";
import { loadSafetensors } from "../engine/safetensors.js";
import { loadPth } from "../engine/serialize/pth.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { LoadOptions, LoadReport, Module } from "./module.js";

/** A weights file's tensors (owned by the caller) and its string metadata (safetensors only; empty for .pth). */
export interface WeightsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Reads a weights file with its metadata; `key` selects a nested state dict (safetensors: a key prefix). */
export function readWeightsFile(path: string, key?: string): WeightsFile {
  let head: Buffer;
  try {
    const fd = openSync(path, "r");
    head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    closeSync(fd);
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read weights ${path}: ${(err as Error).message}`, { cause: err });
  }
  // safetensors starts with a little-endian header length followed by '{'. A file named .safetensors is decoded as
  // one whatever its bytes, so damage is reported as safetensors damage (header length, JSON) rather than as
  // "not a PyTorch checkpoint".
  if (head[8] === 0x7b || path.toLowerCase().endsWith(".safetensors")) {
    const f = loadSafetensors(path);
    if (key === undefined) return f;
    const prefix = `${key}.`;
    const out = new Map<string, Tensor>();
    for (const [k, t] of f.tensors) {
      if (k.startsWith(prefix)) out.set(k.slice(prefix.length), t);
      else t.dispose();
    }
    if (out.size === 0) throw new TasksrError("E_BAD_FILE", `${path}: no tensors under key prefix "${prefix}"`);
    return { tensors: out, metadata: f.metadata };
  }
  return { tensors: loadPth(path, { key }), metadata: {} };
}

/** Reads a weights file into a name -> tensor map (caller disposes the tensors). */
export function readWeights(path: string, key?: string): Map<string, Tensor> {
  return readWeightsFile(path, key).tensors;
}

/** Loads a weights file into `net` by state-dict key; see Module.loadStateDict for strict/remap. */
export function loadWeights(
  net: Module<never[], unknown>,
  path: string,
  o: LoadOptions & { key?: string } = {},
): LoadReport {
  const sd = readWeights(path, o.key);
  try {
    return net.loadStateDict(sd, o);
  } finally {
    for (const t of sd.values()) t.dispose();
  }
}

/**
 * Loads a config's `weights` file into `net` (a path relative to `baseDir`, the config's folder), naming the config
 * block (`where`) in errors; nothing when the block has no weights.
 */
export function loadNetWeights(
  net: Module<never[], unknown>,
  c: { weights?: string; weightsKey?: string; strict: boolean },
  where: string,
  baseDir?: string,
): void {
  if (c.weights === undefined) return;
  const path = baseDir && !c.weights.startsWith("/") ? `${baseDir}/${c.weights}` : c.weights;
  try {
    loadWeights(net, path, { key: c.weightsKey, strict: c.strict });
  } catch (err) {
    if (err instanceof TasksrError) throw new TasksrError(err.code, `${where}.weights: ${err.message}`, { cause: err });
    throw err;
  }
}
