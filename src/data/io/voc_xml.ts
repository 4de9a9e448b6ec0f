/**
 * PASCAL VOC annotation XML (`Annotations/<id>.xml`): image size and objects with class name, `difficult` flag and
 * the 1-based inclusive pixel box `bndbox`. `truncated`, `pose`, `occluded` and parts are not read.
 */
import { readFile } from "node:fs/promises";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { TasksrError } from "../../errors.js";

export interface VocBox {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

export interface VocObject {
  name: string;
  difficult: boolean;
  /** As written in the file: 1-based, inclusive. */
  bndbox: VocBox;
}

export interface VocAnnotation {
  /** `<filename>` (may be empty in hand-made files). */
  filename: string;
  /** `<path>` when present (some labelling tools write it instead of a meaningful filename). */
  path?: string;
  /** `<size>` when present. */
  size?: { width: number; height: number };
  objects: VocObject[];
}

// Values stay strings (parseTagValue: false) so "007" or "1e3" are never silently reinterpreted; `object` is
// always an array, even for a single object.
const parser = new XMLParser({ parseTagValue: false, isArray: (name) => name === "object" });

const bad = (file: string, what: string) => new TasksrError("E_BAD_FILE", `VOC annotation ${file}: ${what}`);

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === "string" ? v.trim() : undefined);

function number(file: string, where: string, v: unknown): number {
  const s = text(v);
  const n = s === undefined || s === "" ? Number.NaN : Number(s);
  if (!Number.isFinite(n)) throw bad(file, `${where} must be a number, got ${JSON.stringify(v ?? null)}`);
  return n;
}

function parseObject(file: string, i: number, o: unknown): VocObject {
  const at = `object[${i}]`;
  if (!isNode(o)) throw bad(file, `${at} has no child elements`);
  const name = text(o.name);
  if (!name) throw bad(file, `${at} has no <name>`);
  if (!isNode(o.bndbox)) throw bad(file, `${at} (${name}) has no <bndbox>`);
  const b = o.bndbox;
  const bndbox = {
    xmin: number(file, `${at}.bndbox.xmin`, b.xmin),
    ymin: number(file, `${at}.bndbox.ymin`, b.ymin),
    xmax: number(file, `${at}.bndbox.xmax`, b.xmax),
    ymax: number(file, `${at}.bndbox.ymax`, b.ymax),
  };
  if (bndbox.xmax < bndbox.xmin || bndbox.ymax < bndbox.ymin) {
    throw bad(
      file,
      `${at} (${name}) has an empty box: xmin ${bndbox.xmin}, xmax ${bndbox.xmax}, ymin ${bndbox.ymin}, ymax ${bndbox.ymax}`,
    );
  }
  const d = text(o.difficult)?.toLowerCase();
  return { name, difficult: d === "1" || d === "true", bndbox };
}

/** Parses annotation XML text; `file` names it in errors. */
export function parseVocXml(xml: string, file: string): VocAnnotation {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw bad(file, `malformed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`);
  }
  const root = (parser.parse(xml) as Node).annotation;
  if (!isNode(root)) throw bad(file, "no <annotation> root element");
  const objects = root.object === undefined ? [] : (root.object as unknown[]).map((o, i) => parseObject(file, i, o));
  const out: VocAnnotation = { filename: text(root.filename) ?? "", objects };
  const path = text(root.path);
  if (path) out.path = path;
  if (isNode(root.size)) {
    out.size = {
      width: number(file, "size.width", root.size.width),
      height: number(file, "size.height", root.size.height),
    };
  }
  return out;
}

/** Reads and parses one annotation file. Fails with E_BAD_FILE naming the file (and the object index). */
export async function readVocXml(file: string): Promise<VocAnnotation> {
  let xml: string;
  try {
    xml = await readFile(file, "utf8");
  } catch (err) {
    throw new TasksrError(
      "E_BAD_FILE",
      `VOC annotation ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  return parseVocXml(xml, file);
}
