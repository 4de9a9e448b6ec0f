/**
 * `tasksr train|study --nproc-per-node N`: the agent process of a local job. It re-runs its own command line without
 * the option as N workers (launch.ts) and reports the first worker that failed.
 */
import { TasksrError } from "../errors.js";
import { launchLocal } from "./launch.js";

/** The command line of a worker: this process's, without `--nproc-per-node` and its value. */
export function workerArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--nproc-per-node") i++;
    else if (!a.startsWith("--nproc-per-node=")) out.push(a);
  }
  return out;
}

/** Runs the workers; resolves to the exit status of the job. */
export async function launchWorkers(nproc: string): Promise<number> {
  const n = Number(nproc);
  if (!Number.isInteger(n) || n < 1) {
    throw new TasksrError("E_CLI_ARG", `--nproc-per-node must be an integer >= 1, got "${nproc}"`);
  }
  if (process.env.WORLD_SIZE !== undefined) {
    throw new TasksrError(
      "E_CLI_ARG",
      "--nproc-per-node starts workers itself, but this process already is a worker (WORLD_SIZE is set): drop one of them",
    );
  }
  const r = await launchLocal({
    nproc: n,
    args: [...process.execArgv, ...workerArgv(process.argv.slice(1))],
    onFailure: (rank, how) => console.error(`tasksr: worker rank ${rank} of ${n} ${how}; stopping the other workers`),
  });
  if (r.failed) {
    console.error(
      new TasksrError("E_DIST", `the job failed: worker rank ${r.failed.rank} of ${n} ${r.failed.how}`).message,
    );
  }
  return r.status;
}
