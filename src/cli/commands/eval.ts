/**
 * `tasksr eval --run <dir> | --config <yaml> | --sr <X> --task <Y> [--json] [--visualize [dir]]`: the full test
 * pipeline LR -> SR -> task network with the task metric, PSNR under both protocols and SSIM (src/eval/).
 */
import type { Command } from "commander";
import { TasksrError } from "../../errors.js";
import { loadCommandPlugins, pluginOption } from "../plugins.js";

interface RawOptions {
  plugin: string[];
  run?: string;
  config?: string;
  set: string[];
  out: string;
  sr?: string;
  task?: string;
  arch?: string;
  scale?: string;
  limit?: string;
  device: string;
  baseDir?: string;
  json?: boolean;
  visualize?: string | boolean;
  visCount: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < 1) {
    throw new TasksrError("E_CLI_ARG", `${flag} must be a positive integer, got "${v}"`);
  }
  return n;
}

/** Which of the three forms was asked for; one clear error for any other combination. */
function mode(o: RawOptions): "run" | "config" | "pair" {
  if (o.run !== undefined) {
    if (o.config !== undefined || o.sr !== undefined || o.task !== undefined) {
      throw new TasksrError("E_CLI_ARG", "--run evaluates a run folder on its own; drop --config/--sr/--task");
    }
    return "run";
  }
  if (o.sr !== undefined || o.task !== undefined) {
    if (o.sr === undefined || o.task === undefined) {
      throw new TasksrError(
        "E_CLI_ARG",
        "--sr and --task go together: --sr <run|weights|bicubic|bilinear|hr> --task <run|weights>",
      );
    }
    return "pair";
  }
  if (o.config !== undefined) return "config";
  throw new TasksrError("E_CLI_ARG", "say what to evaluate: --run <dir>, --config <yaml>, or --sr <X> --task <Y>");
}

const fmt = (v: number | undefined, digits: number) => (v === undefined ? "-" : v.toFixed(digits));

export function registerEval(program: Command): void {
  pluginOption(program.command("eval"))
    .description("evaluate LR -> SR -> task net: task metric, PSNR (sr4ir and basicsr protocols) and SSIM")
    .option("--run <dir>", "a run folder (config.resolved.yaml + sr/task safetensors)")
    .option("--config <yaml>", "a config: its finished run in --out, else the weights it names; data for --sr/--task")
    .option("--set <key=value>", "override a config value (repeatable)", collect, [])
    .option("--out <dir>", "folder of run folders (for --config)", "runs")
    .option("--sr <spec>", "SR input: run folder, weights file, bicubic, bilinear or hr")
    .option("--task <spec>", "task network: run folder or weights file")
    .option("--arch <name>", "architecture of plain SR weights (with --sr)")
    .option("--scale <s>", "evaluation scale (default: the SR network's, else the config's)")
    .option("--limit <n>", "evaluate only the first n validation images")
    .option("--base-dir <dir>", "folder relative dataset paths are resolved from")
    .option("--device <device>", "cpu, cuda, cuda:N or auto", "auto")
    .option("--json", "print one JSON object")
    .option(
      "--visualize [dir]",
      "write SR images, colourised masks / drawn boxes and grid.png (default: <run>/visualize)",
    )
    .option("--vis-count <n>", "images to visualise", "8")
    .action(async (o: RawOptions) => {
      const form = mode(o);
      const limit = positiveInt("--limit", o.limit);
      const scale = positiveInt("--scale", o.scale);
      const visCount = positiveInt("--vis-count", o.visCount)!;
      const { resolve, join } = await import("node:path");
      const { loadRunConfig } = await import("../../config/load.js");
      const { resolveDevice } = await import("../../engine/system.js");
      const { planFromConfig, planFromPair, planFromRun } = await import("../../eval/plan.js");
      const { evaluatePlan } = await import("../../eval/run.js");
      const { ProgressBar } = await import("../progress.js");
      await loadCommandPlugins(o.plugin, o.config);
      const device = resolveDevice(o.device);
      const common = { device, ...(o.baseDir ? { baseDir: resolve(o.baseDir) } : {}), ...(limit ? { limit } : {}) };
      const cfg = o.config === undefined ? undefined : loadRunConfig(o.config, o.set);
      const plan =
        form === "run"
          ? await planFromRun(o.run!, common)
          : form === "config"
            ? await planFromConfig(cfg!, o.config!, { ...common, out: o.out })
            : await planFromPair(o.sr!, o.task!, {
                ...common,
                ...(cfg ? { cfg, configPath: o.config! } : {}),
                ...(scale ? { scale } : {}),
                ...(o.arch ? { arch: o.arch } : {}),
              });
      let visDir: string | undefined;
      if (o.visualize !== undefined) {
        if (typeof o.visualize === "string") visDir = o.visualize;
        else if (plan.runDir !== undefined) visDir = join(plan.runDir, "visualize");
        else {
          plan.dispose();
          throw new TasksrError("E_CLI_ARG", "--visualize needs a folder here (no run folder to write into)");
        }
      }
      const bar = new ProgressBar("eval", "images");
      try {
        const r = await evaluatePlan(plan, {
          device,
          ...(visDir ? { visualize: { dir: visDir, count: visCount } } : {}),
          onProgress: (n, total) => bar.update(n, total),
        });
        bar.finish();
        if (o.json) {
          console.log(JSON.stringify(r));
          return;
        }
        const m = r.metrics;
        const lines = [
          `setting   ${r.setting}${r.run ? ` (${r.run})` : ""}`,
          `task      ${r.task} x${r.scale}, ${r.images} images, ${r.seconds.toFixed(1)} s`,
          `input     ${r.input}`,
          `task net  ${r.taskNet}`,
          ...Object.entries(m)
            .filter(([k]) => !k.startsWith("psnr_") && k !== "ssim")
            .map(([k, v]) => `${k.padEnd(9)} ${fmt(v, 2)}${k === r.primary ? "  (headline)" : ""}`),
        ];
        if (m.psnr_sr4ir !== undefined || m.psnr_basicsr !== undefined) {
          lines.push(
            `PSNR      ${fmt(m.psnr_sr4ir, 2)} dB (sr4ir: RGB, crop 8)   ${fmt(m.psnr_basicsr, 2)} dB (basicsr: Y, crop ${r.scale})`,
          );
        }
        if (m.ssim !== undefined) lines.push(`SSIM      ${fmt(m.ssim, 4)} (basicsr: Y, crop ${r.scale})`);
        if (r.visualized) lines.push(`visualize ${r.visualized.length} files in ${visDir}`);
        console.log(lines.join("\n"));
      } finally {
        bar.finish();
        plan.dispose();
      }
    });
}
