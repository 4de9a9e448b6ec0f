/**
 * Synthetic segmentation in the PASCAL VOC layout: `JPEGImages/<id>.jpg`, palette-index masks
 * `SegmentationClass/<id>.png` and `ImageSets/Segmentation/{train,val}.txt`. Each image is a cluttered background
 * (class 0, including flat decoy shapes of the objects' size) with 1–3 random shapes (ellipses, rectangles,
 * triangles) filled with their class texture in random colours; later shapes cover earlier ones. The pixels along
 * every class boundary are 255 (ignored), as VOC's object borders.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { Image } from "../io/image.js";
import { writeImage } from "../io/image.js";
import { encodeMask, IGNORE_INDEX } from "../io/mask.js";
import type { Rng } from "../transforms/rng.js";
import type { MaskTarget } from "../types.js";
import { checkCommon, commonFields, forEachLimited, type SyntheticSplit, sampleRng } from "./common.js";
import { Canvas, drawBackground, fillTexture, paperAndInk, randomColour, randomShape } from "./draw.js";
import { REGION_TEXTURES, type Texture } from "./textures.js";

export const segmentationSynthSchema = z
  .strictObject({
    ...commonFields({ train: 1000, val: 200, size: 64 }),
    /** Number of object classes (the first of REGION_TEXTURES); class 0 is the background. */
    classes: z.number().int().min(1).max(REGION_TEXTURES.length).default(5),
    /** Mark the pixels along class boundaries 255 (ignored by losses and mIoU), as VOC does. */
    ignoreBorders: z.boolean().default(true),
    /** JPEG quality of the images (4:4:4 chroma). */
    quality: z.number().int().min(50).max(100).default(95),
  })
  .superRefine(checkCommon);
export type SegmentationSynthOptions = z.input<typeof segmentationSynthSchema>;
export type SegmentationSynthConfig = z.output<typeof segmentationSynthSchema>;

export const segmentationClassNames = (o: SegmentationSynthConfig): string[] => [
  "background",
  ...REGION_TEXTURES.slice(0, o.classes).map((t) => t.name),
];

const NOISE_SIGMA = 2;

/** Sets every pixel that has a 4-neighbour of another class to 255. */
function markBorders(mask: Uint8Array, width: number, height: number): Uint8Array {
  const out = mask.slice();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = mask[y * width + x]!;
      const differs =
        (x > 0 && mask[y * width + x - 1] !== v) ||
        (x + 1 < width && mask[y * width + x + 1] !== v) ||
        (y > 0 && mask[(y - 1) * width + x] !== v) ||
        (y + 1 < height && mask[(y + 1) * width + x] !== v);
      if (differs) out[y * width + x] = IGNORE_INDEX;
    }
  }
  return out;
}

/**
 * One `size` x `size` scene with 1–3 shapes, each filled with one of `textures` (class = position + 1), and its
 * mask.
 */
export function drawSegmentationScene(
  rng: Rng,
  size: number,
  textures: readonly Texture[],
  ignoreBorders: boolean,
): { image: Image; mask: MaskTarget } {
  const c = new Canvas(size, size);
  drawBackground(c, rng, { shapes: [3, 6], shapeSize: [size / 6, size / 2] });
  const lo = 0.35 * size;
  const hi = 0.7 * size;
  const decoys = rng.int(1, 2);
  for (let i = 0; i < decoys; i++) c.fill(randomShape(rng, size, size, lo, hi), randomColour(rng, 20, 235));
  let mask: Uint8Array = new Uint8Array(size * size);
  const objects = rng.int(2, 4);
  for (let i = 0; i < objects; i++) {
    const cls = rng.int(1, textures.length);
    const region = randomShape(rng, size, size, lo, hi);
    const { paper, ink } = paperAndInk(rng, 60, 150);
    fillTexture(c, region, textures[cls - 1]!, paper, ink, rng);
    c.forEach(region, (x, y) => {
      mask[y * size + x] = cls;
    });
  }
  c.addNoise(rng, NOISE_SIGMA);
  if (ignoreBorders) mask = markBorders(mask, size, size);
  return { image: c.image(), mask: { kind: "mask", mask, width: size, height: size } };
}

export const segmentationSampleId = (split: SyntheticSplit, index: number): string =>
  `${split}_${String(index).padStart(6, "0")}`;

export function drawSegmentationSample(
  o: SegmentationSynthConfig,
  split: SyntheticSplit,
  index: number,
): { image: Image; mask: MaskTarget } {
  const rng = sampleRng(o.seed, "segmentation", split, index);
  return drawSegmentationScene(rng, o.size, REGION_TEXTURES.slice(0, o.classes), o.ignoreBorders);
}

/** Writes both splits under `root` (which must exist). */
export async function writeSegmentation(root: string, o: SegmentationSynthConfig): Promise<void> {
  for (const dir of ["JPEGImages", "SegmentationClass", join("ImageSets", "Segmentation")]) {
    await mkdir(join(root, dir), { recursive: true });
  }
  for (const split of ["train", "val"] as const) {
    const ids = Array.from({ length: o[split] }, (_, i) => segmentationSampleId(split, i));
    await forEachLimited(o[split], 8, async (i) => {
      const { image, mask } = drawSegmentationSample(o, split, i);
      await writeImage(join(root, "JPEGImages", `${ids[i]}.jpg`), image, { quality: o.quality });
      await writeFile(join(root, "SegmentationClass", `${ids[i]}.png`), encodeMask(mask));
    });
    await writeFile(join(root, "ImageSets", "Segmentation", `${split}.txt`), `${ids.join("\n")}\n`);
  }
}
