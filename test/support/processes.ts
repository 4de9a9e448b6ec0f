/**
 * The `tasksr` launcher (bin/tasksr.js) as a terminal or a supervisor runs it, for the tests that signal or kill it
 * and its processes: output matching, bounded waits, the process tree from /proc, and cleanup of what a failing
 * test leaves behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after } from "node:test";
import { REPO } from "./paths.js";

export interface Launched {
  proc: ChildProcess;
  output: () => string;
  /** Resolves when the output matches `re`; rejects when the process exits first or after `ms`. */
  waitFor: (re: RegExp, ms?: number) => Promise<RegExpExecArray>;
  /** Resolves with the exit status or signal; rejects after `ms`. */
  exited: (ms?: number) => Promise<{ code: number | null; signal: string | null }>;
}

const launched: ChildProcess[] = [];

/** Runs the launcher; `group`: in a process group of its own, like a command a shell runs in a terminal. */
export function launch(args: string[], group = false, extraEnv: NodeJS.ProcessEnv = {}): Launched {
  // Without the test runner's LD_PRELOAD the launcher re-executes itself under tcmalloc, as for a user.
  const env: NodeJS.ProcessEnv = { ...process.env, TASKSR_THREADS: "1", ...extraEnv };
  delete env.LD_PRELOAD;
  const proc = spawn(process.execPath, [join(REPO, "bin", "tasksr.js"), ...args], {
    cwd: REPO,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: group,
  });
  launched.push(proc);
  let text = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const l of listeners) l();
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const timeout = <T>(p: Promise<T>, ms: number, what: string) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${what} within ${ms} ms; output:\n${text}`)), ms).unref(),
      ),
    ]);
  return {
    proc,
    output: () => text,
    waitFor: (re, ms = 20_000) =>
      timeout(
        new Promise<RegExpExecArray>((resolve, reject) => {
          const check = () => {
            const m = re.exec(text);
            if (m) {
              listeners.delete(check);
              resolve(m);
            }
          };
          listeners.add(check);
          check();
          exit.then(() => reject(new Error(`exited before printing ${re}; output:\n${text}`)));
        }),
        ms,
        `no ${re}`,
      ),
    exited: (ms = 20_000) => timeout(exit, ms, "no exit"),
  };
}

/** Process ids whose parent is `pid` (from /proc). */
export function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false; // exited while listing
      }
    })
    .map(Number);
}

/** Whether `pid` runs (an exited process not yet reaped by its new parent counts as gone). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Every process below `pid` (children, their children, ...). */
export function descendantsOf(pid: number): number[] {
  return childrenOf(pid).flatMap((c) => [c, ...descendantsOf(c)]);
}

// Whatever a failing test leaves behind: the launchers and the training processes they started.
after(() => {
  for (const p of launched) {
    for (const c of p.pid === undefined ? [] : descendantsOf(p.pid)) {
      try {
        process.kill(c, "SIGKILL");
      } catch {
        // already gone
      }
    }
    p.kill("SIGKILL");
  }
});
