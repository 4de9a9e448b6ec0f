/**
 * The exportable parts of a pipeline: `sr` (LR -> SR image), `task` (image -> task output) and `sr+task` (one graph
 * from LR to the task output, exactly what `tasksr eval` runs: the SR output goes to the task network unclamped).
 * Output names follow docs/deploy.md: `sr`, `logits` (classification), `masks` (segmentation, per-class scores
 * [N, K, H, W] before argmax), `scores` and `boxes` (SSD, src/export/detection.ts; post-processing in JS). A Faster
 * R-CNN is two graphs with JS between them (src/export/rcnn.ts): `forward` is its stage 1, `rcnn` holds stage 2.
 */
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import { interpolateLr, type PipelineInput } from "../eval/plan.js";
import type { DetectionSettings } from "../infer/detect_post.js";
import type { LoadedTask } from "../infer/sources.js";
import type { Detection, DetectorOutput } from "../models/detection/types.js";
import type { Module } from "../nn/module.js";
import { getTask, type TaskExportHead } from "../tasks/registry.js";
import type { RcnnGraphs } from "./rcnn.js";

export const EXPORT_PARTS = ["sr", "task", "sr+task"] as const;
export type ExportPart = (typeof EXPORT_PARTS)[number];

export interface ExportGraph {
  forward: (lr: Tensor) => Tensor | Record<string, Tensor>;
  /** The output's name (`sr`, or the task's: `logits`, `masks`, `detections`); a detector's forward returns named
   * outputs (`scores`, `boxes`) instead. */
  output: string;
  /** A detector's post-processing settings (stored as the file's `tasksr.detection` metadata). */
  detection?: DetectionSettings;
  /** The networks whose parameters the graph reads (for initializer names). */
  modules: Module<never[], unknown>[];
  /** A Faster R-CNN: its stage 2 and JS settings, and the engine's eval-mode detections from `lr` (for the check). */
  rcnn?: { graphs: RcnnGraphs; detect: (lr: Tensor) => Detection[] };
}

/** LR -> the image the task sees, for the SR front of a pipeline (an SR net, or the L→T interpolation). */
function front(
  input: PipelineInput,
  scale: number,
  where: string,
): { fn: (lr: Tensor) => Tensor; modules: Module<never[], unknown>[] } {
  switch (input.kind) {
    case "sr":
      return { fn: (lr) => input.net.call(lr), modules: [input.net as unknown as Module<never[], unknown>] };
    case "interpolate":
      return { fn: (lr) => interpolateLr(lr, input.mode, scale), modules: [] };
    case "hr":
      throw new TasksrError("E_CLI_ARG", `${where}: the task network of this run sees HR images; it has no SR part`);
  }
}

function taskForward(task: LoadedTask, where: string): TaskExportHead {
  const def = getTask(task.adapter.task);
  if (def.exportHead === undefined) {
    throw new TasksrError("E_EXPORT", `${where}: the ${def.name} task defines no ONNX export (its exportHead)`);
  }
  return def.exportHead(task.adapter.net as unknown as Module<[Tensor], unknown>, task.arch);
}

/** The forward of `part`, from the pipeline's SR front and/or task network. */
export function exportGraph(
  part: ExportPart,
  o: { input?: PipelineInput; scale: number; task?: LoadedTask; where: string },
): ExportGraph {
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new TasksrError("E_CLI_ARG", `${o.where}: --part ${part} needs ${what}`);
    return v;
  };
  if (part === "sr") {
    const f = front(need(o.input, "an SR network"), o.scale, o.where);
    return { forward: f.fn, output: "sr", modules: f.modules };
  }
  const task = need(o.task, "a task network");
  const t = taskForward(task, o.where);
  const taskModules = [task.adapter.net];
  const detection = t.detection === undefined ? {} : { detection: t.detection };
  const detector = task.adapter.net as unknown as Module<[Tensor], DetectorOutput>;
  const rcnn = (pre: (lr: Tensor) => Tensor) =>
    t.rcnn === undefined ? {} : { rcnn: { graphs: t.rcnn, detect: (lr: Tensor) => detector.call(pre(lr)).detections } };
  if (part === "task") {
    return { forward: t.fn, output: t.output, modules: taskModules, ...detection, ...rcnn((x) => x) };
  }
  const f = front(need(o.input, "an SR network"), o.scale, o.where);
  return {
    forward: (lr) => t.fn(f.fn(lr)),
    output: t.output,
    modules: [...f.modules, ...taskModules],
    ...detection,
    ...rcnn(f.fn),
  };
}
