/**
 * `tasksr train --config <yaml> [--set k=v]... [--resume auto|<ckpt>] [--device cpu|cuda] [--out runs/]`
 * Ctrl-C stops at the next step with a checkpoint; a second Ctrl-C exits at once. A second `train` of a run that is
 * being trained is refused (the run folder's lock); `--resume auto` on a finished run only prints its results.
 */
import type { Command } from "commander";
import { STOP_TRAINING, withInterrupt } from "../interrupt.js";

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("train one setting (H→T, L→T, SR-FT, S→T, T→S, S+T, SR4IR) from a YAML config")
    .requiredOption("--config <yaml>", "run config (see configs/)")
    .option("--set <key=value>", "override a config value (repeatable; value parsed as YAML)", collect, [])
    .option("--resume <auto|ckpt>", "continue: auto = <out>/<name>/checkpoints/latest.safetensors if present")
    .option("--device <device>", "cpu, cuda, cuda:N or auto (overrides the config)")
    .option("--out <dir>", "folder of run folders", "runs")
    .action(async (o: { config: string; set: string[]; resume?: string; device?: string; out: string }) => {
      const { loadRunConfig } = await import("../../config/load.js");
      const { trainRun } = await import("../../train/run.js");
      const { formatEval } = await import("../../train/trainer.js");
      const { formatMetrics } = await import("../../train/logging.js");
      const { dirname, resolve } = await import("node:path");
      const cfg = loadRunConfig(o.config, o.set);
      const r = await withInterrupt(
        (signal) =>
          trainRun(cfg, {
            out: o.out,
            resume: o.resume,
            baseDir: dirname(resolve(o.config)),
            device: o.device,
            signal,
          }),
        STOP_TRAINING,
      );
      if (r.finishedBefore && r.results) {
        console.log(
          `finished before: ${cfg.name} in ${r.seconds.toFixed(0)} s; final ${formatMetrics(r.results.final)}`,
        );
        console.log(`run folder: ${r.runDir}`);
      } else if (r.stopped === "completed" && r.final) {
        console.log(`done: ${cfg.name} in ${r.seconds.toFixed(0)} s; final ${formatEval(r.final)}`);
        console.log(`run folder: ${r.runDir}`);
      } else {
        console.log(`stopped: resume with  tasksr train --config ${o.config} --resume auto`);
        process.exitCode = 130;
      }
    });
}
