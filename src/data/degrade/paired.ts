/**
 * Real LR/HR pairs instead of synthesised LR: two folders matched by file stem. An LR file may carry the scale
 * suffix of the SR benchmarks and DIV2K (`babyx4.png` for `baby.png`). Each LR must be floor(HR / s) in both
 * sides (checked from the headers when opening); HR is cropped to exactly s * LR when read, so pixels align.
 */
import { join } from "node:path";
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import { onBadSampleSchema, openSample, type SkippedSample, SkippingReader } from "../datasets/base.js";
import { hasExtension, IMAGE_EXTENSIONS, listDir, stemOf } from "../datasets/files.js";
import { type Image, readImage, readImageSize } from "../io/image.js";
import { parseOptions } from "../options.js";
import { modcrop } from "../resize/matlab.js";

export const pairedSchema = z.strictObject({
  hr: z.string().min(1),
  lr: z.string().min(1),
  scale: z.number().int().min(1),
  onBadSample: onBadSampleSchema,
});
export type PairedOptions = z.input<typeof pairedSchema>;

export interface ImagePair {
  /** HR file stem. */
  id: string;
  /** [s * h, s * w] */
  hr: Image;
  /** [h, w] */
  lr: Image;
}

interface Entry {
  id: string;
  hr: string;
  lr: string;
}

export class PairedImages extends SkippingReader<ImagePair, Entry> {
  readonly scale: number;

  private constructor(name: string, entries: Entry[], o: z.output<typeof pairedSchema>, skipped: SkippedSample[]) {
    super(name, entries, o.onBadSample, skipped);
    this.scale = o.scale;
  }

  static async open(options: PairedOptions, where = "paired"): Promise<PairedImages> {
    const o = parseOptions(pairedSchema, options, where);
    const images = async (dir: string, what: string) =>
      (await listDir(dir, what)).files.filter((f) => hasExtension(f, IMAGE_EXTENSIONS));
    const lrByStem = new Map((await images(o.lr, "LR")).map((f) => [stemOf(f), f]));
    const skipped: SkippedSample[] = [];
    const entries: Entry[] = [];
    for (const f of await images(o.hr, "HR")) {
      const id = stemOf(f);
      const entry = await openSample(o.onBadSample, skipped, id, async () => {
        const lrName = lrByStem.get(id) ?? lrByStem.get(`${id}x${o.scale}`);
        if (lrName === undefined) {
          throw new TasksrError(
            "E_BAD_FILE",
            `HR ${join(o.hr, f)} has no LR partner ${id}.* or ${id}x${o.scale}.* in ${o.lr}`,
          );
        }
        const e = { id, hr: join(o.hr, f), lr: join(o.lr, lrName) };
        const [hr, lr] = await Promise.all([readImageSize(e.hr), readImageSize(e.lr)]);
        const want = { width: Math.floor(hr.width / o.scale), height: Math.floor(hr.height / o.scale) };
        if (lr.width !== want.width || lr.height !== want.height) {
          throw new TasksrError(
            "E_BAD_FILE",
            `LR ${e.lr} is ${lr.width}x${lr.height}, but HR ${e.hr} (${hr.width}x${hr.height}) at x${o.scale} needs ${want.width}x${want.height}`,
          );
        }
        return e;
      });
      if (entry) entries.push(entry);
    }
    return new PairedImages(`paired ${o.hr} | ${o.lr}`, entries, o, skipped);
  }

  protected async load(e: Entry): Promise<ImagePair> {
    const [hr, lr] = await Promise.all([readImage(e.hr), readImage(e.lr)]);
    return { id: e.id, hr: modcrop(hr, this.scale), lr };
  }
}
