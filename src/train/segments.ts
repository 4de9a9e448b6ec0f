/**
 * A run's training time across its segments (one per invocation that trains: the first and every resume), kept in
 * `<run>/segments.json` so that results.json reports the whole run's time, not the last segment's. A segment counts
 * up to its last checkpoint, since the work after that is lost and done again by the next segment: that is the time
 * of checkpoints/latest.safetensors when the next segment starts (whether the segment ended by Ctrl-C, an error or
 * SIGKILL), and the trainer's own measure for the segment that completes the run.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TasksrError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomic.js";

interface Segment {
  /** ISO time the segment started training. */
  start: string;
  /** Optimizer steps done before it. */
  iteration: number;
  /** Its time up to its last checkpoint (absent while it runs). */
  seconds?: number;
}

const file = (dir: string) => join(dir, "segments.json");

function read(dir: string): Segment[] {
  const f = file(dir);
  if (!existsSync(f)) return [];
  try {
    return (JSON.parse(readFileSync(f, "utf8")) as { segments: Segment[] }).segments;
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `${f}: unreadable (${(err as Error).message})`);
  }
}

function write(dir: string, segments: readonly Segment[]): void {
  writeFileAtomic(file(dir), `${JSON.stringify({ segments }, null, 2)}\n`);
}

/**
 * Records that a segment starts training at `iteration`; `continues` keeps the earlier segments (a resume), and the
 * one before, if it never finished, is counted up to the run's latest checkpoint.
 */
export function beginSegment(dir: string, iteration: number, continues: boolean): void {
  const segments = continues ? read(dir) : [];
  const last = segments.at(-1);
  if (last !== undefined && last.seconds === undefined) {
    const latest = join(dir, "checkpoints", "latest.safetensors");
    const saved = existsSync(latest) ? statSync(latest).mtimeMs : 0;
    last.seconds = Math.max(0, (saved - Date.parse(last.start)) / 1000);
  }
  segments.push({ start: new Date().toISOString(), iteration });
  write(dir, segments);
}

/** Closes the segment that completed the run with the trainer's `seconds` and returns the time of all segments. */
export function finishSegments(dir: string, seconds: number): number {
  const segments = read(dir);
  const last = segments.at(-1);
  if (last !== undefined) last.seconds = seconds;
  write(dir, segments);
  return segments.reduce((sum, s) => sum + (s.seconds ?? 0), 0);
}
