/**
 * Label masks stored as PNG. Palette-index PNGs (PASCAL VOC `SegmentationClass`) are read as their indices, never
 * as colours; 1/2/4/8-bit grey PNGs are read as indices too (COCO semantic masks). 255 means "ignore".
 * Masks are written as 8-bit palette PNGs with the VOC colour map, so viewers show the usual colours and readers
 * get the indices back.
 */
import { readFile, writeFile } from "node:fs/promises";
import { decode, encode, type IndexedColors } from "fast-png";
import { TasksrError } from "../../errors.js";
import { pixels } from "../pixels.js";
import type { MaskTarget } from "../types.js";

/** Index value that losses and metrics skip. */
export const IGNORE_INDEX = 255;

const bad = (where: string, what: string, cause?: unknown) =>
  new TasksrError("E_BAD_FILE", `mask ${where}: ${what}`, cause === undefined ? undefined : { cause });

/** Expands rows of packed 1/2/4-bit samples (each row starts on a byte boundary) to one byte per pixel. */
function unpackRows(packed: ArrayLike<number>, width: number, height: number, depth: 1 | 2 | 4): Uint8Array {
  const out = new Uint8Array(width * height);
  const bytesPerRow = Math.ceil((width * depth) / 8);
  const perByte = 8 / depth;
  const valueMask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = packed[y * bytesPerRow + Math.floor(x / perByte)]!;
      const shift = 8 - depth * ((x % perByte) + 1);
      out[y * width + x] = (byte >> shift) & valueMask;
    }
  }
  return out;
}

/** Decodes PNG bytes into a mask; `where` names the file in errors. */
export function decodeMask(bytes: Uint8Array, where: string): MaskTarget {
  let png: ReturnType<typeof decode>;
  try {
    // Grey and palette PNGs of up to 8 bits (every VOC and COCO mask) decode natively, 5x faster than in JS; the
    // JS decoder handles, and reports, every other kind.
    const indices = pixels().decodeIndexPng(bytes);
    if (indices) return { kind: "mask", mask: indices.data, width: indices.width, height: indices.height };
    png = decode(bytes, { checkCrc: true });
  } catch (err) {
    throw bad(where, `not a readable PNG (${(err as Error).message})`, err);
  }
  const { width, height, depth, channels } = png;
  if (channels !== 1) {
    throw bad(
      where,
      `has ${channels} channels; expected a palette-index or single-channel grey PNG (COCO panoptic RGB PNGs are read with the coco-semantic "panoptic" option)`,
    );
  }
  if (depth === 16) throw bad(where, "is a 16-bit PNG; expected 8-bit (or fewer) indices");
  const mask = depth === 8 ? Uint8Array.from(png.data) : unpackRows(png.data, width, height, depth);
  if (mask.length !== width * height) {
    throw bad(where, `holds ${mask.length} pixels, expected ${width}x${height} = ${width * height}`);
  }
  return { kind: "mask", mask, width, height };
}

/** Reads a palette-index or grey PNG mask. Fails with E_BAD_FILE naming the file. */
export async function readMask(path: string): Promise<MaskTarget> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw bad(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  }
  return decodeMask(bytes, path);
}

/** A COCO panoptic PNG decoded to segment ids (id = R + 256 G + 256^2 B; 0 = void). */
export interface PanopticIds {
  /** [H * W] row-major segment ids. */
  ids: Uint32Array;
  width: number;
  height: number;
}

/** Reads a COCO panoptic PNG (8-bit RGB or RGBA; alpha ignored). Fails with E_BAD_FILE naming the file. */
export async function readPanopticPng(path: string): Promise<PanopticIds> {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(await readFile(path), { checkCrc: true });
  } catch (err) {
    throw bad(path, `not a readable PNG (${(err as Error).message})`, err);
  }
  const { width, height, channels, depth, data } = png;
  if ((channels !== 3 && channels !== 4) || depth !== 8 || png.palette !== undefined) {
    throw bad(path, `is a ${depth}-bit PNG with ${channels} channel(s); a COCO panoptic PNG is 8-bit RGB`);
  }
  const ids = new Uint32Array(width * height);
  for (let p = 0; p < ids.length; p++) {
    const o = p * channels;
    ids[p] = data[o]! + 256 * data[o + 1]! + 65536 * data[o + 2]!;
  }
  return { ids, width, height };
}

/**
 * Checks that a mask fits its image (same width and height) and, when `numClasses` is given, that every value is
 * a class index below it or IGNORE_INDEX. Fails with E_BAD_FILE naming the mask file.
 */
export function checkMask(
  m: MaskTarget,
  image: { width: number; height: number },
  file: string,
  numClasses?: number,
): void {
  if (m.width !== image.width || m.height !== image.height) {
    throw bad(file, `is ${m.width}x${m.height} but its image is ${image.width}x${image.height} (width x height)`);
  }
  if (numClasses === undefined) return;
  const i = pixels().firstOutOfRange(m.mask, numClasses, IGNORE_INDEX);
  if (i >= 0) {
    const x = i % m.width;
    const y = Math.floor(i / m.width);
    throw bad(
      file,
      `value ${m.mask[i]} at (x ${x}, y ${y}) is neither a class index below ${numClasses} nor ${IGNORE_INDEX}`,
    );
  }
}

/** The PASCAL VOC colour map: the bits of each index spread over R, G and B, most significant first. */
export function vocPalette(): IndexedColors {
  const colours: number[][] = [];
  for (let i = 0; i < 256; i++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let c = i;
    for (let bit = 7; bit >= 0; bit--) {
      r |= (c & 1) << bit;
      g |= ((c >> 1) & 1) << bit;
      b |= ((c >> 2) & 1) << bit;
      c >>= 3;
    }
    colours.push([r, g, b]);
  }
  return colours;
}

/** Encodes a mask as an 8-bit palette PNG (VOC colours). */
export function encodeMask(m: Pick<MaskTarget, "mask" | "width" | "height">): Uint8Array {
  if (m.mask.length !== m.width * m.height) {
    throw new TasksrError(
      "E_TENSOR_ARG",
      `mask has ${m.mask.length} values, expected ${m.width}x${m.height} = ${m.width * m.height}`,
    );
  }
  return encode({ width: m.width, height: m.height, data: m.mask, depth: 8, channels: 1, palette: vocPalette() });
}

/** Writes a mask as an 8-bit palette PNG. */
export async function writeMask(path: string, m: Pick<MaskTarget, "mask" | "width" | "height">): Promise<void> {
  await writeFile(path, encodeMask(m));
}
