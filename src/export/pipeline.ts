/**
 * `tasksr export` behind the command line: resolves a run folder (or SR weights) into the part to export, writes the
 * ONNX file atomically with tasksr metadata, and checks it with onnxruntime-node.
 */
import { basename } from "node:path";
import { packageVersion } from "../cli/version.js";
import type { Tensor } from "../engine/tensor.js";
import { type PipelineInput, planFromRun } from "../eval/plan.js";
import { writeFileAtomic } from "../fs/atomic.js";
import { type LoadedTask, loadSr } from "../infer/sources.js";
import { type ExportPart, exportGraph } from "./networks.js";
import { type ExportResult, exportGraphOnnx, exportOnnx } from "./onnx.js";
import { checkRcnnWithOnnxRuntime, type RcnnCheck } from "./rcnn.js";
import { checkWithOnnxRuntime, type OrtCheck } from "./verify.js";

export type PipelineSource = { run: string } | { sr: string; arch?: string; scale?: number };

export interface PipelineExportOptions {
  part?: ExportPart;
  out: string;
  opset?: number;
  fp16?: boolean;
  /** Run the onnxruntime-node check (default true). */
  check?: boolean;
}

export interface PipelineExportResult {
  description: string;
  part: ExportPart;
  out: string;
  nodes: number;
  bytes: number;
  /** Output name -> dims (numbers, or size expressions such as "4*h"). */
  outputs: Record<string, (number | string)[]>;
  /** The check's input [N, 3, h, w]: a size none of the traces used. */
  checkInput: number[];
  /** A Faster R-CNN's check also compares the final detections (src/export/rcnn.ts). */
  check?: OrtCheck | RcnnCheck;
  metadata: Record<string, string>;
  /** A Faster R-CNN's second graph, written beside `out` (stage2Path). */
  stage2?: { out: string; nodes: number; bytes: number; outputs: Record<string, (number | string)[]> };
}

/** Where a Faster R-CNN export writes its stage 2: `m.onnx` -> `m.stage2.onnx`. */
export const stage2Path = (out: string): string => out.replace(/\.onnx$/, ".stage2.onnx");

/** Input of the onnxruntime check: not one of the traced sizes (src/export/dynamic.ts), and smaller than them. */
export const CHECK_INPUT: readonly [number, number, number] = [2, 45, 59];

export async function exportPipeline(src: PipelineSource, o: PipelineExportOptions): Promise<PipelineExportResult> {
  let input: PipelineInput | undefined;
  let task: LoadedTask | undefined;
  let scale: number;
  let classes: readonly string[] | undefined;
  let dispose: () => void;
  let description: string;
  let where: string;
  if ("run" in src) {
    const plan = await planFromRun(src.run, { device: "cpu", limit: 1 });
    ({ input, task } = plan);
    scale = plan.cfg.scale;
    classes = plan.val.classes;
    dispose = () => plan.dispose();
    description = `run ${src.run} (${plan.setting})`;
    where = `--run ${src.run}`;
  } else {
    const sr = loadSr(src.sr, { arch: src.arch, scale: src.scale });
    input = { kind: "sr", net: sr.net };
    scale = sr.scale;
    dispose = () => sr.net.dispose();
    description = sr.description;
    where = `--sr ${src.sr}`;
  }
  try {
    const part = o.part ?? (input?.kind === "hr" ? "task" : "sr");
    const g = exportGraph(part, { input, scale, task, where });
    const metadata: Record<string, string> = {
      "tasksr.version": packageVersion(),
      "tasksr.part": part,
      "tasksr.scale": String(part === "task" ? 1 : scale),
      "tasksr.input": "lr: float32 [N, 3, h, w], RGB in [0, 1]",
      ...(task === undefined ? {} : { "tasksr.task": task.adapter.task, "tasksr.task_arch": task.arch }),
      ...(classes === undefined || part === "sr" ? {} : { "tasksr.classes": JSON.stringify(classes) }),
      ...(g.detection === undefined ? {} : { "tasksr.detection": JSON.stringify(g.detection) }),
    };
    const options = {
      opset: o.opset,
      fp16: o.fp16,
      named: g.modules.flatMap((m) => [...m.namedParameters(), ...m.namedBuffers()]),
    };
    const write = (file: string, r: ExportResult) =>
      writeFileAtomic(file, Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength));
    let stage2: { file: string; r: ExportResult } | undefined;
    if (g.rcnn !== undefined) {
      // Two graphs with the JS steps between them; both carry the settings, stage 1 names its partner.
      const file = stage2Path(o.out);
      const { graphs } = g.rcnn;
      metadata["tasksr.rcnn"] = JSON.stringify(graphs.settings);
      const meta2 = { ...metadata, "tasksr.stage": "2", "tasksr.input": "features, rois, batch_index, levels, scales" };
      metadata["tasksr.stage"] = "1";
      metadata["tasksr.stage2"] = basename(file);
      const r2 = exportGraphOnnx(graphs.stage2, graphs.stage2Inputs, {
        ...options,
        output: "detections",
        metadata: meta2,
        graphName: `tasksr ${part} stage 2`,
        sampleSize: [6, 7],
      });
      stage2 = { file, r: r2 };
    }
    const r = exportOnnx(g.forward, {
      ...options,
      output: g.output,
      metadata,
      graphName: g.rcnn === undefined ? `tasksr ${part}` : `tasksr ${part} stage 1`,
    });
    write(o.out, r);
    if (stage2 !== undefined) write(stage2.file, stage2.r);
    let check: OrtCheck | RcnnCheck | undefined;
    if (o.check !== false) {
      check =
        g.rcnn === undefined || stage2 === undefined
          ? (await checkWithOnnxRuntime(r.bytes, g.forward, [CHECK_INPUT]))[0]
          : (
              await checkRcnnWithOnnxRuntime(
                r.bytes,
                stage2.r.bytes,
                g.forward as (x: Tensor) => Record<string, Tensor>,
                g.rcnn.graphs,
                g.rcnn.detect,
                part === "task" ? 1 : scale,
                [CHECK_INPUT],
              )
            )[0];
    }
    return {
      description,
      part,
      out: o.out,
      nodes: r.nodes,
      bytes: r.bytes.byteLength,
      outputs: r.outputs,
      checkInput: [CHECK_INPUT[0], 3, CHECK_INPUT[1], CHECK_INPUT[2]],
      ...(check === undefined ? {} : { check }),
      metadata,
      ...(stage2 === undefined
        ? {}
        : {
            stage2: {
              out: stage2.file,
              nodes: stage2.r.nodes,
              bytes: stage2.r.bytes.byteLength,
              outputs: stage2.r.outputs,
            },
          }),
    };
  } finally {
    dispose();
  }
}
