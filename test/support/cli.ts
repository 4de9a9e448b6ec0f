/** Runs the `tasksr` launcher (bin/tasksr.js) as a user would, capturing its output. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO } from "./paths.js";

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function tasksr(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [join(REPO, "bin", "tasksr.js"), ...args], {
    encoding: "utf8",
    cwd: REPO,
    env: { ...process.env, TASKSR_THREADS: "1" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
