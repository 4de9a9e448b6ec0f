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

/** Reads a weights file into a name -> tensor map (caller disposes the tensors). */
export function readWeights(path: string, key?: string): Map<string, Tensor> {
  let head: Buffer;
  try {
    const fd = openSync(path, "r");
    head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    closeSync(fd);
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read weights ${path}: ${(err as Error).message}`, { cause: err });
  }
  // safetensors starts with a little-endian header length followed by '{'.
  if (head[8] === 0x7b) {
    const f = loadSafetensors(path);
    if (key === undefined) return f.tensors;
    const prefix = `${key}.`;
    const out = new Map<string, Tensor>();
    for (const [k, t] of f.tensors) {
      if (k.startsWith(prefix)) out.set(k.slice(prefix.length), t);
      else t.dispose();
    }
    if (out.size === 0) throw new TasksrError("E_BAD_FILE", `${path}: no tensors under key prefix "${prefix}"`);
    return out;
  }
  return loadPth(path, { key });
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
