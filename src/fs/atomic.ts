/**
 * Atomic file writes for everything tasksr saves (weights, checkpoints, configs, reports, images, ONNX files): nothing
 * already written is lost to a crash or a full disk.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { TasksrError } from "../errors.js";

/** Plain words for the errno codes of a write that the user can act on (free space, remount, permissions). */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
};

/**
 * Atomic file replacement: the bytes go to `<path>.tmp-<pid>-<hex>` in the same folder (a stale one is recognised by
 * that pattern and its dead pid), are written in full and fsynced, and only then renamed over `path`. `write(2)` may
 * write fewer bytes than asked (a nearly full disk), so it is called until every byte is written. Any failure removes
 * the temporary file, leaves `path` as it was (a crash or a full disk never truncates a good checkpoint) and throws
 * E_WRITE naming `path`.
 */
export function writeFileAtomic(path: string, data: Buffer | string): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    const fd = openSync(tmp, "w");
    try {
      for (let done = 0; done < bytes.length; ) {
        const n = writeSync(fd, bytes, done, bytes.length - done);
        // A regular file never takes 0 bytes without an error; looping on it would never end.
        if (n <= 0) throw new Error(`the write stopped after ${done} of ${bytes.length} bytes`);
        done += n;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    const reason = (code !== undefined && WRITE_FAILURES[code]) || (err as Error).message;
    throw new TasksrError("E_WRITE", `cannot write ${path}: ${reason}${code ? ` (${code})` : ""}`, { cause: err });
  }
}
