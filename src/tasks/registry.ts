/**
 * Tasks by name. Each task declares, in one `defineTask` (src/tasks/<task>/index.ts), everything the rest of tasksr
 * needs from it: its data side (assembly, presets; src/tasks/data.ts), how host batches become engine tensors, the
 * options and adapter of its network (loss, TDP taps, evaluator and headline metric), how predictions are drawn,
 * how `tasksr inspect` feeds it and, where it has one, its ONNX head. Training, evaluation, inference, reports and
 * benches ask here; nothing else branches on the task. A plug-in defines a task the same way (docs/extending.md).
 */

import type { Image } from "../data/io/image.js";
import type { Batch, CollateOptions } from "../data/loader/collate.js";
import type { HostBatch } from "../data/loader/host_batch.js";
import type { SharedImages } from "../data/loader/shared_arrays.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { DetectionSettings } from "../infer/detect_post.js";
import { buildArch } from "../models/registry.js";
import type { TaskNetwork } from "../models/types.js";
import type { Module } from "../nn/module.js";
import type { GridCell } from "../report/draw.js";
import type { TaskAdapter } from "./adapter.js";
import { defineTaskData, hasTaskData, type TaskData } from "./data.js";

/** What the visualiser needs to draw one image's prediction and ground truth. */
export interface DrawContext<P> {
  /** The task network's input (SR output, interpolation or HR) and the HR image, cropped to the image's size. */
  input: Image;
  hr: Image;
  pred: P;
  gt: P;
  /** Tag of the input in file names and captions: "sr", "hr", "bicubic", "bilinear". */
  inputName: string;
  /** The input is the HR image (shown once). */
  hrInput: boolean;
  className(label: number): string;
  /** Detections below this score are not drawn. */
  scoreThreshold: number;
}

/** One image's drawn prediction: files beside the LR/input/HR images, its grid row after the LR cell, index fields. */
export interface Drawn {
  /** [file suffix, image] of the prediction drawn (it becomes the index's `shown`) and of the ground truth. */
  pred?: readonly [string, Image];
  gt?: readonly [string, Image];
  row: GridCell[];
  /** Extra fields of the image's entry in index.json (classification: predicted and true class). */
  index?: Record<string, unknown>;
}

export interface TaskVisual<P = unknown> {
  /** Predictions and ground truth of the first n images of the batch (network in eval mode, no grad, in a scope). */
  predict(net: Module<never[], unknown>, xs: Tensor, batch: Batch, n: number): [P, P][];
  draw(c: DrawContext<P>): Promise<Drawn>;
}

/** The graph of a task network for ONNX export (src/export/networks.ts). */
export interface TaskExportHead {
  fn: (x: Tensor) => Tensor | Record<string, Tensor>;
  /** The output's name (docs/deploy.md). */
  output: string;
  detection?: DetectionSettings;
  /** A two-stage detector's stage 2 (src/export/rcnn.ts). */
  rcnn?: import("../export/rcnn.js").RcnnGraphs;
}

export interface TaskDef<B extends Batch = Batch, H extends HostBatch = HostBatch, P = unknown> {
  readonly name: string;
  readonly data: TaskData<H>;
  /** The metric the task's evaluator reports first (reports' headline), and display names of its metric keys. */
  readonly metrics: { readonly primary: string; readonly labels: Readonly<Record<string, string>> };
  /** A host batch's engine tensors on `o.device` (`shared`: where a worker's images lie, to view without a copy). */
  upload(host: H, o: CollateOptions, shared?: SharedImages): B;
  /** Options the network is built with for a dataset of `numClasses` classes (default `{ numClasses }`). */
  netOptions?(numClasses: number): Record<string, unknown>;
  /** The adapter over a network of architecture kind `task.<name>`. */
  adapter(net: TaskNetwork<unknown>, o: { numClasses: number }): TaskAdapter;
  readonly visual: TaskVisual<P>;
  /** `tasksr inspect`: the default input [C, H, W] and, for outputs that are not tensors, what to summarise. */
  readonly inspect: { readonly input: readonly [number, number, number]; outputs?(out: unknown): unknown };
  /** The exportable graph of a network (absent: the task's networks do not export). */
  exportHead?(net: Module<[Tensor], unknown>, arch: string): TaskExportHead;
}

const defs = new Map<string, TaskDef>();

/** Registers a task (and its data side, unless a worker module registered it already). */
export function defineTask<B extends Batch, H extends HostBatch, P>(def: TaskDef<B, H, P>): void {
  if (defs.has(def.name)) throw new TasksrError("E_CONFIG", `task "${def.name}" is defined twice`);
  if (def.data.name !== def.name) {
    throw new TasksrError("E_CONFIG", `task "${def.name}": its data side is named "${def.data.name}"`);
  }
  if (!hasTaskData(def.name)) defineTaskData(def.data);
  // Stored without its batch types: collate hands each task only the host batches its own data side assembled.
  defs.set(def.name, def as unknown as TaskDef);
}

export function getTask(name: string): TaskDef {
  const d = defs.get(name);
  if (d === undefined) {
    throw new TasksrError("E_UNKNOWN_NAME", `unknown task "${name}"; known: ${[...defs.keys()].join(", ")}`);
  }
  return d;
}

export const hasTask = (name: string): boolean => defs.has(name);

/** Every task, built-in ones first, in definition order. */
export const listTasks = (): TaskDef[] => [...defs.values()];

/** The task adapter of a network built from `arch` and `options` for a dataset with `numClasses` classes. */
export function buildTaskAdapter(
  task: string,
  arch: string,
  options: Record<string, unknown>,
  numClasses: number,
): TaskAdapter {
  const def = getTask(task);
  const opts = { ...(def.netOptions?.(numClasses) ?? { numClasses }), ...options };
  return def.adapter(buildArch(arch, opts, `task.${task}`), { numClasses });
}
