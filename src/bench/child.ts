/** What the benchmarks share: a PyTorch to compare with, child processes that print one JSON line, medians. */
import { spawnSync } from "node:child_process";
import { TasksrError } from "../errors.js";

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A Python interpreter that can import torch, or undefined. */
export function findTorchPython(): string | undefined {
  for (const py of [process.env.TASKSR_PYTHON, "/usr/bin/python3", "python3"]) {
    if (!py) continue;
    const r = spawnSync(py, ["-c", "import torch"], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return undefined;
}

/**
 * Runs `cmd args` with `threads` intra-op threads and returns the last JSON line it printed. Children inherit this
 * process's environment, including the allocator preloaded by the tasksr launcher, so both sides of a benchmark run
 * under the same allocator; both get tasksr's OpenBLAS thread count (1 unless set).
 */
export function runJsonChild<T>(cmd: string, args: readonly string[], threads: number): T {
  const env = {
    ...process.env,
    TASKSR_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? "1",
  };
  const r = spawnSync(cmd, args, { encoding: "utf8", env, maxBuffer: 1 << 24 });
  const line = r.stdout
    ?.trim()
    .split("\n")
    .findLast((l) => l.startsWith("{"));
  if (r.status !== 0 || line === undefined) {
    throw new TasksrError("E_CLI_ARG", `benchmark process failed: ${cmd} ${args.join(" ")}\n${r.stderr ?? ""}`);
  }
  return JSON.parse(line) as T;
}
