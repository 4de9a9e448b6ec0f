/**
 * Class-name files, read as a map from category id to name:
 * - YAML (`.yaml`/`.yml`): a `names:` or `classes:` key holding an `{id: name}` map or a list (YOLO and COCO-128
 *   config files), or a top-level list;
 * - JSON (`.json`): a COCO `categories` array of `{id, name}`, or a list of names;
 * - text (any other extension): one name per non-empty line.
 * Lists number their entries from 0.
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { TasksrError } from "../../errors.js";

const bad = (file: string, what: string, cause?: unknown) =>
  new TasksrError("E_BAD_FILE", `class-name file ${file}: ${what}`, cause === undefined ? undefined : { cause });

function fromList(file: string, list: unknown[]): Map<number, string> {
  return new Map(
    list.map((n, i) => {
      if (typeof n !== "string" || n === "")
        throw bad(file, `entry ${i} must be a non-empty name, got ${JSON.stringify(n)}`);
      return [i, n];
    }),
  );
}

function fromMapping(file: string, m: Record<string, unknown>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [k, v] of Object.entries(m)) {
    const id = Number(k);
    if (!Number.isInteger(id) || id < 0) throw bad(file, `key ${JSON.stringify(k)} is not a non-negative integer id`);
    if (typeof v !== "string" || v === "") throw bad(file, `name of id ${id} must be a non-empty string`);
    out.set(id, v);
  }
  return out;
}

function fromCategories(file: string, cats: unknown[]): Map<number, string> {
  const out = new Map<number, string>();
  cats.forEach((c, i) => {
    const { id, name } = (c ?? {}) as { id?: unknown; name?: unknown };
    if (!Number.isInteger(id) || typeof name !== "string") {
      throw bad(file, `categories[${i}] must have an integer "id" and a string "name"`);
    }
    if (out.has(id as number)) throw bad(file, `categories[${i}] repeats id ${id}`);
    out.set(id as number, name);
  });
  return out;
}

function fromValue(file: string, v: unknown): Map<number, string> {
  if (Array.isArray(v)) return fromList(file, v);
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.categories)) return fromCategories(file, o.categories);
    for (const key of ["names", "classes"]) {
      const inner = o[key];
      if (Array.isArray(inner)) return fromList(file, inner);
      if (typeof inner === "object" && inner !== null) return fromMapping(file, inner as Record<string, unknown>);
    }
  }
  throw bad(file, 'expected a list of names, a "names:"/"classes:" key, or a COCO "categories" array');
}

/** Parses class-name text; the extension of `file` picks the format. */
export function parseClassNames(content: string, file: string): Map<number, string> {
  const ext = extname(file).toLowerCase();
  if (ext === ".json" || ext === ".yaml" || ext === ".yml") {
    let v: unknown;
    try {
      v = ext === ".json" ? JSON.parse(content) : parseYaml(content);
    } catch (err) {
      throw bad(file, `malformed ${ext.slice(1).toUpperCase()} (${(err as Error).message})`, err);
    }
    return fromValue(file, v);
  }
  return fromList(
    file,
    content
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== ""),
  );
}

/** Reads a class-name file (see the module comment for the formats). */
export async function readClassNames(file: string): Promise<Map<number, string>> {
  let content: string;
  try {
    content = await readFile(file, "utf8");
  } catch (err) {
    throw bad(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  }
  return parseClassNames(content, file);
}

/** The names as a list indexed by id; the ids must be exactly 0..n-1. */
export function classNameList(names: Map<number, string>, file: string): string[] {
  const out = Array.from({ length: names.size }, (_, i) => names.get(i));
  const gap = out.indexOf(undefined);
  if (gap >= 0) throw bad(file, `class ids must be 0..${names.size - 1} without gaps; id ${gap} is missing`);
  return out as string[];
}
