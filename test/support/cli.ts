/** Runs the `tasksr` launcher (bin/tasksr.js) as a user would, capturing its output. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Command } from "commander";
import { TasksrError } from "../../src/errors.js";
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

/**
 * Runs one command in-process (no engine start-up per call) and returns the error it throws, for argument-error
 * tests; fails when the command succeeds.
 */
export async function commandError(register: (program: Command) => void, args: string[]): Promise<TasksrError> {
  const program = new Command("tasksr").exitOverride();
  register(program);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    if (err instanceof TasksrError) return err;
    throw err;
  }
  throw new Error(`tasksr ${args.join(" ")} succeeded; expected an error`);
}
