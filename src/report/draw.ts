/**
 * Drawing on 8-bit RGB images (the `Image` of src/data/io/image.ts, HWC): colourised label maps, boxes with labels,
 * text labels and captioned image grids. Lines and fills are set pixel by pixel (crisp, exact); text is an SVG
 * `<text>` overlay rendered and composited by sharp (librsvg; DejaVu Sans, from the fonts-dejavu-core package).
 */
import sharp, { type OverlayOptions, type Sharp } from "sharp";
import type { Image } from "../data/io/image.js";
import { vocPalette } from "../data/io/mask.js";
import { TasksrError } from "../errors.js";

export type Rgb = readonly [number, number, number];

/** Ten well-separated colours (Tableau 10), cycled by class index for boxes and chart series. */
export const CATEGORY_COLOURS: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

export const classColour = (index: number): Rgb => CATEGORY_COLOURS[index % CATEGORY_COLOURS.length]!;

const FONT = "DejaVu Sans, Verdana, sans-serif";

/** Escapes text for SVG/XML content and attributes. */
export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);

/** Approximate advance width of `text` in DejaVu Sans at `fontSize` px (for label backgrounds and layout). */
export const textWidth = (text: string, fontSize: number): number => Math.ceil(text.length * fontSize * 0.62);

function checkImage(img: Image, where: string): void {
  if (img.channels !== 3 || img.data.length !== img.width * img.height * 3) {
    throw new TasksrError(
      "E_TENSOR_ARG",
      `${where}: expected an RGB image of ${img.width}x${img.height}x3 bytes, got ${img.data.length} bytes with ${img.channels} channel(s)`,
    );
  }
}

/**
 * Label map (H*W class indices, row-major) -> RGB image in the PASCAL VOC colours (255, "ignore", is the VOC
 * border colour). `palette` maps index -> [r, g, b].
 */
export function colorizeMask(
  mask: Uint8Array,
  width: number,
  height: number,
  palette: readonly (readonly number[])[] = vocPalette(),
): Image {
  if (mask.length !== width * height) {
    throw new TasksrError("E_TENSOR_ARG", `colorizeMask: ${mask.length} labels for a ${width}x${height} map`);
  }
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < mask.length; i++) {
    const c = palette[mask[i]!] ?? [0, 0, 0];
    data[3 * i] = c[0]!;
    data[3 * i + 1] = c[1]!;
    data[3 * i + 2] = c[2]!;
  }
  return { data, width, height, channels: 3 };
}

/** (1 - alpha) * a + alpha * b, for laying a colourised mask over its image. */
export function blend(a: Image, b: Image, alpha: number): Image {
  checkImage(a, "blend");
  checkImage(b, "blend");
  if (a.width !== b.width || a.height !== b.height) {
    throw new TasksrError("E_TENSOR_ARG", `blend: ${a.width}x${a.height} and ${b.width}x${b.height} differ in size`);
  }
  const data = new Uint8Array(a.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round((1 - alpha) * a.data[i]! + alpha * b.data[i]!);
  return { ...a, data };
}

/** Fills the rectangle [x0, x1) x [y0, y1), clipped to the image, in place. */
function fillRect(img: Image, x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
  const xa = Math.max(0, Math.floor(x0));
  const xb = Math.min(img.width, Math.ceil(x1));
  for (let y = Math.max(0, Math.floor(y0)); y < Math.min(img.height, Math.ceil(y1)); y++) {
    for (let x = xa; x < xb; x++) {
      const o = 3 * (y * img.width + x);
      img.data[o] = c[0];
      img.data[o + 1] = c[1];
      img.data[o + 2] = c[2];
    }
  }
}

/** One piece of text on an overlay: top-left anchored at (x, y), optionally on a filled background. */
export interface TextItem {
  x: number;
  y: number;
  text: string;
  fontSize?: number;
  colour?: Rgb;
  background?: Rgb;
  /** "start" (default) puts x at the left edge, "middle" at the centre. */
  anchor?: "start" | "middle";
}

const rgb = (c: Rgb): string => `rgb(${c[0]},${c[1]},${c[2]})`;

/** An SVG of the given size holding the text items (and their backgrounds). */
export function textOverlaySvg(width: number, height: number, items: readonly TextItem[]): string {
  const parts = items.map((t) => {
    const size = t.fontSize ?? 12;
    const w = textWidth(t.text, size);
    const left = t.anchor === "middle" ? t.x - w / 2 : t.x;
    const bg = t.background
      ? `<rect x="${left - 2}" y="${t.y}" width="${w + 4}" height="${Math.ceil(size * 1.25)}" fill="${rgb(t.background)}"/>`
      : "";
    const text = `<text x="${t.x}" y="${t.y + size}" font-family="${FONT}" font-size="${size}" fill="${rgb(t.colour ?? [0, 0, 0])}" text-anchor="${t.anchor ?? "start"}">${escapeXml(t.text)}</text>`;
    return bg + text;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join("")}</svg>`;
}

/** Composites `layers` onto `base` and returns the result as an 8-bit RGB image. */
async function compositeRgb(base: Sharp, layers: OverlayOptions[]): Promise<Image> {
  const { data, info } = await base.composite(layers).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: 3,
  };
}

/** Composites an SVG overlay of the image's size onto a copy of `img`. */
function overlay(img: Image, svg: string): Promise<Image> {
  const base = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
  return compositeRgb(base, [{ input: Buffer.from(svg), top: 0, left: 0 }]);
}

/** Writes text items onto a copy of `img` ("label text": captions, scores, class names). */
export async function drawText(img: Image, items: readonly TextItem[]): Promise<Image> {
  checkImage(img, "drawText");
  return items.length ? overlay(img, textOverlaySvg(img.width, img.height, items)) : { ...img, data: img.data.slice() };
}

/** A box in pixels of the image, xyxy, with an optional label drawn on its top-left corner. */
export interface BoxDrawing {
  box: readonly [number, number, number, number];
  label?: string;
  /** Default: the first category colour. */
  colour?: Rgb;
}

/**
 * Draws rectangle outlines (`lineWidth` px, inside the box edge) and their labels on a copy of `img`. Boxes are
 * clipped to the image; labels sit above the box, or inside it at the top edge of the image.
 */
export async function drawBoxes(
  img: Image,
  boxes: readonly BoxDrawing[],
  o: { lineWidth?: number; fontSize?: number } = {},
): Promise<Image> {
  checkImage(img, "drawBoxes");
  const out: Image = { ...img, data: img.data.slice() };
  const lw = o.lineWidth ?? 2;
  const size = o.fontSize ?? 12;
  const labels: TextItem[] = [];
  for (const b of boxes) {
    const [x1, y1, x2, y2] = b.box;
    if (!(x2 > x1 && y2 > y1)) {
      throw new TasksrError("E_TENSOR_ARG", `drawBoxes: box [${b.box}] is not xyxy with x2 > x1 and y2 > y1`);
    }
    const c = b.colour ?? CATEGORY_COLOURS[0]!;
    const [l, t, r, d] = [Math.round(x1), Math.round(y1), Math.round(x2), Math.round(y2)];
    fillRect(out, l, t, r, t + lw, c);
    fillRect(out, l, d - lw, r, d, c);
    fillRect(out, l, t, l + lw, d, c);
    fillRect(out, r - lw, t, r, d, c);
    if (b.label) {
      const h = Math.ceil(size * 1.25);
      const top = t - h >= 0 ? t - h : Math.max(0, t);
      labels.push({
        x: Math.max(2, l + 2),
        y: top,
        text: b.label,
        fontSize: size,
        colour: [255, 255, 255],
        background: c,
      });
    }
  }
  return labels.length ? overlay(out, textOverlaySvg(out.width, out.height, labels)) : out;
}

/** One grid cell: an image and an optional caption under it. */
export interface GridCell {
  image: Image;
  caption?: string;
}

export interface GridOptions {
  /** Cells per row (default: all in one row). */
  columns?: number;
  /** Cell size; images are scaled to fit it keeping their aspect (nearest neighbour, so LR pixels stay visible).
   * Default: the largest image's width and height. */
  cellWidth?: number;
  cellHeight?: number;
  /** Pixels between cells and around the grid (default 8). */
  gap?: number;
  /** Caption and title font size in px (default 14). */
  fontSize?: number;
  /** Line of text above the grid. */
  title?: string;
  background?: Rgb;
}

/**
 * Lays images out in a grid with captions under each cell and an optional title; returns one RGB image. Used for
 * LR / SR / HR / prediction comparisons (tasksr eval --visualize) and the demo.
 */
export async function composeGrid(cells: readonly GridCell[], o: GridOptions = {}): Promise<Image> {
  if (cells.length === 0) throw new TasksrError("E_TENSOR_ARG", "composeGrid: no cells");
  for (const [i, c] of cells.entries()) checkImage(c.image, `composeGrid cell ${i}`);
  const columns = Math.max(1, Math.min(o.columns ?? cells.length, cells.length));
  const rows = Math.ceil(cells.length / columns);
  const cw = o.cellWidth ?? Math.max(...cells.map((c) => c.image.width));
  const ch = o.cellHeight ?? Math.max(...cells.map((c) => c.image.height));
  const gap = o.gap ?? 8;
  const size = o.fontSize ?? 14;
  const captionH = cells.some((c) => c.caption) ? Math.ceil(size * 1.6) : 0;
  const titleH = o.title ? Math.ceil(size * 1.8) : 0;
  const width = columns * cw + (columns + 1) * gap;
  const height = titleH + rows * (ch + captionH) + (rows + 1) * gap;
  const bg = o.background ?? [255, 255, 255];
  const layers: OverlayOptions[] = [];
  const texts: TextItem[] = [];
  if (o.title) texts.push({ x: width / 2, y: gap / 2, text: o.title, fontSize: size, anchor: "middle" });
  for (const [i, c] of cells.entries()) {
    const left = gap + (i % columns) * (cw + gap);
    const top = titleH + gap + Math.floor(i / columns) * (ch + captionH + gap);
    const { data, info } = await sharp(
      Buffer.from(c.image.data.buffer, c.image.data.byteOffset, c.image.data.byteLength),
      {
        raw: { width: c.image.width, height: c.image.height, channels: 3 },
      },
    )
      .resize(cw, ch, { fit: "contain", kernel: "nearest", background: { r: bg[0], g: bg[1], b: bg[2] } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    layers.push({ input: data, raw: { width: info.width, height: info.height, channels: info.channels }, left, top });
    if (c.caption) texts.push({ x: left + cw / 2, y: top + ch + 2, text: c.caption, fontSize: size, anchor: "middle" });
  }
  if (texts.length) layers.push({ input: Buffer.from(textOverlaySvg(width, height, texts)), left: 0, top: 0 });
  return compositeRgb(
    sharp({ create: { width, height, channels: 3, background: { r: bg[0], g: bg[1], b: bg[2] } } }),
    layers,
  );
}
