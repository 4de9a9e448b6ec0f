/**
 * Writing an output image so that a failure never leaves a partial file: the image is encoded to a temporary file
 * in the same folder (`<path>.tmp-<pid>-<hex><ext>`, the extension choosing the format), fsynced and renamed over
 * `path`. On any failure (a full disk, a read-only folder) the temporary file is removed, an existing `path` is left
 * as it was, and one E_WRITE error names `path` and the reason.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { extname } from "node:path";
import { type Image, writeImage } from "../data/io/image.js";
import { TasksrError } from "../errors.js";

/** The reason of a failed write in a few words: libvips reports one over several lines, the system's among them. */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /^system error: (?!Unknown error)(.+)$/m.exec(message)?.[1] ?? message.split("\n")[0]!;
}

export async function writeImageAtomic(path: string, img: Image): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}${extname(path)}`;
  try {
    await writeImage(tmp, img);
    const fd = openSync(tmp, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof TasksrError) throw err; // the image itself is wrong (format, size), not the write
    throw new TasksrError("E_WRITE", `cannot write ${path}: ${reason(err)}`, { cause: err });
  }
}
