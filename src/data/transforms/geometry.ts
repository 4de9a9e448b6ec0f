/**
 * Geometric primitives on whole samples: every function moves the pixels and the target (mask, boxes) together,
 * so boxes and masks stay aligned with the image. Inputs are never modified; outputs own fresh arrays.
 *
 * Coordinates: pixel (x, y) covers [x, x+1) x [y, y+1); boxes are xyxy in those continuous pixel coordinates.
 */
import { check } from "../../errors.js";
import type { Image } from "../io/image.js";
import { pixels } from "../pixels.js";
import type { BoxTarget, MaskTarget, Sample, Target } from "../types.js";
import { resizeBilinear, resizeNearest } from "./resample.js";

/** Mask value for pixels that carry no label (VOC's "void"), ignored by the segmentation loss. */
export const IGNORE_INDEX = 255;

/** An integer pixel window; it may reach outside the image (the outside is filled). */
export interface Window {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Fill for pixels outside the source: one value for all channels, or one per channel. */
export type Fill = number | readonly number[];

/** Applies `onMask`/`onBoxes` to the target kind they handle; class labels pass through unchanged. */
export function mapTarget<T extends Target>(
  target: T,
  onMask: (t: MaskTarget) => MaskTarget,
  onBoxes: (t: BoxTarget) => BoxTarget,
): T {
  switch (target.kind) {
    case "mask":
      return onMask(target) as T;
    case "boxes":
      return onBoxes(target) as T;
    default:
      return target;
  }
}

/** Fails unless a mask target has the image's size. */
export function checkMaskAligned(s: Sample): void {
  if (s.target.kind === "mask") {
    const t = s.target;
    check(
      t.width === s.image.width && t.height === s.image.height && t.mask.length === t.width * t.height,
      () =>
        `sample ${s.id}: mask is ${t.width}x${t.height} (${t.mask.length} values), image is ${s.image.width}x${s.image.height}`,
    );
  }
}

/** Copies the `win` region of an interleaved byte raster, filling outside pixels with `fill`. */
function cropRaster(src: Uint8Array, w: number, h: number, c: number, win: Window, fill: Fill): Uint8Array {
  const fills = typeof fill === "number" ? new Array<number>(c).fill(fill) : fill;
  check(fills.length === c, () => `fill has ${fills.length} values for ${c} channels`, "E_CONFIG");
  const out = new Uint8Array(win.width * win.height * c);
  const x0 = Math.max(win.x, 0);
  const x1 = Math.min(win.x + win.width, w);
  const y0 = Math.max(win.y, 0);
  const y1 = Math.min(win.y + win.height, h);
  const inside = win.x >= 0 && win.y >= 0 && win.x + win.width <= w && win.y + win.height <= h;
  if (!inside) {
    // Only windows reaching outside the image need a fill; one value for every channel is a native fill.
    if (fills.every((v) => v === fills[0])) out.fill(fills[0]!);
    else for (let i = 0; i < out.length; i += c) for (let ch = 0; ch < c; ch++) out[i + ch] = fills[ch]!;
  }
  if (x1 <= x0) return out;
  for (let y = y0; y < y1; y++) {
    const from = (y * w + x0) * c;
    out.set(src.subarray(from, from + (x1 - x0) * c), ((y - win.y) * win.width + (x0 - win.x)) * c);
  }
  return out;
}

/**
 * Keeps boxes by `keep` (index -> boolean) and copies all per-box arrays; `boxes` replaces the coordinates first.
 */
function selectBoxes(t: BoxTarget, boxes: Float32Array, keep: (i: number) => boolean): BoxTarget {
  const n = t.labels.length;
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (keep(i)) idx.push(i);
  const out: BoxTarget = {
    kind: "boxes",
    boxes: new Float32Array(idx.length * 4),
    labels: new Int32Array(idx.length),
    difficult: new Uint8Array(idx.length),
    iscrowd: new Uint8Array(idx.length),
  };
  idx.forEach((i, j) => {
    out.boxes.set(boxes.subarray(i * 4, i * 4 + 4), j * 4);
    out.labels[j] = t.labels[i]!;
    out.difficult[j] = t.difficult[i]!;
    out.iscrowd[j] = t.iscrowd[i]!;
  });
  return out;
}

/** Box centres (cx, cy) of box i. */
export function boxCentre(boxes: Float32Array, i: number): [number, number] {
  return [(boxes[i * 4]! + boxes[i * 4 + 2]!) / 2, (boxes[i * 4 + 1]! + boxes[i * 4 + 3]!) / 2];
}

/**
 * Boxes in the window's coordinates, clipped to it; boxes left with no area are dropped, and so are boxes that
 * `keep` rejects (called with the index into the input boxes).
 */
export function cropBoxes(t: BoxTarget, win: Window, keep: (i: number) => boolean = () => true): BoxTarget {
  const b = new Float32Array(t.boxes.length);
  for (let i = 0; i < t.labels.length; i++) {
    b[i * 4] = Math.min(Math.max(t.boxes[i * 4]! - win.x, 0), win.width);
    b[i * 4 + 1] = Math.min(Math.max(t.boxes[i * 4 + 1]! - win.y, 0), win.height);
    b[i * 4 + 2] = Math.min(Math.max(t.boxes[i * 4 + 2]! - win.x, 0), win.width);
    b[i * 4 + 3] = Math.min(Math.max(t.boxes[i * 4 + 3]! - win.y, 0), win.height);
  }
  return selectBoxes(t, b, (i) => b[i * 4 + 2]! > b[i * 4]! && b[i * 4 + 3]! > b[i * 4 + 1]! && keep(i));
}

/**
 * The `win` region of the sample. Parts of the window outside the image get `fill` in the image and `maskFill`
 * (default 255, ignored) in the mask; boxes are shifted, clipped and dropped when empty (see cropBoxes).
 */
export function cropSample<T extends Target>(
  s: Sample<T>,
  win: Window,
  fill: Fill = 0,
  maskFill = IGNORE_INDEX,
  keepBox?: (i: number) => boolean,
): Sample<T> {
  check(
    Number.isInteger(win.x) && Number.isInteger(win.y) && win.width > 0 && win.height > 0,
    () => `crop window must be integer with positive size, got ${JSON.stringify(win)}`,
  );
  checkMaskAligned(s);
  const { image } = s;
  const out: Image = {
    data: cropRaster(image.data, image.width, image.height, image.channels, win, fill),
    width: win.width,
    height: win.height,
    channels: image.channels,
  };
  const target = mapTarget(
    s.target,
    (m) => ({
      kind: "mask",
      mask: cropRaster(m.mask, m.width, m.height, 1, win, maskFill),
      width: win.width,
      height: win.height,
    }),
    (b) => cropBoxes(b, win, keepBox),
  );
  return { id: s.id, image: out, target };
}

/** Mirrors the sample left-right; boxes become x1' = W - x2, x2' = W - x1. */
export function flipSample<T extends Target>(s: Sample<T>): Sample<T> {
  checkMaskAligned(s);
  const { image } = s;
  const w = image.width;
  const target = mapTarget(
    s.target,
    (m) => ({ ...m, mask: pixels().flipHorizontal(m.mask, m.width, m.height, 1) }),
    (b) => {
      const boxes = new Float32Array(b.boxes.length);
      for (let i = 0; i < b.labels.length; i++) {
        boxes[i * 4] = w - b.boxes[i * 4 + 2]!;
        boxes[i * 4 + 1] = b.boxes[i * 4 + 1]!;
        boxes[i * 4 + 2] = w - b.boxes[i * 4]!;
        boxes[i * 4 + 3] = b.boxes[i * 4 + 3]!;
      }
      return selectBoxes(b, boxes, () => true);
    },
  );
  return {
    id: s.id,
    image: { ...image, data: pixels().flipHorizontal(image.data, w, image.height, image.channels) },
    target,
  };
}

/**
 * Resizes to exactly width x height: the image with PIL bilinear (antialiased when shrinking), the mask with PIL
 * nearest, boxes scaled per axis.
 */
export function resizeSample<T extends Target>(s: Sample<T>, width: number, height: number): Sample<T> {
  checkMaskAligned(s);
  const sx = width / s.image.width;
  const sy = height / s.image.height;
  const target = mapTarget(
    s.target,
    (m) => ({ kind: "mask", mask: resizeNearest(m.mask, m.width, m.height, 1, width, height), width, height }),
    (b) => {
      const boxes = new Float32Array(b.boxes.length);
      for (let i = 0; i < boxes.length; i += 4) {
        boxes[i] = b.boxes[i]! * sx;
        boxes[i + 1] = b.boxes[i + 1]! * sy;
        boxes[i + 2] = b.boxes[i + 2]! * sx;
        boxes[i + 3] = b.boxes[i + 3]! * sy;
      }
      return selectBoxes(b, boxes, () => true);
    },
  );
  return { id: s.id, image: resizeBilinear(s.image, width, height), target };
}
