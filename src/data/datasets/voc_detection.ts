/**
 * PASCAL VOC detection from the XML annotations: ids from `ImageSets/Main/<split>.txt`, boxes from
 * `Annotations/<id>.xml`, images `JPEGImages/<id>.jpg`. Every XML is parsed when the dataset opens.
 *
 * Boxes: VOC's 1-based inclusive `bndbox` becomes the pixel-edge box [xmin - 1, ymin - 1, xmax, ymax], the same
 * box SR4IR's VOC->COCO conversion produces (without its integer truncation). Labels are 0..19 in `classes` order.
 * `difficult: "keep"` keeps difficult objects as ground truth with their flag set (SR4IR, methods.md A3/A14-8);
 * `"ignore"` drops them (VOC07-style training).
 */
import { join } from "node:path";
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import { readImage, readImageSize } from "../io/image.js";
import { readVocXml } from "../io/voc_xml.js";
import { parseOptions } from "../options.js";
import type { BoxTarget, Sample } from "../types.js";
import { FileDataset, onBadSampleSchema, openSample, type SkippedSample } from "./base.js";
import { type Box, emptyImagesSchema, toBoxTarget } from "./detection_common.js";
import { exists, readIdList } from "./files.js";

/** The 20 VOC object classes in the standard order (SR4IR's voc_labels.txt; COCO ids 1..20 after conversion). */
export const VOC_DET_CLASSES = [
  "aeroplane",
  "bicycle",
  "bird",
  "boat",
  "bottle",
  "bus",
  "car",
  "cat",
  "chair",
  "cow",
  "diningtable",
  "dog",
  "horse",
  "motorbike",
  "person",
  "pottedplant",
  "sheep",
  "sofa",
  "train",
  "tvmonitor",
] as const;

export const vocDetectionSchema = z.strictObject({
  /** The year folder, e.g. `VOCdevkit/VOC2012` (holds Annotations, JPEGImages, ImageSets). */
  root: z.string().min(1),
  /** Name of a list in `ImageSets/Main` (train, val, trainval, test, ...). */
  split: z
    .string()
    .regex(/^[\w.-]+$/)
    .default("train"),
  difficult: z.enum(["keep", "ignore"]).default("keep"),
  classes: z
    .array(z.string().min(1))
    .min(1)
    .default([...VOC_DET_CLASSES]),
  emptyImages: emptyImagesSchema,
  onBadSample: onBadSampleSchema,
});
export type VocDetectionOptions = z.input<typeof vocDetectionSchema>;

interface Entry {
  id: string;
  image: string;
  boxes: Box[];
  size?: { width: number; height: number };
}

export class VocDetection extends FileDataset<BoxTarget, Entry> {
  readonly task = "detection" as const;

  private constructor(
    name: string,
    readonly classes: readonly string[],
    entries: Entry[],
    o: z.output<typeof vocDetectionSchema>,
    skipped: SkippedSample[],
  ) {
    super(name, entries, o.onBadSample, skipped);
  }

  static async open(options: VocDetectionOptions, where = "voc-det"): Promise<VocDetection> {
    const o = parseOptions(vocDetectionSchema, options, where);
    const ids = await readIdList(join(o.root, "ImageSets", "Main", `${o.split}.txt`), "VOC split list");
    const labelOf = new Map(o.classes.map((c, i) => [c, i]));
    const skipped: SkippedSample[] = [];
    const entries: Entry[] = [];
    for (const id of ids) {
      const entry = await openSample(o.onBadSample, skipped, id, async () => {
        const xml = join(o.root, "Annotations", `${id}.xml`);
        const ann = await readVocXml(xml);
        const boxes: Box[] = [];
        for (const [i, obj] of ann.objects.entries()) {
          const label = labelOf.get(obj.name);
          if (label === undefined) {
            throw new TasksrError(
              "E_BAD_FILE",
              `VOC annotation ${xml}: object[${i}] has class "${obj.name}", not one of the ${o.classes.length} classes`,
            );
          }
          if (obj.difficult && o.difficult === "ignore") continue;
          const b = obj.bndbox;
          boxes.push({
            x1: b.xmin - 1,
            y1: b.ymin - 1,
            x2: b.xmax,
            y2: b.ymax,
            label,
            difficult: obj.difficult,
            iscrowd: false,
          });
        }
        const image = join(o.root, "JPEGImages", `${id}.jpg`);
        if (!(await exists(image))) throw new TasksrError("E_BAD_FILE", `VOC sample ${id}: ${image} does not exist`);
        const e: Entry = { id, image, boxes };
        if (ann.size !== undefined && ann.size.width > 0 && ann.size.height > 0) e.size = ann.size;
        return e;
      });
      if (entry && (entry.boxes.length > 0 || o.emptyImages === "keep")) entries.push(entry);
    }
    return new VocDetection(`voc-det ${o.root} (${o.split})`, o.classes, entries, o, skipped);
  }

  protected async load(e: Entry): Promise<Sample<BoxTarget>> {
    const image = await readImage(e.image);
    if (e.size !== undefined && (e.size.width !== image.width || e.size.height !== image.height)) {
      throw new TasksrError(
        "E_BAD_FILE",
        `VOC sample ${e.id}: ${e.image} is ${image.width}x${image.height} but its annotation says ${e.size.width}x${e.size.height}`,
      );
    }
    return { id: e.id, image, target: toBoxTarget(e.boxes) };
  }

  async size(index: number): Promise<{ width: number; height: number }> {
    const e = this.entry(index);
    if (e.size !== undefined) return e.size;
    return readImageSize(e.image);
  }
}
