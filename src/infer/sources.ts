/**
 * Networks named on the command line: a run folder (its config.resolved.yaml plus the final sr/task safetensors, or
 * the latest checkpoint of an unfinished run), a tasksr checkpoint inside a run folder, a weights file (our
 * safetensors carry `arch`/`scale` metadata; PyTorch .pt/.pth need --arch/--scale), or a fixed upsampler
 * (`bicubic`, `bilinear`). Every problem names the argument and what was expected.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { RunConfig } from "../config/schema.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import "../models/index.js";
import { buildArch } from "../models/registry.js";
import type { SrNetwork } from "../models/types.js";
import { readWeightsFile } from "../nn/weights.js";
import type { TaskAdapter } from "../tasks/adapter.js";
import "../tasks/index.js";
import { buildTaskAdapter } from "../tasks/registry.js";
import { readRunConfig, runFiles } from "../train/run.js";

/** Where a network's weights live, and the architecture they belong to. */
export interface WeightsSource {
  /** The file read. */
  file: string;
  /** Prefix of the network's keys inside the file (checkpoints: `net.sr.` / `net.task.`). */
  prefix?: string;
  arch?: string;
  options?: Record<string, unknown>;
  scale?: number;
  /** The run folder's config, when the weights come from a run. */
  cfg?: RunConfig;
}

export const isRunFolder = (path: string): boolean =>
  existsSync(path) && statSync(path).isDirectory() && existsSync(runFiles(path).config);

/**
 * The final weights of `net` in a run folder, or its latest checkpoint when the run has not finished. `flag` names
 * the command-line argument in errors.
 */
export function runWeights(dir: string, net: "sr" | "task", flag: string): WeightsSource {
  const files = runFiles(dir);
  const cfg = readRunConfig(dir);
  const spec = net === "sr" ? cfg.sr : cfg.taskNet;
  if (spec === undefined) {
    throw new TasksrError("E_CLI_ARG", `${flag} ${dir}: the run (recipe ${cfg.recipe.name}) has no SR network`);
  }
  const common = { arch: spec.arch, options: spec.options, scale: cfg.scale, cfg };
  if (existsSync(files[net])) return { file: files[net], ...common };
  if (existsSync(files.latest)) return { file: files.latest, prefix: `net.${net}.`, ...common };
  throw new TasksrError(
    "E_CLI_ARG",
    `${flag} ${dir}: the run folder has neither ${basename(files[net])} nor a checkpoint; train it first`,
  );
}

/** Describes a weights file: its metadata, or for a checkpoint the run folder two levels up. */
function fileSource(path: string, net: "sr" | "task", metadata: Record<string, string>): WeightsSource {
  if (metadata.tasksr !== undefined) {
    const run = dirname(dirname(path));
    if (!isRunFolder(run)) {
      throw new TasksrError(
        "E_BAD_FILE",
        `${path} is a training checkpoint outside a run folder (no ${run}/config.resolved.yaml)`,
      );
    }
    return { ...runWeights(run, net, path), file: path, prefix: `net.${net}.` };
  }
  const src: WeightsSource = { file: path };
  if (metadata.arch !== undefined) src.arch = metadata.arch;
  if (metadata.scale !== undefined) src.scale = Number(metadata.scale);
  // Our final weights sit next to the run's config, which holds the architecture options.
  const sibling = join(dirname(path), "config.resolved.yaml");
  if (existsSync(sibling)) {
    const cfg = readRunConfig(dirname(path));
    const spec = net === "sr" ? cfg.sr : cfg.taskNet;
    if (spec !== undefined && spec.arch === src.arch) src.options = spec.options;
    src.cfg = cfg;
  }
  return src;
}

/** The string metadata of a safetensors file, read from its header alone ({} for PyTorch files). */
function readMetadata(path: string): Record<string, string> {
  const fd = openSync(path, "r");
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) < 8) return {};
    const n = Number(len.readBigUInt64LE());
    const first = Buffer.alloc(1);
    // safetensors: the JSON header follows the 8-byte length; anything else (.pt zip, pickle) has no metadata.
    if (n > 100_000_000 || readSync(fd, first, 0, 1, 8) < 1 || first[0] !== 0x7b) return {};
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    const meta = (JSON.parse(header.toString("utf8")) as { __metadata__?: Record<string, string> }).__metadata__;
    return meta ?? {};
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read the header of ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

/** Reads the tensors of `src` (the caller disposes them); DataParallel's `module.` prefix is stripped. */
function readTensors(src: WeightsSource): Map<string, Tensor> {
  const { tensors } = readWeightsFile(src.file);
  if (src.prefix === undefined) return tensors;
  const out = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith(src.prefix)) out.set(k.slice(src.prefix.length), t);
    else t.dispose();
  }
  if (out.size === 0) throw new TasksrError("E_BAD_FILE", `${src.file} holds no weights under "${src.prefix}"`);
  return out;
}

const stripModule = (k: string): string => k.replace(/^module\./, "");

function loadInto(
  net: { loadStateDict: (sd: Map<string, Tensor>, o: object) => unknown },
  src: WeightsSource,
  flag: string,
): void {
  const sd = readTensors(src);
  try {
    net.loadStateDict(sd, { remap: stripModule });
  } catch (err) {
    if (err instanceof TasksrError)
      throw new TasksrError(err.code, `${flag} ${src.file}: ${err.message}`, { cause: err });
    throw err;
  } finally {
    for (const t of sd.values()) t.dispose();
  }
}

export interface SrSourceOptions {
  /** Architecture for plain weights (required for .pt/.pth without metadata). */
  arch?: string;
  /** Scale for plain weights and for bicubic/bilinear. */
  scale?: number;
  device?: string;
  /** Argument named in errors (default "--sr"). */
  flag?: string;
}

export interface LoadedSr {
  net: SrNetwork;
  arch: string;
  scale: number;
  /** Human-readable origin, e.g. "runs/x/sr.safetensors (edsr-tiny x4)". */
  description: string;
  /** The run folder's config when the network comes from a run. */
  cfg?: RunConfig;
}

/** Builds the SR network `spec` names, with its weights, in eval mode without gradients on `device`. */
export function loadSr(spec: string, o: SrSourceOptions = {}): LoadedSr {
  const flag = o.flag ?? "--sr";
  let src: WeightsSource | undefined;
  if (!existsSync(spec)) {
    if (spec !== "bicubic" && spec !== "bilinear") {
      throw new TasksrError(
        "E_CLI_ARG",
        `${flag} ${spec}: no such file or folder; expected a run folder, a weights file, bicubic or bilinear`,
      );
    }
  } else if (statSync(spec).isDirectory()) {
    src = runWeights(spec, "sr", flag);
  } else {
    src = fileSource(spec, "sr", readMetadata(spec));
  }
  const arch = pick(flag, "--arch", o.arch, src?.arch) ?? (src ? undefined : spec);
  const scale = pick(flag, "--scale", o.scale, src?.scale);
  if (arch === undefined) {
    throw new TasksrError("E_CLI_ARG", `${flag} ${spec}: the file does not name its architecture; pass --arch`);
  }
  if (scale === undefined) {
    throw new TasksrError("E_CLI_ARG", `${flag} ${spec}: the scale is unknown; pass --scale`);
  }
  const net = buildArch(arch, { ...(src?.options ?? {}), scale }, "sr") as unknown as SrNetwork;
  try {
    if (src) loadInto(net, src, flag);
    net.to(o.device ?? "cpu");
  } catch (err) {
    net.dispose();
    throw err;
  }
  net.requiresGrad_(false).eval();
  const description = `${src ? src.file : spec} (${arch} x${scale})`;
  return { net, arch, scale, description, ...(src?.cfg ? { cfg: src.cfg } : {}) };
}

/** A value given both on the command line and by the file must agree. */
function pick<T>(flag: string, name: string, given: T | undefined, stored: T | undefined): T | undefined {
  if (given !== undefined && stored !== undefined && given !== stored) {
    throw new TasksrError("E_CLI_ARG", `${flag}: ${name} ${given} contradicts the weights file, which says ${stored}`);
  }
  return given ?? stored;
}

/** The task network of `spec` (run folder, checkpoint or weights file) as a task adapter. */
export interface LoadedTask {
  adapter: TaskAdapter;
  arch: string;
  description: string;
  cfg?: RunConfig;
}

/**
 * Builds the task network `spec` names for the task and classes of `cfg`, with its weights, in eval mode without
 * gradients. A plain weights file without an `arch` entry uses cfg.taskNet.arch.
 */
export function loadTask(
  spec: string,
  cfg: RunConfig,
  numClasses: number,
  o: { device?: string; flag?: string } = {},
): LoadedTask {
  const flag = o.flag ?? "--task";
  if (!existsSync(spec)) {
    throw new TasksrError(
      "E_CLI_ARG",
      `${flag} ${spec}: no such file or folder; expected a run folder or a weights file`,
    );
  }
  let src: WeightsSource;
  if (statSync(spec).isDirectory()) src = runWeights(spec, "task", flag);
  else {
    src = fileSource(spec, "task", readMetadata(spec));
  }
  const arch = src.arch ?? cfg.taskNet.arch;
  const options = src.options ?? (arch === cfg.taskNet.arch ? cfg.taskNet.options : {});
  const adapter = buildTaskAdapter(cfg.task, arch, options, numClasses);
  try {
    loadInto(adapter.net, src, flag);
    adapter.net.to(o.device ?? "cpu");
  } catch (err) {
    adapter.net.dispose();
    throw err;
  }
  adapter.net.requiresGrad_(false).eval();
  return { adapter, arch, description: `${src.file} (${arch})`, ...(src.cfg ? { cfg: src.cfg } : {}) };
}
