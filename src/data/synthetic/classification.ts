/**
 * Synthetic classification: an ImageFolder tree `<root>/{train,val}/<class>/<index>.png`. Each image is a cluttered
 * background (gradient, big flat shapes, flat decoy patches) with one patch filled with its class texture in random
 * paper and ink colours. Position, size, colours and clutter are random and shared by all classes, so only the
 * texture tells the class; x4 bicubic downscaling turns the patch into a flat colour much like a decoy.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { Image } from "../io/image.js";
import { writeImage } from "../io/image.js";
import type { Rng } from "../transforms/rng.js";
import { checkCommon, commonFields, forEachLimited, type SyntheticSplit, sampleRng } from "./common.js";
import { Canvas, drawBackground, drawDecoys, fillTexture, paperAndInk, rect } from "./draw.js";
import { TEXTURES, type Texture } from "./textures.js";

export const classificationSynthSchema = z
  .strictObject({
    ...commonFields({ train: 4000, val: 1000, size: 32 }),
    /** Number of classes (the first textures of the bank). */
    classes: z.number().int().min(2).max(TEXTURES.length).default(10),
  })
  .superRefine((o, ctx) => {
    checkCommon(o, ctx);
    if (Math.min(o.train, o.val) < o.classes) {
      ctx.addIssue({
        code: "custom",
        path: [o.train < o.classes ? "train" : "val"],
        message: `must be at least the number of classes (${o.classes}): every class folder needs an image`,
      });
    }
  });
export type ClassificationSynthOptions = z.input<typeof classificationSynthSchema>;
export type ClassificationSynthConfig = z.output<typeof classificationSynthSchema>;

export const classificationClassNames = (o: ClassificationSynthConfig): string[] =>
  TEXTURES.slice(0, o.classes).map((t, i) => `${String(i).padStart(2, "0")}-${t.name}`);

/** Pixel noise (8-bit levels) added last. */
const NOISE_SIGMA = 2;

/** One `size` x `size` scene whose only textured patch carries `texture`. */
export function drawClassificationScene(rng: Rng, size: number, texture: Texture): Image {
  const c = new Canvas(size, size);
  drawBackground(c, rng, { shapes: [2, 4], shapeSize: [size / 4, (3 * size) / 4] });
  const lo = Math.round(0.4 * size);
  const hi = Math.round(0.6 * size);
  drawDecoys(c, rng, rng.int(1, 2), lo, hi);
  const w = rng.int(lo, hi);
  const h = rng.int(lo, hi);
  const { paper, ink } = paperAndInk(rng, 60, 150);
  fillTexture(c, rect(rng.int(0, size - w), rng.int(0, size - h), w, h), texture, paper, ink, rng);
  c.addNoise(rng, NOISE_SIGMA);
  return c.image();
}

/** Image `index` of `split` and its label (`index mod classes`, so classes are balanced). */
export function drawClassificationSample(
  o: ClassificationSynthConfig,
  split: SyntheticSplit,
  index: number,
): { image: Image; label: number } {
  const label = index % o.classes;
  const image = drawClassificationScene(sampleRng(o.seed, "classification", split, index), o.size, TEXTURES[label]!);
  return { image, label };
}

/** Writes both splits under `root` (which must exist). */
export async function writeClassification(root: string, o: ClassificationSynthConfig): Promise<void> {
  const classes = classificationClassNames(o);
  for (const split of ["train", "val"] as const) {
    for (const cls of classes) await mkdir(join(root, split, cls), { recursive: true });
    await forEachLimited(o[split], 8, async (i) => {
      const { image, label } = drawClassificationSample(o, split, i);
      await writeImage(join(root, split, classes[label]!, `${String(i).padStart(6, "0")}.png`), image);
    });
  }
}
