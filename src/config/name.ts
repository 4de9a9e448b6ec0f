/**
 * Names that become folder names under `--out` (run names, study names). A name is one path segment that stays
 * inside its parent: letters, digits, '.', '_' and '-', and neither "." nor ".." (which would make `<out>/<name>` the
 * output folder itself or its parent, so that writing or `--fresh` deleting the run would reach outside it).
 */
import { z } from "zod";
import { TasksrError } from "../errors.js";

const PLAIN = /^[\w.-]+$/;

/** Why `name` cannot name a folder under `--out`, or undefined when it can. */
export function folderNameProblem(name: string): string | undefined {
  if (name === "." || name === "..") return `"${name}" is not a folder name of its own`;
  if (!PLAIN.test(name)) return `"${name}": use letters, digits, '.', '_' or '-' (one folder name, not a path)`;
  return undefined;
}

export const FolderName = z.string().superRefine((name, ctx) => {
  const problem = folderNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/** Throws E_CONFIG naming `field` (e.g. "name" of a run) unless `name` is a plain folder name. */
export function checkFolderName(name: string, field: string): void {
  const problem = folderNameProblem(name);
  if (problem !== undefined) throw new TasksrError("E_CONFIG", `${field}: ${problem}`);
}
