/**
 * `tasksr demo [--task t] [--scale s] [--sr net] [--quick] [--device d] [--out runs] [--seeds n]`: the main job on built-in
 * data. Generates (or reuses) a synthetic dataset, trains H→T, L→T, SR-FT, S→T, T→S and SR4IR with small networks,
 * and writes report.md/json, an image grid and a bar chart with both views (SR4IR's and TDSR's) into <out>/demo/,
 * printing the tables.
 */
import { join } from "node:path";
import type { Command } from "commander";
import { TasksrError } from "../../errors.js";
import { runStudyToReport } from "./study.js";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("train and compare every setting on built-in synthetic data; writes runs/demo/report.md")
    .option("--task <task>", "classification, segmentation or detection", "classification")
    .option("--scale <s>", "SR scale: 2, 4 or 8", "4")
    .option("--sr <arch>", "SR network, residual over bicubic: edsr-tiny, dbpn-tiny or swinir-tiny", "edsr-tiny")
    .option("--quick", "a smaller, shorter demo (1-4 minutes on 2 CPU cores)")
    .option("--device <device>", "cpu, cuda, cuda:N or auto", "auto")
    .option("--seeds <n>", "number of seeds per setting (mean ± std in the report)", "1")
    .option("--out <dir>", "folder of study folders", "runs")
    .option("--cache <dir>", "folder for the generated datasets", ".cache/synthetic")
    .option("--web", "then export the networks and serve the in-browser page (tasksr web)")
    .option("--port <n>", "port of the page with --web", "8080")
    .action(
      async (o: {
        task: string;
        scale: string;
        sr: string;
        quick?: boolean;
        device: string;
        seeds: string;
        out: string;
        cache: string;
        web?: boolean;
        port: string;
      }) => {
        const tasks = ["classification", "segmentation", "detection"] as const;
        const task = tasks.find((t) => t === o.task);
        if (task === undefined) {
          throw new TasksrError("E_CLI_ARG", `--task must be one of ${tasks.join(", ")}, got "${o.task}"`);
        }
        const scale = Number(o.scale);
        if (scale !== 2 && scale !== 4 && scale !== 8) {
          throw new TasksrError("E_CLI_ARG", `--scale must be 2, 4 or 8, got "${o.scale}"`);
        }
        const seeds = Number(o.seeds);
        if (!Number.isInteger(seeds) || seeds < 1) {
          throw new TasksrError("E_CLI_ARG", `--seeds must be a positive integer, got "${o.seeds}"`);
        }
        const { DEMO_SR_ARCHS, demoStudy } = await import("../../study/demo.js");
        const srArch = DEMO_SR_ARCHS.find((a) => a === o.sr);
        if (srArch === undefined) {
          throw new TasksrError("E_CLI_ARG", `--sr must be one of ${DEMO_SR_ARCHS.join(", ")}, got "${o.sr}"`);
        }
        const t0 = performance.now();
        console.log(`tasksr demo: preparing the synthetic ${task} dataset in ${o.cache}`);
        const demo = await demoStudy({
          task,
          scale,
          srArch,
          quick: o.quick === true,
          device: o.device,
          cache: o.cache,
          seeds: Array.from({ length: seeds }, (_, i) => i),
        });
        console.log(`tasksr demo: dataset ${demo.datasetReused ? "reused" : "generated"} at ${demo.root}`);
        const finished = await runStudyToReport(
          demo.study,
          { out: o.out, where: "tasksr demo", device: o.device, replaceChanged: true },
          { command: `tasksr ${process.argv.slice(2).join(" ")}`, intro: demo.description },
        );
        if (finished) console.log(`tasksr demo: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        if (finished && o.web === true) {
          if (task === "detection")
            throw new TasksrError("E_CLI_ARG", "--web: the page shows classification and segmentation");
          const { startWeb } = await import("./web.js");
          await startWeb({ study: join(o.out, demo.study.name), port: Number(o.port), host: "127.0.0.1", serve: true });
        }
      },
    );
}
