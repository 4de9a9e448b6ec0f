/**
 * The local launcher (torchrun's standalone mode): starts N workers of one command on this machine with the torchrun
 * environment, splits the cores between them, passes Ctrl-C/SIGTERM on to all of them and, when one fails, kills
 * the others and reports that rank.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { availableParallelism, constants } from "node:os";
import { TasksrError } from "../errors.js";

/** A TCP port free on 127.0.0.1 now (the rendezvous of a local job). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

export interface LaunchOptions {
  nproc: number;
  /** Node arguments of each worker (script and its arguments). */
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Threads per worker (default: the cores split evenly, at least 1), unless TASKSR_THREADS is set. */
  threads?: number;
  /** Rendezvous port (default: a free one). */
  port?: number;
  /** stdio of each worker (default inherit); "pipe" collects output into the result. */
  stdio?: "inherit" | "pipe";
  /**
   * Kill the other workers when one fails (default true); false lets each run to its own end, which shows what a
   * worker does by itself when a peer dies.
   */
  killOnFailure?: boolean;
  /** Called with the first failure, before the other workers are stopped. */
  onFailure?: (rank: number, how: string) => void;
}

export interface WorkerExit {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface LaunchResult {
  /** Exit status for the launcher: 0 when every worker succeeded, else the first failure's. */
  status: number;
  /** The first worker that failed. */
  failed?: { rank: number; how: string };
  workers: WorkerExit[];
}

const FORWARDED = ["SIGINT", "SIGTERM"] as const;

const describe = (code: number | null, signal: NodeJS.Signals | null) =>
  signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;

/** Runs the workers to completion. */
export async function launchLocal(o: LaunchOptions): Promise<LaunchResult> {
  if (!Number.isInteger(o.nproc) || o.nproc < 1) {
    throw new TasksrError("E_CLI_ARG", `--nproc-per-node must be an integer >= 1, got ${o.nproc}`);
  }
  const base = o.env ?? process.env;
  const port = o.port ?? (await freePort());
  const threads = o.threads ?? Math.max(1, Math.floor(availableParallelism() / o.nproc));
  const children: ChildProcess[] = [];
  const exits: (WorkerExit | undefined)[] = [];
  let failed: LaunchResult["failed"];
  // Set once a stop signal was passed on: workers that then stop with a checkpoint (status 130/143) did not fail.
  let stopping = false;
  // Once one worker failed the others cannot finish a step (their collectives wait for it): they are killed at
  // once, so that the failure is the one error reported. Their writes are atomic; rank 0's is a temp file at most,
  // which the next start removes.
  const stopOthers = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  const forward = FORWARDED.map((sig) => {
    const h = () => {
      stopping = true;
      for (const c of children) c.kill(sig);
    };
    process.on(sig, h);
    return () => process.off(sig, h);
  });
  try {
    await Promise.all(
      Array.from({ length: o.nproc }, (_, rank) => {
        const env: NodeJS.ProcessEnv = {
          ...base,
          RANK: String(rank),
          LOCAL_RANK: String(rank),
          WORLD_SIZE: String(o.nproc),
          LOCAL_WORLD_SIZE: String(o.nproc),
          MASTER_ADDR: "127.0.0.1",
          MASTER_PORT: String(port),
        };
        if (base.TASKSR_THREADS === undefined) env.TASKSR_THREADS = String(threads);
        delete env.TORCHELASTIC_USE_AGENT_STORE;
        const pipe = o.stdio === "pipe";
        // The IPC channel ends a worker whose launcher died (bin/tasksr.js exits on its disconnect).
        const child = spawn(process.execPath, [...o.args], {
          env,
          stdio: pipe ? ["ignore", "pipe", "pipe", "ipc"] : ["inherit", "inherit", "inherit", "ipc"],
        });
        children.push(child);
        const out = { stdout: "", stderr: "" };
        child.stdout?.on("data", (d: Buffer) => {
          out.stdout += d.toString();
        });
        child.stderr?.on("data", (d: Buffer) => {
          out.stderr += d.toString();
        });
        return new Promise<void>((resolve) => {
          child.on("error", (err) => {
            out.stderr += String(err);
          });
          child.on("close", (code, signal) => {
            exits[rank] = { rank, code, signal, ...out };
            const ok = code === 0 || (stopping && (code === 130 || code === 143));
            if (!ok && failed === undefined) {
              failed = { rank, how: describe(code, signal) };
              o.onFailure?.(rank, failed.how);
              if (o.killOnFailure ?? true) stopOthers();
            }
            resolve();
          });
        });
      }),
    );
  } finally {
    for (const off of forward) off();
  }
  const workers = exits as WorkerExit[];
  if (failed === undefined) return { status: workers.find((w) => w.code !== 0)?.code ?? 0, workers };
  const w = workers[failed.rank]!;
  const status = w.code ?? 128 + (constants.signals[w.signal!] ?? 0);
  return { status: status === 0 ? 1 : status, failed, workers };
}
