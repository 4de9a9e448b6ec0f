/** Tiny dataset trees written into a temp folder by the data tests (VOC, COCO, ImageFolder layouts). */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { encodeImage, type Image } from "../../src/data/io/image.js";
import { encodeMask } from "../../src/data/io/mask.js";

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `tasksr-${prefix}-`));

export function put(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** A deterministic RGB test pattern. */
export function pattern(width: number, height: number, seed = 0): Image {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + seed * 11) % 256;
  return { data, width, height, channels: 3 };
}

export async function putImage(path: string, img: Image): Promise<void> {
  put(path, await encodeImage(img, path.endsWith(".png") ? "png" : "jpg"));
}

export function putMask(path: string, width: number, height: number, value: (x: number, y: number) => number): void {
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = value(x, y);
  put(path, encodeMask({ mask, width, height }));
}

export interface VocObjectSpec {
  name: string;
  box: [number, number, number, number];
  difficult?: boolean;
}

export function vocXml(filename: string, width: number, height: number, objects: VocObjectSpec[]): string {
  const objs = objects
    .map(
      (o) => `  <object>
    <name>${o.name}</name>
    <pose>Unspecified</pose>
    <truncated>1</truncated>
    <difficult>${o.difficult ? 1 : 0}</difficult>
    <bndbox><xmin>${o.box[0]}</xmin><ymin>${o.box[1]}</ymin><xmax>${o.box[2]}</xmax><ymax>${o.box[3]}</ymax></bndbox>
  </object>`,
    )
    .join("\n");
  return `<annotation>
  <folder>VOC2012</folder>
  <filename>${filename}</filename>
  <size><width>${width}</width><height>${height}</height><depth>3</depth></size>
  <segmented>0</segmented>
${objs}
</annotation>
`;
}

/**
 * A VOC year folder with three images (24x16): 2008_000001 (dog + difficult person), 2008_000002 (two cats),
 * 2008_000003 (no objects); Main and Segmentation lists `train` = all three; masks with classes 0, 12 and 255.
 */
export async function writeTinyVoc(root: string): Promise<void> {
  const W = 24;
  const H = 16;
  const objects: Record<string, VocObjectSpec[]> = {
    "2008_000001": [
      { name: "dog", box: [3, 2, 20, 15] },
      { name: "person", box: [1, 1, 5.5, 9], difficult: true },
    ],
    "2008_000002": [
      { name: "cat", box: [2, 3, 10, 12] },
      { name: "cat", box: [12, 4, 24, 16] },
    ],
    "2008_000003": [],
  };
  const ids = Object.keys(objects);
  for (const [k, id] of ids.entries()) {
    await putImage(join(root, "JPEGImages", `${id}.jpg`), pattern(W, H, k));
    put(join(root, "Annotations", `${id}.xml`), vocXml(`${id}.jpg`, W, H, objects[id]!));
    putMask(join(root, "SegmentationClass", `${id}.png`), W, H, (x, y) => (x < 8 ? 0 : x < 16 ? 12 : y < 8 ? 255 : 8));
  }
  put(join(root, "ImageSets", "Main", "train.txt"), `${ids.join("\n")}\n`);
  put(join(root, "ImageSets", "Segmentation", "train.txt"), `${ids.join("\n")}\n`);
}

/** One object of writeCocoBoxes: a filled rectangle [x1, y1, x2, y2] of category 3 ("box", red) or 5 ("disc", blue). */
export type BoxSpec = [number, number, number, number, 3 | 5];

/**
 * A COCO tree of 64x48 PNGs, one per entry of `specs`, with filled rectangles on a gradient: `images/<i>.png` and
 * `instances.json` (categories 3 "box" and 5 "disc").
 */
export async function writeCocoBoxes(name: string, specs: readonly (readonly BoxSpec[])[]): Promise<string> {
  const root = tempDir(name);
  const [W, H] = [64, 48];
  const images = [];
  const annotations = [];
  for (const [i, objects] of specs.entries()) {
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) data.set([(x * 4) % 256, (y * 5) % 256, 128], 3 * (y * W + x));
    }
    for (const [x1, y1, x2, y2, c] of objects) {
      for (let y = y1; y < y2; y++)
        for (let x = x1; x < x2; x++) data.set(c === 3 ? [230, 20, 20] : [20, 40, 230], 3 * (y * W + x));
      annotations.push({
        id: annotations.length + 1,
        image_id: i + 1,
        category_id: c,
        bbox: [x1, y1, x2 - x1, y2 - y1],
        area: (x2 - x1) * (y2 - y1),
        iscrowd: 0,
      });
    }
    await putImage(join(root, "images", `${i}.png`), { data, width: W, height: H, channels: 3 });
    images.push({ id: i + 1, file_name: `${i}.png`, width: W, height: H });
  }
  const categories = [
    { id: 3, name: "box" },
    { id: 5, name: "disc" },
  ];
  put(join(root, "instances.json"), JSON.stringify({ images, annotations, categories }));
  return root;
}
