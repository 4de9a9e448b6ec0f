/** Helpers of the synthetic-dataset tests: a digest of a whole tree, and E_* error matchers. */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TasksrError } from "../../src/errors.js";

/** SHA-256 over every file of `root` (relative path + bytes, in sorted order). */
export function treeDigest(root: string): string {
  const h = createHash("sha256");
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, `${rel}${name}/`);
      else h.update(`${rel}${name}\0`).update(readFileSync(p));
    }
  };
  walk(root, "");
  return h.digest("hex");
}

/** Number of files under `root`. */
export function countFiles(root: string): number {
  return readdirSync(root, { recursive: true }).filter((f) => statSync(join(root, String(f))).isFile()).length;
}

export const fails = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof TasksrError && e.code === code && re.test(e.message);
