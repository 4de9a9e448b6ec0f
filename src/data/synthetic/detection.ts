/**
 * Synthetic detection in the COCO layout: `images/{train,val}/<id>.png` and `annotations/instances_{train,val}.json`
 * (categories 1..K, one box per object, iscrowd 0). Each image is a cluttered background with flat decoy
 * rectangles of the objects' size, then 1–4 non-overlapping rectangular objects filled with their class texture in
 * random colours, drawn last, so each box is exactly its object's pixels.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { Image } from "../io/image.js";
import { writeImage } from "../io/image.js";
import type { Rng } from "../transforms/rng.js";
import { checkCommon, commonFields, forEachLimited, type SyntheticSplit, sampleRng } from "./common.js";
import { Canvas, drawBackground, drawDecoys, fillTexture, paperAndInk, rect } from "./draw.js";
import { REGION_TEXTURES, type Texture } from "./textures.js";

export const detectionSynthSchema = z
  .strictObject({
    ...commonFields({ train: 1000, val: 200, size: 96 }),
    /** Number of object categories (the first of REGION_TEXTURES). */
    classes: z.number().int().min(1).max(REGION_TEXTURES.length).default(5),
    /** Most objects per image (at least 1; fewer when they do not fit). */
    maxObjects: z.number().int().min(1).max(16).default(4),
  })
  .superRefine(checkCommon);
export type DetectionSynthOptions = z.input<typeof detectionSynthSchema>;
export type DetectionSynthConfig = z.output<typeof detectionSynthSchema>;

export const detectionClassNames = (o: DetectionSynthConfig): string[] =>
  REGION_TEXTURES.slice(0, o.classes).map((t) => t.name);

const NOISE_SIGMA = 2;

/** A drawn object: pixel box [x, x + w) x [y, y + h) and its label (0-based). */
export interface SyntheticObject {
  x: number;
  y: number;
  w: number;
  h: number;
  label: number;
}

/**
 * One `size` x `size` scene with 1..`maxObjects` objects of side 1/8..1/4 of the image, at least 2 px apart.
 * Placement tries a fixed number of random spots per object, so the scene is a pure function of the stream.
 */
export function drawDetectionScene(
  rng: Rng,
  size: number,
  textures: readonly Texture[],
  maxObjects: number,
): { image: Image; objects: SyntheticObject[] } {
  const c = new Canvas(size, size);
  drawBackground(c, rng, { shapes: [3, 6], shapeSize: [size / 6, size / 2] });
  const lo = Math.max(4, Math.round(size / 8));
  const hi = Math.max(lo, Math.round(size / 4));
  drawDecoys(c, rng, rng.int(2, 4), lo, hi);
  const objects: SyntheticObject[] = [];
  const want = rng.int(1, maxObjects);
  const gap = 2;
  for (let k = 0; k < want; k++) {
    const w = rng.int(lo, hi);
    const h = rng.int(lo, hi);
    const label = rng.int(0, textures.length - 1);
    for (let attempt = 0; attempt < 20; attempt++) {
      const x = rng.int(0, size - w);
      const y = rng.int(0, size - h);
      const clear = objects.every(
        (b) => x >= b.x + b.w + gap || b.x >= x + w + gap || y >= b.y + b.h + gap || b.y >= y + h + gap,
      );
      if (clear) {
        objects.push({ x, y, w, h, label });
        break;
      }
    }
  }
  for (const b of objects) {
    const { paper, ink } = paperAndInk(rng, 60, 150);
    fillTexture(c, rect(b.x, b.y, b.w, b.h), textures[b.label]!, paper, ink, rng);
  }
  c.addNoise(rng, NOISE_SIGMA);
  return { image: c.image(), objects };
}

export function drawDetectionSample(
  o: DetectionSynthConfig,
  split: SyntheticSplit,
  index: number,
): { image: Image; objects: SyntheticObject[] } {
  const rng = sampleRng(o.seed, "detection", split, index);
  return drawDetectionScene(rng, o.size, REGION_TEXTURES.slice(0, o.classes), o.maxObjects);
}

/** Writes both splits under `root` (which must exist). */
export async function writeDetection(root: string, o: DetectionSynthConfig): Promise<void> {
  const classes = detectionClassNames(o);
  await mkdir(join(root, "annotations"), { recursive: true });
  for (const split of ["train", "val"] as const) {
    await mkdir(join(root, "images", split), { recursive: true });
    const objectsOf: SyntheticObject[][] = new Array(o[split]);
    await forEachLimited(o[split], 8, async (i) => {
      const { image, objects } = drawDetectionSample(o, split, i);
      objectsOf[i] = objects;
      await writeImage(join(root, "images", split, `${String(i + 1).padStart(6, "0")}.png`), image);
    });
    const annotations = objectsOf.flatMap((objects, i) => objects.map((b) => ({ b, imageId: i + 1 })));
    const json = {
      info: { description: `tasksr synthetic detection (${split})` },
      images: objectsOf.map((_, i) => ({
        id: i + 1,
        file_name: `${String(i + 1).padStart(6, "0")}.png`,
        width: o.size,
        height: o.size,
      })),
      annotations: annotations.map(({ b, imageId }, k) => ({
        id: k + 1,
        image_id: imageId,
        category_id: b.label + 1,
        bbox: [b.x, b.y, b.w, b.h],
        area: b.w * b.h,
        iscrowd: 0,
      })),
      categories: classes.map((name, k) => ({ id: k + 1, name, supercategory: "texture" })),
    };
    await writeFile(join(root, "annotations", `instances_${split}.json`), `${JSON.stringify(json)}\n`);
  }
}
