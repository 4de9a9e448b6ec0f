/**
 * `tasksr study <study.yaml> [--set k=v]... [--out runs/] [--device d] [--fresh]`: trains every setting of a study
 * over its seeds (reusing finished runs, resuming interrupted ones), evaluates both views and writes
 * `<out>/<name>/report.{md,json}`. Ctrl-C stops at the next step with a checkpoint; running it again continues.
 */
import type { Command } from "commander";

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerStudy(program: Command): void {
  program
    .command("study")
    .description("train and compare the settings of a study (H→T … SR4IR) over seeds; writes report.md/json")
    .argument("<study>", "study YAML (see configs/studies/)")
    .option("--set <key=value>", "override a study value (repeatable; value parsed as YAML)", collect, [])
    .option("--out <dir>", "folder of study folders", "runs")
    .option("--device <device>", "cpu, cuda, cuda:N or auto")
    .option("--fresh", "delete this study's earlier runs first")
    .action(async (file: string, o: { set: string[]; out: string; device?: string; fresh?: boolean }) => {
      const { dirname, resolve } = await import("node:path");
      const { loadStudy } = await import("../../study/load.js");
      const { runStudy } = await import("../../study/run.js");
      const { writeStudyReport } = await import("../../study/write.js");
      const study = loadStudy(file, o.set);
      const ac = new AbortController();
      const onSigint = () => {
        if (ac.signal.aborted) process.exit(130);
        console.error("\ntasksr: stopping after this step and saving a checkpoint (Ctrl-C again to quit at once)");
        ac.abort();
      };
      process.on("SIGINT", onSigint);
      try {
        const r = await runStudy(study, {
          out: o.out,
          where: file,
          device: o.device,
          baseDir: dirname(resolve(file)),
          fresh: o.fresh,
          signal: ac.signal,
        });
        if (r.stopped) {
          console.log(`stopped: run the same command again to continue the study`);
          process.exitCode = 130;
          return;
        }
        const rep = await writeStudyReport(r, { command: `tasksr study ${process.argv.slice(3).join(" ")}` });
        console.log(`\n${rep.markdown}`);
        console.log(`report: ${rep.files.join(", ")}`);
      } finally {
        process.off("SIGINT", onSigint);
      }
    });
}
