/**
 * PASCAL VOC semantic segmentation (methods.md A3: VOC2012 `train` 1464 / `val` 1449, not SBD-augmented), read as
 * torchvision's VOCSegmentation: ids from `ImageSets/Segmentation/<split>.txt`, images `JPEGImages/<id>.jpg`,
 * palette-index masks `SegmentationClass/<id>.png` with 21 classes (0 = background) and 255 on object borders
 * (ignored by losses and mIoU).
 */
import { join } from "node:path";
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import { readImage, readImageSize } from "../io/image.js";
import { checkMask, readMask } from "../io/mask.js";
import { parseOptions } from "../options.js";
import type { MaskTarget, Sample } from "../types.js";
import { FileDataset, onBadSampleSchema, openSample, type SkippedSample } from "./base.js";
import { exists, readIdList } from "./files.js";
import { VOC_DET_CLASSES } from "./voc_detection.js";

/** The 21 VOC segmentation classes, index = mask value: background, then the 20 object classes. */
export const VOC_SEG_CLASSES = ["background", ...VOC_DET_CLASSES] as const;

export const vocSegmentationSchema = z.strictObject({
  /** The year folder, e.g. `VOCdevkit/VOC2012` (holds JPEGImages, SegmentationClass, ImageSets). */
  root: z.string().min(1),
  /** Name of a list in `ImageSets/Segmentation` (train, val, trainval, ...). */
  split: z
    .string()
    .regex(/^[\w.-]+$/)
    .default("train"),
  /** Class names, index = mask value; mask values at or above their count (other than 255) are errors. */
  classes: z
    .array(z.string().min(1))
    .min(1)
    .max(255)
    .default([...VOC_SEG_CLASSES]),
  onBadSample: onBadSampleSchema,
});
export type VocSegmentationOptions = z.input<typeof vocSegmentationSchema>;

interface Entry {
  id: string;
  image: string;
  mask: string;
}

export class VocSegmentation extends FileDataset<MaskTarget, Entry> {
  readonly task = "segmentation" as const;

  private constructor(
    name: string,
    readonly classes: readonly string[],
    entries: Entry[],
    o: z.output<typeof vocSegmentationSchema>,
    skipped: SkippedSample[],
  ) {
    super(name, entries, o.onBadSample, skipped);
  }

  /** Reads the split list and checks that every image and mask file exists. */
  static async open(options: VocSegmentationOptions, where = "voc-seg"): Promise<VocSegmentation> {
    const o = parseOptions(vocSegmentationSchema, options, where);
    const ids = await readIdList(join(o.root, "ImageSets", "Segmentation", `${o.split}.txt`), "VOC split list");
    const entries: Entry[] = [];
    const skipped: SkippedSample[] = [];
    for (const id of ids) {
      const entry = await openSample(o.onBadSample, skipped, id, async () => {
        const e = {
          id,
          image: join(o.root, "JPEGImages", `${id}.jpg`),
          mask: join(o.root, "SegmentationClass", `${id}.png`),
        };
        for (const f of [e.image, e.mask]) {
          if (!(await exists(f))) throw new TasksrError("E_BAD_FILE", `VOC sample ${id}: ${f} does not exist`);
        }
        return e;
      });
      if (entry) entries.push(entry);
    }
    return new VocSegmentation(`voc-seg ${o.root} (${o.split})`, o.classes, entries, o, skipped);
  }

  protected async load(e: Entry): Promise<Sample<MaskTarget>> {
    const [image, target] = await Promise.all([readImage(e.image), readMask(e.mask)]);
    checkMask(target, image, e.mask, this.classes.length);
    return { id: e.id, image, target };
  }

  size(index: number): Promise<{ width: number; height: number }> {
    return readImageSize(this.entry(index).image);
  }
}
