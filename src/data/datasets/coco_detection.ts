/**
 * COCO-format detection (`instances_*.json`, also SR4IR's converted VOC; a panoptic JSON is accepted too, its
 * "thing" segments becoming boxes). As torchvision's COCO reference: category ids map to contiguous labels in id
 * order (SR4IR's VOC ids 1..20 -> labels 0..19), bbox [x, y, w, h] becomes xyxy [x, y, x + w, y + h] clipped to the
 * image, boxes with no area after clipping are dropped, and `iscrowd` is kept for the evaluator.
 */
import { join, resolve } from "node:path";
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import { readCocoInstances } from "../io/coco_json.js";
import { readImage, readImageSize } from "../io/image.js";
import { parseOptions } from "../options.js";
import type { BoxTarget, Sample } from "../types.js";
import { FileDataset, onBadSampleSchema, type SkippedSample } from "./base.js";
import { type Box, emptyImagesSchema, toBoxTarget } from "./detection_common.js";

export const cocoDetectionSchema = z.strictObject({
  /** Base folder for the relative paths below. */
  root: z.string().min(1).optional(),
  /** Folder holding the images named by `file_name`. */
  images: z.string().min(1),
  /** The annotation JSON. */
  annotations: z.string().min(1),
  emptyImages: emptyImagesSchema,
  onBadSample: onBadSampleSchema,
});
export type CocoDetectionOptions = z.input<typeof cocoDetectionSchema>;

interface Entry {
  id: string;
  image: string;
  boxes: Box[];
  size?: { width: number; height: number };
}

export class CocoDetection extends FileDataset<BoxTarget, Entry> {
  readonly task = "detection" as const;
  /** COCO category id of each label (for writing results back in COCO ids). */
  readonly categoryIds: readonly number[];

  private constructor(
    name: string,
    readonly classes: readonly string[],
    categoryIds: number[],
    entries: Entry[],
    o: z.output<typeof cocoDetectionSchema>,
    skipped: SkippedSample[],
  ) {
    super(name, entries, o.onBadSample, skipped);
    this.categoryIds = categoryIds;
  }

  static async open(options: CocoDetectionOptions, where = "coco-det"): Promise<CocoDetection> {
    const o = parseOptions(cocoDetectionSchema, options, where);
    const at = (p: string) => (o.root === undefined ? p : resolve(o.root, p));
    const file = at(o.annotations);
    const images = at(o.images);
    const json = await readCocoInstances(file);
    const bad = (what: string) => new TasksrError("E_BAD_FILE", `COCO JSON ${file}: ${what}`);

    const categories = [...json.categories].sort((a, b) => a.id - b.id);
    const labelOf = new Map<number, number>();
    for (const [label, c] of categories.entries()) {
      if (labelOf.has(c.id)) throw bad(`category id ${c.id} appears twice`);
      labelOf.set(c.id, label);
    }
    const boxesOf = new Map<string, Box[]>();
    const infoOf = new Map<string, (typeof json.images)[number]>();
    for (const im of json.images) {
      const id = String(im.id);
      if (infoOf.has(id)) throw bad(`image id ${id} appears twice`);
      infoOf.set(id, im);
      boxesOf.set(id, []);
    }

    const skipped: SkippedSample[] = [];
    const badImages = new Set<string>();
    for (const a of json.annotations) {
      const imageId = String(a.image_id);
      const boxes = boxesOf.get(imageId);
      const label = labelOf.get(a.category_id);
      const problem =
        boxes === undefined
          ? `annotation id ${a.id} refers to image id ${imageId}, which is not in "images"`
          : label === undefined
            ? `annotation id ${a.id} has category_id ${a.category_id}, which is not in "categories"`
            : undefined;
      if (problem !== undefined) {
        if (o.onBadSample === "error") throw bad(problem);
        if (!badImages.has(imageId)) skipped.push({ id: imageId, reason: `COCO JSON ${file}: ${problem}` });
        badImages.add(imageId);
        continue;
      }
      const info = infoOf.get(imageId)!;
      const [x, y, w, h] = a.bbox;
      const clip = (v: number, max: number | undefined) => Math.min(Math.max(v, 0), max ?? Number.POSITIVE_INFINITY);
      const box = {
        x1: clip(x, info.width),
        y1: clip(y, info.height),
        x2: clip(x + w, info.width),
        y2: clip(y + h, info.height),
      };
      if (box.x2 <= box.x1 || box.y2 <= box.y1) continue;
      boxes!.push({ ...box, label: label!, difficult: false, iscrowd: a.iscrowd === 1 });
    }

    const entries: Entry[] = [];
    for (const im of json.images) {
      const id = String(im.id);
      const boxes = boxesOf.get(id)!;
      if (badImages.has(id) || (boxes.length === 0 && o.emptyImages === "drop")) continue;
      const e: Entry = { id, image: join(images, im.file_name), boxes };
      if (im.width !== undefined && im.height !== undefined) e.size = { width: im.width, height: im.height };
      entries.push(e);
    }
    return new CocoDetection(
      `coco-det ${file}`,
      categories.map((c) => c.name),
      categories.map((c) => c.id),
      entries,
      o,
      skipped,
    );
  }

  protected async load(e: Entry): Promise<Sample<BoxTarget>> {
    const image = await readImage(e.image);
    if (e.size !== undefined && (e.size.width !== image.width || e.size.height !== image.height)) {
      throw new TasksrError(
        "E_BAD_FILE",
        `COCO image ${e.image} is ${image.width}x${image.height} but its JSON entry says ${e.size.width}x${e.size.height}`,
      );
    }
    return { id: e.id, image, target: toBoxTarget(e.boxes) };
  }

  size(index: number): Promise<{ width: number; height: number }> {
    const e = this.entry(index);
    return e.size !== undefined ? Promise.resolve(e.size) : readImageSize(e.image);
  }
}
