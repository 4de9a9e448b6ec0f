/** File-system helpers shared by the dataset readers: listing and text reading, failing with E_BAD_FILE. */
import type { Dirent } from "node:fs";
import { access, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { TasksrError } from "../../errors.js";

/** Image extensions recognised in folders (torchvision's IMG_EXTENSIONS), compared case-insensitively. */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"] as const;

/** Plain string order, as Python's sorted() for file names (localeCompare would differ between machines). */
export const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const reason = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

export const hasExtension = (name: string, exts: readonly string[]): boolean => {
  const lower = name.toLowerCase();
  return exts.some((e) => lower.endsWith(e));
};

/** The file name without its last extension. */
export const stemOf = (name: string): string => {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
};

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Names of the entries of `dir` (files and folders, symlinks followed), in code-point order. */
export async function listDir(dir: string, what: string): Promise<{ files: string[]; dirs: string[] }> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot list the ${what} folder ${dir} (${reason(err)})`, { cause: err });
  }
  const files: string[] = [];
  const dirs: string[] = [];
  for (const e of entries) {
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      const s = await stat(join(dir, e.name)).catch(() => undefined);
      isDir = s?.isDirectory() ?? false;
      isFile = s?.isFile() ?? false;
    }
    if (isDir) dirs.push(e.name);
    else if (isFile) files.push(e.name);
  }
  return { files: files.sort(byCodePoint), dirs: dirs.sort(byCodePoint) };
}

/**
 * Paths (relative to `dir`, "/"-separated) of the files with one of `exts`, folder by folder in code-point order of
 * the folder path and then of the file name, as torchvision's sorted(os.walk(...)).
 */
export async function listFilesRecursive(dir: string, exts: readonly string[], what: string): Promise<string[]> {
  const folders: { rel: string; files: string[] }[] = [];
  const walk = async (rel: string): Promise<void> => {
    const { files, dirs } = await listDir(rel === "" ? dir : join(dir, rel), what);
    folders.push({ rel, files });
    for (const d of dirs) await walk(rel === "" ? d : `${rel}/${d}`);
  };
  await walk("");
  folders.sort((a, b) => byCodePoint(a.rel, b.rel));
  return folders.flatMap(({ rel, files }) =>
    files.filter((f) => hasExtension(f, exts)).map((f) => (rel === "" ? f : `${rel}/${f}`)),
  );
}

export async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read the ${what} ${file} (${reason(err)})`, { cause: err });
  }
}

/** First whitespace-separated token of every non-empty line (VOC ImageSets lines may carry a second column). */
export async function readIdList(file: string, what: string): Promise<string[]> {
  return (await readText(file, what))
    .split(/\r?\n/)
    .map((l) => l.trim().split(/\s+/)[0]!)
    .filter((id) => id !== "");
}

/** The first `<dir>/<stem><ext>` that exists, trying `exts` in order. */
export async function findByStem(dir: string, stem: string, exts: readonly string[]): Promise<string | undefined> {
  for (const e of exts) {
    for (const candidate of [join(dir, stem + e), join(dir, stem + e.toUpperCase())]) {
      if (await exists(candidate)) return candidate;
    }
  }
  return undefined;
}
