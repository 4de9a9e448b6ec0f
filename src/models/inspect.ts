/**
 * One architecture at a glance: parameters (total and trainable), MACs for an input, and the shapes of its outputs
 * and feature taps. Backs `tasksr inspect`.
 *
 * ```ts
 * const s = inspectArch("resnet18", { classes: 200 }); // s.params, s.macs.total, s.taps.l4 = [1, 512, 7, 7]
 * ```
 */
import { zeros } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { Module } from "../nn/module.js";
import "../tasks/index.js";
import { getTask } from "../tasks/registry.js";
import { MobileNetV3Features } from "./backbones/mobilenetv3.js";
import { countMacs, type MacsReport } from "./macs.js";
import { type ArchKind, buildArch, getArch } from "./registry.js";
import type { TaskNetwork } from "./types.js";

export interface InspectOptions {
  /** SR scale (SR architectures only). */
  scale?: number;
  /** Number of classes (task networks only). */
  classes?: number;
  /**
   * Input [C, H, W] (batch 1); defaults per kind: SR 3×32×32, classification/backbone 3×224×224, segmentation
   * 3×480×480, detection 3×320×320 (detectors resize internally, e.g. Faster R-CNN to a short side of 800).
   */
  input?: readonly [number, number, number];
}

export interface ArchSummary {
  arch: string;
  kind: ArchKind;
  description: string;
  params: number;
  trainable: number;
  macs: MacsReport;
  input: number[];
  /**
   * Output shapes by name ("out" for a single tensor; "out"/"aux" for segmenters; "boxes"/"scores"/"labels" of the
   * first image for detectors, whose detection count depends on the input).
   */
  outputs: Record<string, number[]>;
  /** Feature-tap shapes by name (empty for SR networks). */
  taps: Record<string, number[]>;
}

const DEFAULT_INPUT: Partial<Record<ArchKind, readonly [number, number, number]>> = {
  sr: [3, 32, 32],
  backbone: [3, 224, 224],
};

/** The task a `task.<name>` kind belongs to (its inspect defaults), or undefined for SR networks and backbones. */
const taskOf = (kind: ArchKind) => (kind.startsWith("task.") ? getTask(kind.slice("task.".length)) : undefined);

const isTaskNetwork = (m: Module<never[], unknown>): m is TaskNetwork<unknown> => "tapNames" in m && "forwardTaps" in m;

/** Shapes of every tensor in `o` (a tensor, or an object/Map of them), by name. */
function shapes(o: unknown, single = "out"): Record<string, number[]> {
  if (o instanceof Tensor) return { [single]: [...o.shape] };
  const entries = o instanceof Map ? [...o.entries()] : Object.entries(o as object);
  return Object.fromEntries(entries.filter(([, v]) => v instanceof Tensor).map(([k, v]) => [String(k), [...v.shape]]));
}

/** Builds `name` with the given scale/classes, runs it once on zeros of the input size and summarises it. */
export function inspectArch(name: string, o: InspectOptions = {}): ArchSummary {
  const entry = getArch(name);
  const options: Record<string, number> = {};
  if (o.scale !== undefined) {
    if (entry.kind !== "sr")
      throw new TasksrError("E_CLI_ARG", `--scale applies to SR architectures; ${name} is ${entry.kind}`);
    options.scale = o.scale;
  }
  if (o.classes !== undefined) {
    if (!entry.kind.startsWith("task.")) {
      throw new TasksrError("E_CLI_ARG", `--classes applies to task networks; ${name} is ${entry.kind}`);
    }
    options.numClasses = o.classes;
  }
  const task = taskOf(entry.kind);
  const input = [1, ...(o.input ?? task?.inspect.input ?? DEFAULT_INPUT[entry.kind]!)];
  const net = buildArch(name, options).eval() as Module<never[], unknown>;
  try {
    return scope(() => {
      const x = zeros(input);
      const { macs, result } = countMacs(net, () => {
        if (isTaskNetwork(net)) {
          const r = net.forwardTaps(x, net.tapNames);
          const out = task?.inspect.outputs ? task.inspect.outputs(r.out) : r.out;
          return { outputs: shapes(out), taps: shapes(r.taps) };
        }
        if (net instanceof MobileNetV3Features) {
          const maps = net.forwardFeatures(x, net.stageIndices);
          const taps = Object.fromEntries(net.stageIndices.map((i, k) => [`C${k}`, [...maps.get(i)!.shape]]));
          return { outputs: { out: taps[`C${net.stageIndices.length - 1}`]! }, taps };
        }
        return { outputs: shapes((net as unknown as Module<[Tensor], unknown>).call(x)), taps: {} };
      });
      return {
        arch: name,
        kind: entry.kind,
        description: entry.description,
        params: net.numParameters(),
        trainable: net.numParameters(true),
        macs,
        input,
        ...result,
      };
    });
  } finally {
    net.dispose();
  }
}
