/**
 * `tasksr train --config <yaml> [--set k=v]... [--resume auto|<ckpt>] [--device cpu|cuda] [--out runs/]
 *  [--nproc-per-node N] [--dist-timeout s]`
 * Ctrl-C stops at the next step with a checkpoint; a second Ctrl-C exits at once. A second `train` of a run that is
 * being trained is refused (the run folder's lock); `--resume auto` on a finished run only prints its results.
 * `--nproc-per-node N` starts N workers of this same command here (torchrun's standalone mode); a process started
 * with the torchrun environment (WORLD_SIZE, RANK, MASTER_ADDR, ...) is one worker of a distributed job.
 */
import type { Command } from "commander";
import { asDistributed, type DistArgs, distOptions } from "../distributed.js";
import { STOP_TRAINING, withInterrupt } from "../interrupt.js";
import { loadCommandPlugins, pluginOption } from "../plugins.js";

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerTrain(program: Command): void {
  distOptions(
    pluginOption(program.command("train"))
      .description("train one setting (H→T, L→T, SR-FT, S→T, T→S, S+T, SR4IR) from a YAML config")
      .requiredOption("--config <yaml>", "run config (see configs/)")
      .option("--set <key=value>", "override a config value (repeatable; value parsed as YAML)", collect, [])
      .option("--resume <auto|ckpt>", "continue: auto = <out>/<name>/checkpoints/latest.safetensors if present")
      .option("--device <device>", "cpu, cuda, cuda:N or auto (overrides the config)")
      .option("--out <dir>", "folder of run folders", "runs"),
  ).action(async (o: TrainArgs) => asDistributed(o, (group) => train(o, group)));
}

interface TrainArgs extends DistArgs {
  config: string;
  plugin: string[];
  set: string[];
  resume?: string;
  device?: string;
  out: string;
}

async function train(o: TrainArgs, group: import("../../dist/group.js").ProcessGroup | undefined): Promise<void> {
  const { loadRunConfig } = await import("../../config/load.js");
  const { trainRun } = await import("../../train/run.js");
  const { formatEval } = await import("../../train/trainer.js");
  const { formatMetrics } = await import("../../train/logging.js");
  const { dirname, resolve } = await import("node:path");
  await loadCommandPlugins(o.plugin, o.config);
  const cfg = loadRunConfig(o.config, o.set);
  const r = await withInterrupt(
    (signal) =>
      trainRun(cfg, {
        out: o.out,
        resume: o.resume,
        baseDir: dirname(resolve(o.config)),
        device: o.device,
        signal,
        group,
      }),
    group !== undefined && group.rank !== 0 ? undefined : STOP_TRAINING,
  );
  // Rank 0 reports; the other ranks' outcome is their exit status.
  if (group !== undefined && group.rank !== 0) {
    if (r.stopped !== "completed") process.exitCode = 130;
    return;
  }
  if (r.finishedBefore && r.results) {
    console.log(`finished before: ${cfg.name} in ${r.seconds.toFixed(0)} s; final ${formatMetrics(r.results.final)}`);
    console.log(`run folder: ${r.runDir}`);
  } else if (r.stopped === "completed" && r.final) {
    console.log(`done: ${cfg.name} in ${r.seconds.toFixed(0)} s; final ${formatEval(r.final)}`);
    console.log(`run folder: ${r.runDir}`);
  } else {
    console.log(`stopped: resume with  tasksr train --config ${o.config} --resume auto`);
    process.exitCode = 130;
  }
}
