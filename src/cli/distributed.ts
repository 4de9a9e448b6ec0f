/**
 * The distributed options shared by `tasksr train` and `tasksr study`: `--nproc-per-node N` makes this process the
 * local launcher of N workers of the same command; a process started with the torchrun environment joins its group.
 */
import type { Command } from "commander";
import type { ProcessGroup } from "../dist/group.js";
import { TasksrError } from "../errors.js";

export interface DistArgs {
  nprocPerNode?: string;
  distTimeout: string;
}

export function distOptions(cmd: Command): Command {
  return cmd
    .option("--nproc-per-node <n>", "start n data-parallel worker processes on this machine (docs/distributed.md)")
    .option("--dist-timeout <seconds>", "distributed: a collective that waits longer ends the job", "300");
}

/**
 * Runs `fn` as this process's part of the job: launches the workers (and returns their status) with
 * --nproc-per-node, else joins the group of the torchrun environment (none for one process) around `fn`.
 */
export async function asDistributed(
  o: DistArgs,
  fn: (group: ProcessGroup | undefined) => Promise<void>,
): Promise<void> {
  const timeoutS = Number(o.distTimeout);
  if (!(timeoutS > 0)) {
    throw new TasksrError("E_CLI_ARG", `--dist-timeout must be a positive number of seconds, got "${o.distTimeout}"`);
  }
  if (o.nprocPerNode !== undefined) {
    const { launchWorkers } = await import("../dist/agent.js");
    process.exitCode = await launchWorkers(o.nprocPerNode);
    return;
  }
  const { distEnvFrom } = await import("../dist/env.js");
  const env = distEnvFrom();
  const { ProcessGroup } = await import("../dist/group.js");
  const group = env && env.world > 1 ? ProcessGroup.init(env, { timeoutS }) : undefined;
  try {
    await fn(group);
  } finally {
    group?.shutdown();
  }
}
