/**
 * `tasksr web [--study runs/demo] [--port 8080]`: exports a demo study's networks for the in-browser page
 * (src/web/site.ts), serves the page on localhost (src/web/serve.ts) and prints its URL; Ctrl-C stops the server.
 * `tasksr demo --web` runs it after the demo.
 */
import { join } from "node:path";
import type { Command } from "commander";
import { TasksrError } from "../../errors.js";

export interface WebOptions {
  study: string;
  port: number;
  host: string;
  /** Build the data folder and return without serving. */
  serve: boolean;
}

/** Builds <study>/web from the study's seed-0 runs and serves it until SIGINT. */
export async function startWeb(o: WebOptions): Promise<void> {
  const { readRunConfig } = await import("../../train/run.js");
  const { buildSite, demoColumns } = await import("../../web/site.js");
  const { serveWeb } = await import("../../web/serve.js");
  const seed = join(o.study, "seed-0");
  const hr2task = join(seed, "hr2task");
  let scale: number;
  try {
    scale = readRunConfig(hr2task).scale;
  } catch (err) {
    throw new TasksrError(
      "E_CLI_ARG",
      `--study ${o.study}: no finished demo there (${(err as Error).message}); run \`tasksr demo --web\` first`,
    );
  }
  const data = join(o.study, "web");
  const { columns, taskRun } = demoColumns(seed, scale);
  console.log(`tasksr web: exporting ${columns.length} SR models and the task network to ${data}`);
  await buildSite({
    columns,
    taskRun,
    out: data,
    onExport: (r) =>
      console.log(
        `  ${r.out}: ${r.part} of ${r.description}, onnxruntime vs engine ${r.check?.maxAbsDiff.toExponential(1)}`,
      ),
  });
  if (!o.serve) return;
  const server = await serveWeb({ data, port: o.port, host: o.host });
  console.log(`tasksr web: serving the page at ${server.url} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => process.once("SIGINT", resolve));
  await server.close();
}

export function registerWeb(program: Command): void {
  program
    .command("web")
    .description("export a demo study's networks and serve the in-browser task-driven SR page on localhost")
    .option("--study <dir>", "demo study folder (tasksr demo writes runs/demo)", "runs/demo")
    .option("--port <n>", "port (0 = any free port)", "8080")
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--no-serve", "only write <study>/web")
    .action(async (o: { study: string; port: string; host: string; serve: boolean }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new TasksrError("E_CLI_ARG", `--port must be an integer in 0..65535, got "${o.port}"`);
      }
      await startWeb({ study: o.study, port, host: o.host, serve: o.serve });
    });
}
