import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let dir: string | undefined;
/** A path inside a per-process temporary folder. */
export function tmpFile(name: string): string {
  dir ??= mkdtempSync(join(tmpdir(), "tasksr-test-"));
  return join(dir, name);
}
