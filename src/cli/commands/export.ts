/**
 * `tasksr export --run <dir> [--part sr|task|sr+task] --out model.onnx [--opset 17] [--fp16]`, or
 * `tasksr export --sr <weights|run|bicubic> [--arch A --scale S] --out sr.onnx`: writes an ONNX model
 * (docs/deploy.md), then runs it with onnxruntime-node on a random input and prints the largest difference from the
 * engine. The file is written atomically; a failed check (difference above the tolerance) exits non-zero and keeps
 * the file for inspection.
 */
import type { Command } from "commander";
import { TasksrError } from "../../errors.js";
import { loadCommandPlugins, pluginOption } from "../plugins.js";

interface RawOptions {
  plugin: string[];
  run?: string;
  sr?: string;
  arch?: string;
  scale?: string;
  part?: string;
  out: string;
  opset: string;
  fp16?: boolean;
  check: boolean;
  json?: boolean;
}

/** fp32: a few ulps of float32 summation order on outputs of O(1); fp16 weights and activations: 1e-2. */
export const EXPORT_TOLERANCE = { fp32: 1e-4, fp16: 1e-2 } as const;

export function registerExport(program: Command): void {
  pluginOption(program.command("export"))
    .description("export an SR network, a task network or both as one ONNX graph, checked with onnxruntime-node")
    .option("--run <dir>", "run folder (its final or latest weights)")
    .option("--sr <source>", "SR weights, checkpoint or run folder, or bicubic/bilinear (instead of --run)")
    .option("--arch <name>", "SR architecture of plain weights without metadata")
    .option("--scale <s>", "scale of plain weights without metadata")
    .option("--part <part>", "sr, task or sr+task (default: sr, or task for a run without an SR network)")
    .requiredOption("--out <file.onnx>", "output file")
    .option("--opset <n>", "ONNX opset, 17 to 21", "17")
    .option("--fp16", "store weights and compute in float16 (inputs and outputs stay float32)")
    .option("--no-check", "skip the onnxruntime-node check")
    .option("--json", "print one JSON object instead of text")
    .action(async (o: RawOptions) => {
      await loadCommandPlugins(o.plugin);
      if ((o.run === undefined) === (o.sr === undefined)) {
        throw new TasksrError("E_CLI_ARG", "give exactly one of --run <dir> and --sr <source>");
      }
      const { EXPORT_PARTS } = await import("../../export/networks.js");
      if (o.part !== undefined && !(EXPORT_PARTS as readonly string[]).includes(o.part)) {
        throw new TasksrError("E_CLI_ARG", `--part must be one of ${EXPORT_PARTS.join(", ")}, got "${o.part}"`);
      }
      if (o.sr !== undefined && o.part !== undefined && o.part !== "sr") {
        throw new TasksrError("E_CLI_ARG", `--part ${o.part} needs --run (the task network comes from a run)`);
      }
      const opset = Number(o.opset);
      if (!Number.isInteger(opset)) throw new TasksrError("E_CLI_ARG", `--opset must be an integer, got "${o.opset}"`);
      if (!o.out.endsWith(".onnx")) throw new TasksrError("E_CLI_ARG", `--out must end in .onnx, got "${o.out}"`);
      const scaleArg = o.scale === undefined ? undefined : Number(o.scale);
      if (scaleArg !== undefined && !(Number.isInteger(scaleArg) && scaleArg > 0)) {
        throw new TasksrError("E_CLI_ARG", `--scale must be a positive integer, got "${o.scale}"`);
      }
      const { exportPipeline } = await import("../../export/pipeline.js");
      const src = o.run === undefined ? { sr: o.sr!, arch: o.arch, scale: scaleArg } : { run: o.run };
      const r = await exportPipeline(src, {
        part: o.part as (typeof EXPORT_PARTS)[number] | undefined,
        out: o.out,
        opset,
        fp16: o.fp16 === true,
        check: o.check,
      });
      const tol = o.fp16 === true ? EXPORT_TOLERANCE.fp16 : EXPORT_TOLERANCE.fp32;
      // A Faster R-CNN's check also runs the JS steps: its float32 detections must agree with the engine's.
      const detections = r.check !== undefined && "detections" in r.check ? r.check.detections : undefined;
      const ok =
        r.check === undefined ||
        (r.check.maxAbsDiff <= tol * Math.max(1, detections === undefined ? 1 : r.check.maxAbs) &&
          (detections === undefined || o.fp16 === true || detections.agree));
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ ...r, tolerance: tol, ok })}\n`);
      } else {
        const mb = (r.bytes / 1e6).toFixed(2);
        console.log(`exported ${r.description} (${r.part}) -> ${r.out}: ${r.nodes} nodes, ${mb} MB, opset ${opset}`);
        const outs = Object.entries(r.outputs).map(([name, dims]) => `${name} [${dims.join(", ")}]`);
        console.log(`  input lr [N, 3, h, w] -> ${outs.join(", ")}`);
        if (r.stage2 !== undefined) {
          const outs2 = Object.entries(r.stage2.outputs).map(([name, dims]) => `${name} [${dims.join(", ")}]`);
          console.log(`  stage 2 -> ${r.stage2.out}: ${r.stage2.nodes} nodes, rois [K, 4] -> ${outs2.join(", ")}`);
        }
        if (r.check !== undefined) {
          const d = r.check;
          console.log(
            `  onnxruntime-node vs engine on [${r.checkInput.join(", ")}]: max abs diff ${d.maxAbsDiff.toExponential(2)} ` +
              `(largest |output| ${d.maxAbs.toPrecision(3)}, tolerance ${tol}) ${ok ? "ok" : "FAILED"}`,
          );
          if (detections !== undefined) {
            console.log(
              `  detections (onnxruntime + JS vs engine): ${detections.onnx} vs ${detections.engine}, ` +
                `${detections.same ? "same labels" : "DIFFERENT"}, boxes ${detections.maxBoxDiff.toExponential(2)} px, ` +
                `scores ${detections.maxScoreDiff.toExponential(2)}`,
            );
          }
        }
      }
      if (!ok) process.exitCode = 1;
    });
}
