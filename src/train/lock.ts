/**
 * One writer per run folder: `<run>/.tasksr-lock` holds the pid, host and start time of the process training the run.
 * It is created atomically (a complete temp file hard-linked to the lock name, which fails when the name exists), so
 * a second `train` of the same run is refused instead of interleaving metrics.jsonl and mixing checkpoints. A lock
 * whose process has died (SIGKILL, power loss) is stale and taken over; the holder removes it when it finishes, fails
 * or exits.
 */
import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { TasksrError } from "../errors.js";

export const LOCK_FILE = ".tasksr-lock";

export interface LockHolder {
  pid: number;
  hostname: string;
  /** ISO time the holder took the lock. */
  started: string;
}

/** Lock files this process holds (absolute paths): removed on exit too, e.g. after a second Ctrl-C. */
const held = new Set<string>();
let exitHookInstalled = false;

/** Whether a process with this pid exists on this machine (EPERM: it exists, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, "utf8")) as Partial<LockHolder>;
    if (typeof h.pid === "number" && typeof h.hostname === "string" && typeof h.started === "string") {
      return h as LockHolder;
    }
  } catch {
    // Missing (released meanwhile) or unreadable: no holder.
  }
  return undefined;
}

/**
 * A holder that cannot be training any more: its process is gone, or it names this process without this process
 * holding the lock (a pid reused after a restart, e.g. in a container). A holder on another host is never stale: its
 * process cannot be checked from here.
 */
function stale(h: LockHolder, path: string): boolean {
  if (h.hostname !== hostname()) return false;
  if (h.pid === process.pid) return !held.has(path);
  return !processAlive(h.pid);
}

function inUse(dir: string, path: string, h: LockHolder): TasksrError {
  const me = h.pid === process.pid && h.hostname === hostname() ? " (this process)" : "";
  return new TasksrError(
    "E_RUN_FOLDER",
    `${dir} is in use: tasksr pid ${h.pid}${me} on ${h.hostname} has been training this run since ${h.started}; ` +
      `wait for it to finish or stop it (if no such process is running, delete ${path})`,
  );
}

/** The live holder of a run folder's lock, or undefined when it is free or the lock is stale. */
export function lockHolder(dir: string): LockHolder | undefined {
  const path = join(dir, LOCK_FILE);
  const h = readHolder(path);
  return h !== undefined && !stale(h, path) ? h : undefined;
}

/**
 * Takes the lock of a run folder, or throws E_RUN_FOLDER naming the folder and the holder. Returns the release
 * function (idempotent).
 */
export function lockRunFolder(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, hostname: hostname(), started: new Date().toISOString() };
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, `${JSON.stringify(me)}\n`);
  try {
    for (;;) {
      try {
        linkSync(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const h = readHolder(path);
      if (h !== undefined && !stale(h, path)) throw inUse(dir, path, h);
      // Move the stale lock aside before deleting it: if another process replaced it with its own live lock since it
      // was read, that lock is put back rather than deleted.
      const aside = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
      try {
        renameSync(path, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      const moved = readHolder(aside);
      if (moved !== undefined && !stale(moved, path)) {
        try {
          linkSync(aside, path);
        } catch {
          // A third process took the lock meanwhile: its lock stands, and this run is refused either way.
        }
        unlinkSync(aside);
        throw inUse(dir, path, moved);
      }
      unlinkSync(aside);
    }
  } finally {
    unlinkSync(tmp);
  }
  held.add(path);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const p of held) removeQuietly(p);
    });
  }
  return () => {
    if (held.delete(path)) removeQuietly(path);
  };
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to release.
  }
}
