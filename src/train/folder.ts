/**
 * Folders tasksr owns under an output folder: run folders (`<out>/<name>/`) and study folders (`<out>/<study>/`).
 * tasksr writes a marker file into each folder it creates, writes only into folders that carry their marker (or are
 * new or empty), and deletes only those (`study --fresh`, the demo replacing a changed run), after checking that the
 * folder lies inside the folder that holds it and that no other process is training a run in it. So a mistyped name
 * or `--out` can never make tasksr write into, or delete, a folder the user made.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { checkFolderName } from "../config/name.js";
import { TasksrError } from "../errors.js";
import { lockHolder } from "./lock.js";

export type FolderKind = "run" | "study";

export const MARKERS: Record<FolderKind, string> = { run: ".tasksr-run", study: ".tasksr-study" };

/**
 * The folder `name` under `parent` (absolute), after checking that `name` is one plain folder name (`field` names it
 * in the error), so that the folder lies inside `parent`.
 */
export function childFolder(parent: string, name: string, field: string): string {
  checkFolderName(name, field);
  const p = resolve(parent);
  const dir = resolve(p, name);
  assertInside(dir, p, "write into");
  return dir;
}

function assertInside(dir: string, parent: string, action: string): void {
  const rel = relative(parent, dir);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new TasksrError("E_RUN_FOLDER", `refusing to ${action} ${dir}: it is not a folder inside ${parent}`);
  }
}

function notOwned(dir: string, kind: FolderKind, action: string): TasksrError {
  const marker = join(dir, MARKERS[kind]);
  return new TasksrError(
    "E_RUN_FOLDER",
    `refusing to ${action} ${dir}: it was not created by tasksr as a ${kind} folder (no ${MARKERS[kind]} marker); ` +
      `choose another name or --out (a ${kind} folder of an earlier tasksr version is adopted by creating the empty file ${marker})`,
  );
}

/**
 * Opens a folder for tasksr to write into: creates it with its marker, adopts an existing empty one, and accepts one
 * that carries the marker; any other existing folder is an E_RUN_FOLDER error.
 */
export function claimFolder(dir: string, kind: FolderKind): void {
  mkdirSync(dir, { recursive: true });
  const marker = join(dir, MARKERS[kind]);
  if (existsSync(marker)) return;
  if (readdirSync(dir).length > 0) throw notOwned(dir, kind, "write into");
  // Only the marker's existence counts, so a write cut short still marks the folder.
  writeFileSync(marker, `${JSON.stringify({ kind, created: new Date().toISOString() })}\n`);
}

/**
 * Deletes a folder tasksr created inside `parent` (nothing when it does not exist). Refuses, with E_RUN_FOLDER, a
 * folder outside `parent`, one without its marker, and one holding a run that another process is training.
 */
export function removeOwnedFolder(dir: string, parent: string, kind: FolderKind): void {
  const d = resolve(dir);
  assertInside(d, resolve(parent), "delete");
  if (!existsSync(d)) return;
  if (!existsSync(join(d, MARKERS[kind]))) throw notOwned(d, kind, "delete");
  for (const sub of [d, ...subfolders(d)]) {
    const h = lockHolder(sub);
    if (h !== undefined) {
      throw new TasksrError(
        "E_RUN_FOLDER",
        `refusing to delete ${d}: tasksr pid ${h.pid} on ${h.hostname} has been training ${sub} since ${h.started}`,
      );
    }
  }
  rmSync(d, { recursive: true, force: true });
}

/** Every folder below `dir` (symbolic links are not followed). */
export function subfolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => {
      const p = join(dir, e.name);
      return [p, ...subfolders(p)];
    });
}
