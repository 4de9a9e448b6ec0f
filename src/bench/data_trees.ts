/**
 * The real-size data of `tasksr bench data`: 640x480 JPEGs (quality 90, 4:2:0, as COCO photos) of textured shapes on
 * gradients, with their semantic masks and boxes, laid out once for all three tasks: a VOC segmentation tree
 * (JPEGImages, SegmentationClass, ImageSets), an image folder (class folders of hard links to the same JPEGs, the
 * class being the largest shape's) and a COCO detection JSON. Generated into a cache folder and reused while its
 * manifest matches, so the package needs no dataset.
 */
import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeImage } from "../data/io/image.js";
import { writeMask } from "../data/io/mask.js";
import { Rng } from "../data/transforms/rng.js";

export const REAL_SIZE = { width: 640, height: 480 } as const;
export const REAL_CLASSES = ["background", "disc", "box", "ring", "bar"] as const;
const VERSION = 1;

export interface RealSizeTree {
  root: string;
  images: number;
  classification: { type: "image-folder"; root: string };
  segmentation: { type: "voc-seg"; root: string; split: "train"; classes: string[] };
  detection: { type: "coco-det"; images: string; annotations: string };
}

interface Shape {
  cls: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

function drawImage(rng: Rng): { rgb: Uint8Array; mask: Uint8Array; shapes: Shape[] } {
  const { width: W, height: H } = REAL_SIZE;
  const rgb = new Uint8Array(W * H * 3);
  const mask = new Uint8Array(W * H);
  const c0 = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
  const c1 = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const t = (x + y) / (W + H);
      for (let c = 0; c < 3; c++) rgb[(y * W + x) * 3 + c] = c0[c]! * (1 - t) + c1[c]! * t;
    }
  }
  const shapes: Shape[] = [];
  const n = rng.int(3, 6);
  for (let k = 0; k < n; k++) {
    const w = rng.int(60, 260);
    const h = rng.int(60, 220);
    const s: Shape = { cls: rng.int(1, 4), x: rng.int(0, W - w), y: rng.int(0, H - h), w, h };
    const colour = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
    const period = rng.int(3, 9);
    for (let y = s.y; y < s.y + h; y++) {
      for (let x = s.x; x < s.x + w; x++) {
        const u = (x - s.x) / w - 0.5;
        const v = (y - s.y) / h - 0.5;
        const r = Math.hypot(u, v);
        const inside =
          s.cls === 1 ? r < 0.5 : s.cls === 2 ? true : s.cls === 3 ? r < 0.5 && r > 0.3 : Math.abs(v) < 0.2;
        if (!inside) continue;
        // Stripes: fine detail for the JPEG to keep.
        const stripe = ((x + 2 * y) % period) * (40 / period);
        for (let c = 0; c < 3; c++) rgb[(y * W + x) * 3 + c] = Math.min(255, colour[c]! + stripe);
        mask[y * W + x] = s.cls;
      }
    }
    shapes.push(s);
  }
  // Sensor-like noise, so that files are as large as photos (about 100 KB).
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.max(0, Math.min(255, rgb[i]! + rng.int(-12, 12)));
  return { rgb, mask, shapes };
}

/** The tree of `images` real-size samples in `dir`, generated unless a matching one is there. */
export async function ensureRealSizeTree(dir: string, images: number): Promise<RealSizeTree> {
  const tree: RealSizeTree = {
    root: dir,
    images,
    classification: { type: "image-folder", root: join(dir, "classes") },
    segmentation: { type: "voc-seg", root: dir, split: "train", classes: [...REAL_CLASSES] },
    detection: { type: "coco-det", images: join(dir, "JPEGImages"), annotations: join(dir, "instances.json") },
  };
  const manifest = JSON.stringify({ version: VERSION, images });
  const mpath = join(dir, "tree.json");
  if (existsSync(mpath) && readFileSync(mpath, "utf8") === manifest) return tree;
  if (existsSync(dir)) {
    if (!existsSync(mpath)) throw new Error(`${dir} exists and is not a bench data tree; choose another --cache`);
    rmSync(dir, { recursive: true });
  }
  const tmp = `${dir}.tmp-${randomBytes(4).toString("hex")}`;
  for (const d of ["JPEGImages", "SegmentationClass", join("ImageSets", "Segmentation")]) {
    mkdirSync(join(tmp, d), { recursive: true });
  }
  for (const c of REAL_CLASSES.slice(1)) mkdirSync(join(tmp, "classes", c), { recursive: true });
  const ids: string[] = [];
  const coco = {
    images: [] as { id: number; file_name: string; width: number; height: number }[],
    annotations: [] as {
      id: number;
      image_id: number;
      category_id: number;
      bbox: number[];
      area: number;
      iscrowd: 0;
    }[],
    categories: REAL_CLASSES.slice(1).map((name, i) => ({ id: i + 1, name })),
  };
  for (let i = 0; i < images; i++) {
    const id = `img${String(i).padStart(5, "0")}`;
    const { rgb, mask, shapes } = drawImage(new Rng(VERSION, i));
    const jpg = join(tmp, "JPEGImages", `${id}.jpg`);
    await writeImage(jpg, { data: rgb, ...REAL_SIZE, channels: 3 }, { quality: 90, chromaSubsampling: "4:2:0" });
    await writeMask(join(tmp, "SegmentationClass", `${id}.png`), { mask, ...REAL_SIZE });
    const largest = shapes.reduce((a, b) => (b.w * b.h > a.w * a.h ? b : a));
    linkSync(jpg, join(tmp, "classes", REAL_CLASSES[largest.cls]!, `${id}.jpg`));
    coco.images.push({ id: i + 1, file_name: `${id}.jpg`, ...REAL_SIZE });
    for (const s of shapes) {
      coco.annotations.push({
        id: coco.annotations.length + 1,
        image_id: i + 1,
        category_id: s.cls,
        bbox: [s.x, s.y, s.w, s.h],
        area: s.w * s.h,
        iscrowd: 0,
      });
    }
    ids.push(id);
  }
  writeFileSync(join(tmp, "ImageSets", "Segmentation", "train.txt"), `${ids.join("\n")}\n`);
  writeFileSync(join(tmp, "instances.json"), JSON.stringify(coco));
  writeFileSync(join(tmp, "tree.json"), manifest);
  renameSync(tmp, dir);
  return tree;
}
