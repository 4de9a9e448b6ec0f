/**
 * `tasksr` command line. Commands only parse arguments and call library functions; each lives in commands/.
 * Global options: --threads N (torch intra-op threads; default: the core count).
 */
import { Command, CommanderError } from "commander";
import { TasksrError } from "../errors.js";
import { registerBench } from "./commands/bench.js";
import { registerCompare } from "./commands/compare.js";
import { registerConvert } from "./commands/convert.js";
import { registerDegrade } from "./commands/degrade.js";
import { registerDemo } from "./commands/demo.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerEval } from "./commands/eval.js";
import { registerExport } from "./commands/export.js";
import { registerInspect } from "./commands/inspect.js";
import { registerMetrics } from "./commands/metrics.js";
import { registerStudy } from "./commands/study.js";
import { registerSynth } from "./commands/synth.js";
import { registerTrain } from "./commands/train.js";
import { registerUpscale } from "./commands/upscale.js";
import { registerWeb } from "./commands/web.js";
import { packageVersion } from "./version.js";

export function buildProgram(): Command {
  const program = new Command("tasksr")
    .description("Task-driven super-resolution: train, evaluate and deploy SR networks for recognition models")
    .version(packageVersion())
    .option("--threads <n>", "torch intra-op threads (default: number of cores)")
    .showHelpAfterError()
    .hook("preAction", async (cmd) => {
      const threads = cmd.opts().threads as string | undefined;
      if (threads !== undefined) {
        const n = Number(threads);
        if (!Number.isInteger(n) || n < 1) {
          throw new TasksrError("E_CLI_ARG", `--threads must be a positive integer, got "${threads}"`);
        }
        process.env.TASKSR_THREADS = String(n);
        const { setNumThreads } = await import("../engine/system.js");
        setNumThreads(n);
      }
    });
  registerDoctor(program);
  registerMetrics(program);
  registerConvert(program);
  registerBench(program);
  registerInspect(program);
  registerDegrade(program);
  registerTrain(program);
  registerUpscale(program);
  registerExport(program);
  registerEval(program);
  registerCompare(program);
  registerStudy(program);
  registerSynth(program);
  registerDemo(program);
  registerWeb(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof TasksrError) {
      console.error(`tasksr: error: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

await main();
