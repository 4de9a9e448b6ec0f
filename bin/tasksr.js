#!/usr/bin/env node
// `tasksr` launcher: re-executes node with tcmalloc preloaded (see preload.js), then runs the CLI.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { envWithTcmalloc, preloadSettled } from "./preload.js";

// Signals the launcher passes on to the CLI process. A terminal delivers them to the launcher only (see below), so
// each reaches the CLI exactly once, whether it came from Ctrl-C, `kill <launcher>` or a supervisor.
const FORWARDED = ["SIGINT", "SIGTERM", "SIGWINCH", "SIGCONT"];

if (!preloadSettled()) {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      // The IPC channel closes when the launcher dies in any way (even SIGKILL); the CLI exits on that.
      stdio: ["inherit", "inherit", "inherit", "ipc"],
      env: envWithTcmalloc(),
      // A session of its own keeps the CLI out of the terminal's process group: otherwise Ctrl-C would reach it
      // twice (from the terminal and forwarded), and the second SIGINT means "quit at once without a checkpoint".
      detached: true,
    },
  );
  for (const sig of FORWARDED) process.on(sig, () => child.kill(sig));
  // Ctrl-Z: the CLI's own session is out of the terminal's job control, so it is stopped along with the launcher
  // (SIGCONT from `fg`/`bg` is forwarded above).
  process.on("SIGTSTP", () => {
    child.kill("SIGSTOP");
    process.kill(process.pid, "SIGSTOP");
  });
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
  });
} else {
  if (process.send) {
    // Started by the launcher (or another parent with an IPC channel): exit when it is gone, so that a killed
    // launcher never leaves a training process running and writing. unref: the channel alone keeps nothing alive.
    process.on("disconnect", () => process.exit(129));
    process.channel?.unref();
  }
  const main = new URL("../dist/src/cli/main.js", import.meta.url);
  if (!existsSync(fileURLToPath(main))) {
    console.error("tasksr: the TypeScript build is missing (dist/). Run `npm run build` (or `npm run setup`) first.");
    process.exit(1);
  }
  await import(main.href);
}
