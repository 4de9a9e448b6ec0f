#!/usr/bin/env node
// `tasksr` launcher: re-executes node with tcmalloc preloaded (see preload.js), then runs the CLI.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { envWithTcmalloc, preloadSettled } from "./preload.js";

if (!preloadSettled()) {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: "inherit",
      env: envWithTcmalloc(),
    },
  );
  // Ctrl-C reaches the child through the terminal's process group; the parent only waits for it.
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? (signal === "SIGINT" ? 130 : 1);
  });
} else {
  const main = new URL("../dist/src/cli/main.js", import.meta.url);
  if (!existsSync(fileURLToPath(main))) {
    console.error("tasksr: the TypeScript build is missing (dist/). Run `npm run build` (or `npm run setup`) first.");
    process.exit(1);
  }
  await import(main.href);
}
