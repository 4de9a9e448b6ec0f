/**
 * `tasksr study <study.yaml> [--set k=v]... [--out runs/] [--device d] [--fresh] [--nproc-per-node N]`: trains every
 * setting of a study over its seeds (reusing finished runs, resuming interrupted ones; each with N data-parallel
 * processes when asked), evaluates both views and writes `<out>/<name>/report.{md,json}`. Ctrl-C stops at the next
 * step with a checkpoint; running it again continues.
 */
import type { Command } from "commander";
import type { StudyOptions } from "../../study/run.js";
import type { StudyConfig } from "../../study/schema.js";
import { asDistributed, type DistArgs, distOptions } from "../distributed.js";
import { STOP_TRAINING, withInterrupt } from "../interrupt.js";
import { loadCommandPlugins, pluginOption } from "../plugins.js";

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerStudy(program: Command): void {
  distOptions(
    pluginOption(program.command("study"))
      .description("train and compare the settings of a study (H→T … SR4IR) over seeds; writes report.md/json")
      .argument("<study>", "study YAML (see configs/studies/)")
      .option("--set <key=value>", "override a study value (repeatable; value parsed as YAML)", collect, [])
      .option("--out <dir>", "folder of study folders", "runs")
      .option("--device <device>", "cpu, cuda, cuda:N or auto")
      .option("--fresh", "delete this study's earlier runs first"),
  ).action(
    async (
      file: string,
      o: DistArgs & { set: string[]; out: string; device?: string; fresh?: boolean; plugin: string[] },
    ) =>
      asDistributed(o, async (group) => {
        const { dirname, resolve } = await import("node:path");
        await loadCommandPlugins(o.plugin, file);
        const { loadStudy } = await import("../../study/load.js");
        const study = loadStudy(file, o.set);
        await runStudyToReport(
          study,
          { out: o.out, where: file, device: o.device, baseDir: dirname(resolve(file)), fresh: o.fresh, group },
          { command: `tasksr ${process.argv.slice(2).join(" ")}` },
        );
      }),
  );
}

/**
 * Runs a study under Ctrl-C handling, then writes and prints its report; a stopped study says how to continue and
 * sets exit status 130 (returns false). Shared by `tasksr study` and `tasksr demo`.
 */
export async function runStudyToReport(
  study: StudyConfig,
  run: Omit<StudyOptions, "signal">,
  report: { command: string; intro?: string },
): Promise<boolean> {
  const { runStudy } = await import("../../study/run.js");
  const { writeStudyReport } = await import("../../study/write.js");
  const follower = run.group !== undefined && run.group.rank !== 0;
  const r = await withInterrupt((signal) => runStudy(study, { ...run, signal }), follower ? undefined : STOP_TRAINING);
  // Rank 0 reports; the other ranks of a distributed study only train.
  if (follower) {
    if (r.stopped) process.exitCode = 130;
    return !r.stopped;
  }
  if (r.stopped) {
    console.log("stopped: run the same command again to continue");
    process.exitCode = 130;
    return false;
  }
  const rep = await writeStudyReport(r, report);
  console.log(`\n${rep.markdown}`);
  console.log(`report: ${rep.files.join(", ")}`);
  return true;
}
