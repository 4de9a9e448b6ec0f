/**
 * YOLO-format detection: an image folder plus a label folder with one `<stem>.txt` per image, each line
 * `class cx cy w h` with the box centre and size normalised by the image width and height. An image without a
 * label file has no objects (the YOLO convention). Class names come from a list or a YAML/JSON/text file
 * (`names:` as in YOLO dataset configs). Labels are read when the dataset opens; boxes are scaled to pixels with
 * the decoded image size.
 */
import { join, resolve } from "node:path";
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import { classNameList, readClassNames } from "../io/class_names.js";
import { readImage, readImageSize } from "../io/image.js";
import { parseOptions } from "../options.js";
import type { BoxTarget, Sample } from "../types.js";
import { FileDataset, onBadSampleSchema, openSample, type SkippedSample } from "./base.js";
import { type Box, emptyImagesSchema, toBoxTarget } from "./detection_common.js";
import { exists, IMAGE_EXTENSIONS, listFilesRecursive, readText } from "./files.js";

export const yoloSchema = z.strictObject({
  /** Base folder for the relative paths below. */
  root: z.string().min(1).optional(),
  /** Image folder (searched recursively). */
  images: z.string().min(1),
  /** Label folder mirroring `images`; default: `images` with its last `images` path segment replaced by `labels`. */
  labels: z.string().min(1).optional(),
  /** Class names (label = position), or a file holding them. */
  classes: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)], {
    error: "expected a list of class names or the path of a class-name file",
  }),
  emptyImages: emptyImagesSchema,
  onBadSample: onBadSampleSchema,
});
export type YoloOptions = z.input<typeof yoloSchema>;

interface Entry {
  id: string;
  image: string;
  /** Normalised to [0, 1]. */
  boxes: Box[];
}

/** The ultralytics convention: `.../images/...` -> `.../labels/...` (last occurrence). */
function defaultLabels(images: string, where: string): string {
  const parts = images.split("/");
  const i = parts.lastIndexOf("images");
  if (i < 0) {
    throw new TasksrError(
      "E_CONFIG",
      `${where}.labels: give the label folder; ${images} has no "images" path segment to replace`,
    );
  }
  parts[i] = "labels";
  return parts.join("/");
}

/** Parses one label file into normalised boxes. */
export function parseYoloLabels(text: string, file: string, numClasses: number): Box[] {
  const boxes: Box[] = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const at = `YOLO label file ${file} line ${n + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 5) {
      throw new TasksrError("E_BAD_FILE", `${at}: expected 5 fields "class cx cy w h", found ${fields.length}`);
    }
    const [cls, cx, cy, w, h] = fields.map(Number) as [number, number, number, number, number];
    if (!Number.isInteger(cls) || cls < 0 || cls >= numClasses) {
      throw new TasksrError("E_BAD_FILE", `${at}: class ${fields[0]} is not an integer in [0, ${numClasses})`);
    }
    ["cx", "cy", "w", "h"].forEach((name, k) => {
      const v = Number(fields[k + 1]);
      if (!(v >= 0 && v <= 1)) {
        throw new TasksrError("E_BAD_FILE", `${at}: ${name} = ${fields[k + 1]} is not a normalised value in [0, 1]`);
      }
    });
    boxes.push({
      x1: cx - w / 2,
      y1: cy - h / 2,
      x2: cx + w / 2,
      y2: cy + h / 2,
      label: cls,
      difficult: false,
      iscrowd: false,
    });
  }
  return boxes;
}

export class YoloDetection extends FileDataset<BoxTarget, Entry> {
  readonly task = "detection" as const;

  private constructor(
    name: string,
    readonly classes: readonly string[],
    entries: Entry[],
    o: z.output<typeof yoloSchema>,
    skipped: SkippedSample[],
  ) {
    super(name, entries, o.onBadSample, skipped);
  }

  static async open(options: YoloOptions, where = "yolo"): Promise<YoloDetection> {
    const o = parseOptions(yoloSchema, options, where);
    const at = (p: string) => (o.root === undefined ? p : resolve(o.root, p));
    const images = at(o.images);
    const labels = o.labels === undefined ? defaultLabels(images, where) : at(o.labels);
    let classes: readonly string[];
    if (typeof o.classes === "string") {
      const file = at(o.classes);
      classes = classNameList(await readClassNames(file), file);
    } else {
      classes = o.classes;
    }
    const skipped: SkippedSample[] = [];
    const entries: Entry[] = [];
    for (const rel of await listFilesRecursive(images, IMAGE_EXTENSIONS, "image")) {
      const stem = rel.replace(/\.[^./]+$/, "");
      const entry = await openSample(o.onBadSample, skipped, stem, async () => {
        const labelFile = join(labels, `${stem}.txt`);
        const boxes = (await exists(labelFile))
          ? parseYoloLabels(await readText(labelFile, "YOLO label file"), labelFile, classes.length)
          : [];
        return { id: stem, image: join(images, rel), boxes };
      });
      if (entry && (entry.boxes.length > 0 || o.emptyImages === "keep")) entries.push(entry);
    }
    return new YoloDetection(`yolo ${images}`, classes, entries, o, skipped);
  }

  protected async load(e: Entry): Promise<Sample<BoxTarget>> {
    const image = await readImage(e.image);
    return { id: e.id, image, target: toBoxTarget(e.boxes, image.width, image.height) };
  }

  size(index: number): Promise<{ width: number; height: number }> {
    return readImageSize(this.entry(index).image);
  }
}
