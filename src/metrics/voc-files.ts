/**
 * Files for the VOC evaluation (voc.ts).
 *
 * Ground truth, either
 * - a VOC `Annotations` directory: one `<image id>.xml` per image with `<object><name>`, `<difficult>` (0/1, default
 *   0) and `<bndbox>` xmin/ymin/xmax/ymax; the image id is the file name without `.xml`; or
 * - a COCO instances JSON: image id = `images[].id` (a `file_name` without extension is accepted as an alias), class =
 *   the category name (its id when it has none), box = [x, y, x + w, y + h], `difficult` read from an optional
 *   `annotations[].difficult` field (0/1).
 * Detections, either
 * - a COCO results JSON list `[{image_id, category_id, bbox: [x, y, w, h], score}]` (with a COCO ground truth, which
 *   maps category ids to classes); or
 * - VOC devkit result files, one per class: `<anything>_det_<set>_<class>.txt` (or `<class>.txt`), a directory of them
 *   or one file, each line `<image id> <score> <xmin> <ymin> <xmax> <ymax>`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { TasksrError } from "../errors.js";
import { indexCocoGroundTruth } from "./coco/ground-truth.js";
import { arrayAt, badField, boxAt, isRecord, numberAt, readJsonFile, recordAt } from "./json-fields.js";
import type { VocDetection, VocGroundTruth, VocObject } from "./voc.js";

export interface VocGroundTruthFiles extends VocGroundTruth {
  /** Where the ground truth came from. */
  path: string;
  format: "voc-xml" | "coco-json";
  /** Image ids and their aliases (COCO file names without extension) -> image id. */
  imageKeys: Map<string, string>;
  /** COCO only: category id -> class. */
  classOfCategory?: Map<number, string>;
}

function stem(file: string): string {
  return basename(file, extname(file));
}

function isDirectory(path: string, what: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (name) => name === "object" });

function xmlNumber(v: unknown, file: string, path: string): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) throw badField(file, path, "a number", v);
  return n;
}

function readVocXml(file: string, imageId: string): VocObject[] {
  const text = readFileSync(file, "utf8");
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new TasksrError("E_BAD_FILE", `${file}: malformed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  const doc = xml.parse(text) as Record<string, unknown>;
  const ann = doc.annotation;
  if (!isRecord(ann)) throw badField(file, "<annotation>", "a VOC <annotation> root element", doc);
  const objects = ann.object === undefined ? [] : (ann.object as unknown[]);
  return objects.map((o, i) => {
    const path = `<object> ${i}`;
    const obj = recordAt(o, file, path);
    if (typeof obj.name !== "string" || obj.name.trim() === "")
      throw badField(file, `${path} <name>`, "a class name", obj.name);
    const d = obj.difficult ?? "0";
    if (d !== "0" && d !== "1") throw badField(file, `${path} <difficult>`, "0 or 1", d);
    const bb = recordAt(obj.bndbox, file, `${path} <bndbox>`);
    const box = (["xmin", "ymin", "xmax", "ymax"] as const).map((k) =>
      xmlNumber(bb[k], file, `${path} <bndbox><${k}>`),
    );
    return { imageId, className: obj.name.trim(), difficult: d === "1", box: box as [number, number, number, number] };
  });
}

function readCocoGroundTruth(path: string): VocGroundTruthFiles {
  const json = readJsonFile(path, "COCO ground truth");
  // Strict: every annotation below needs a listed image and category (VOC evaluation follows the devkit, which has
  // no notion of pycocotools' lenient reading).
  const gt = indexCocoGroundTruth(json, path, { strict: true });
  const classOfCategory = new Map<number, string>();
  const owner = new Map<string, number>();
  gt.categoryIds.forEach((id, k) => {
    const name = gt.categoryNames[k] || String(id);
    const other = owner.get(name);
    if (other !== undefined)
      throw badField(path, `categories (id ${id})`, `a name not used by category ${other}`, name);
    owner.set(name, id);
    classOfCategory.set(id, name);
  });
  const images = Array.from(gt.imageIds, String);
  const imageKeys = new Map<string, string>(images.map((id) => [id, id]));
  gt.fileNames.forEach((f, i) => {
    if (f !== "" && !imageKeys.has(stem(f))) imageKeys.set(stem(f), images[i]!);
  });
  const anns = (json as { annotations: Record<string, unknown>[] }).annotations;
  const objects = anns.map((a, i): VocObject => {
    const d = a.difficult ?? 0;
    if (d !== 0 && d !== 1 && d !== true && d !== false)
      throw badField(path, `annotations[${i}].difficult`, "0 or 1", d);
    const [x, y, w, h] = Array.from(gt.annBox.subarray(4 * i, 4 * i + 4));
    return {
      imageId: images[gt.annImage[i]!]!,
      className: classOfCategory.get(gt.categoryIds[gt.annCategory[i]!]!)!,
      difficult: d === 1 || d === true,
      box: [x!, y!, x! + w!, y! + h!],
    };
  });
  return { path, format: "coco-json", images, objects, imageKeys, classOfCategory };
}

/** Reads a VOC Annotations directory or a COCO instances JSON. */
export function readVocGroundTruth(path: string): VocGroundTruthFiles {
  if (!isDirectory(path, "ground truth")) return readCocoGroundTruth(path);
  const files = readdirSync(path)
    .filter((f) => f.toLowerCase().endsWith(".xml"))
    .sort();
  if (files.length === 0) throw new TasksrError("E_BAD_FILE", `${path}: no .xml annotation files in this directory`);
  const images = files.map(stem);
  const objects = files.flatMap((f, i) => readVocXml(join(path, f), images[i]!));
  return { path, format: "voc-xml", images, objects, imageKeys: new Map(images.map((id) => [id, id])) };
}

/** Class of a devkit result file: `comp4_det_test_car.txt` -> "car", `car.txt` -> "car". */
export function classOfResultFile(file: string): string {
  const s = stem(file);
  return /_det_[^_]+_(.+)$/.exec(s)?.[1] ?? s;
}

function readResultTxt(file: string, gt: VocGroundTruthFiles, out: VocDetection[]): void {
  const className = classOfResultFile(file);
  const lines = readFileSync(file, "utf8").split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const f = line.trim().split(/\s+/);
    const where = `${file}:${i + 1}`;
    const nums = f.slice(1).map(Number);
    if (f.length !== 6 || !nums.every(Number.isFinite)) {
      throw new TasksrError(
        "E_BAD_FILE",
        `${where}: expected "<image id> <score> <xmin> <ymin> <xmax> <ymax>", got "${line}"`,
      );
    }
    const imageId = gt.imageKeys.get(f[0]!);
    if (imageId === undefined)
      throw new TasksrError("E_BAD_FILE", `${where}: image "${f[0]}" is not an image of ${gt.path}`);
    out.push({ imageId, className, score: nums[0]!, box: [nums[1]!, nums[2]!, nums[3]!, nums[4]!] });
  }
}

function readCocoResults(path: string, gt: VocGroundTruthFiles): VocDetection[] {
  const classOf = gt.classOfCategory;
  if (!classOf) {
    throw new TasksrError(
      "E_CLI_ARG",
      `--dt ${path} is a COCO results JSON: it needs a COCO ground-truth JSON to map category ids to classes; with VOC ` +
        "XML annotations give devkit result files (<image id> <score> <xmin> <ymin> <xmax> <ymax> per line)",
    );
  }
  const list = arrayAt(readJsonFile(path, "COCO results"), path, "top level (a list of detections)");
  const bb = new Float64Array(4);
  return list.map((item, i): VocDetection => {
    const d = recordAt(item, path, `[${i}]`);
    const imageId = gt.imageKeys.get(String(numberAt(d.image_id, path, `[${i}].image_id`)));
    if (imageId === undefined) throw badField(path, `[${i}].image_id`, `an image id of ${gt.path}`, d.image_id);
    const className = classOf.get(numberAt(d.category_id, path, `[${i}].category_id`));
    if (className === undefined)
      throw badField(path, `[${i}].category_id`, `a category id of ${gt.path}`, d.category_id);
    boxAt(d.bbox, path, `[${i}].bbox`, bb, 0);
    const score = numberAt(d.score, path, `[${i}].score`);
    return { imageId, className, score, box: [bb[0]!, bb[1]!, bb[0]! + bb[2]!, bb[1]! + bb[3]!] };
  });
}

/** Reads detections: a COCO results JSON, a devkit result .txt file, or a directory of them. */
export function readVocDetections(path: string, gt: VocGroundTruthFiles): VocDetection[] {
  const out: VocDetection[] = [];
  if (isDirectory(path, "detections")) {
    const files = readdirSync(path)
      .filter((f) => f.toLowerCase().endsWith(".txt"))
      .sort();
    if (files.length === 0) throw new TasksrError("E_BAD_FILE", `${path}: no .txt result files in this directory`);
    for (const f of files) readResultTxt(join(path, f), gt, out);
    return out;
  }
  if (path.toLowerCase().endsWith(".json")) return readCocoResults(path, gt);
  readResultTxt(path, gt, out);
  return out;
}
