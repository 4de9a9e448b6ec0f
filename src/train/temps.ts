/**
 * Temp files left in a run folder by writes that were killed between creating and renaming them (atomic writes go
 * through `<file>.tmp-<pid>-<hex>`, see writeFileAtomic): removed when a run opens its folder, so that kills and
 * resumes do not pile them up.
 */
import { readdirSync, unlinkSync } from "node:fs";
import { join, relative } from "node:path";
import { subfolders } from "./folder.js";
import { processAlive } from "./lock.js";

/** A temp file's name and the pid of its writer. */
const TEMP = /\.tmp-(\d+)-[0-9a-f]+$/;

/**
 * Deletes the temp files in `dir` and below whose writer is gone: those whose pid is no longer alive, and those naming
 * this process, which must hold the run's lock and write nothing there yet (so that pid was reused, e.g. after a
 * container restart). Returns the deleted paths relative to `dir`.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  for (const folder of [dir, ...subfolders(dir)]) {
    for (const e of readdirSync(folder, { withFileTypes: true })) {
      const m = TEMP.exec(e.name);
      if (!e.isFile() || m === null) continue;
      const pid = Number(m[1]);
      if (pid !== process.pid && processAlive(pid)) continue;
      const p = join(folder, e.name);
      unlinkSync(p);
      removed.push(relative(dir, p));
    }
  }
  return removed;
}
