import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

let dir: string | undefined;
/** A path inside a per-process temporary folder. */
export function tmpFile(name: string): string {
  dir ??= mkdtempSync(join(tmpdir(), "tasksr-test-"));
  return join(dir, name);
}

/**
 * Mounts a 64 KiB tmpfs at `dir` (created) for a real full disk (ENOSPC), unmounted after the test; false, with the
 * test skipped, where this process may not mount (it needs root / CAP_SYS_ADMIN; injected failures cover the path).
 */
export function fullDisk(t: TestContext, dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { encoding: "utf8" });
  if (mount.status !== 0) {
    t.skip(`cannot mount a tmpfs here: ${(mount.stderr || mount.error?.message || "").trim()}`);
    return false;
  }
  t.after(() => spawnSync("umount", [dir]));
  return true;
}
