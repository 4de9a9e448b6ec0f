/**
 * Drawing primitives of the synthetic datasets: an 8-bit RGB raster, seeded cluttered backgrounds, and the fill of a
 * region with a class texture. Everything random comes from the caller's `Rng`, so a sample is a pure function of
 * its seed keys.
 *
 * The scenes are built so that coarse content (background colour and gradient, big shapes, flat decoy patches,
 * paper and ink colours) is random and shared by all classes, while the class is carried only by the 1–3 px
 * texture a region is filled with (textures.ts). x4 bicubic downscaling averages those textures into flat colours.
 */
import type { Image } from "../io/image.js";
import type { Rng } from "../transforms/rng.js";
import { inkAt, type Texture } from "./textures.js";

export type Rgb = readonly [number, number, number];

/** A set of pixels: `inside(x, y)` for pixel centres, with a bounding box to limit the scan. */
export interface Region {
  x0: number;
  y0: number;
  /** Exclusive. */
  x1: number;
  y1: number;
  inside(x: number, y: number): boolean;
}

export class Canvas {
  /** H * W * 3 bytes, HWC. */
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3);
  }

  set(x: number, y: number, c: Rgb): void {
    const o = (y * this.width + x) * 3;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
  }

  /** Calls `fn` for every pixel of `r` that lies on the canvas. */
  forEach(r: Region, fn: (x: number, y: number) => void): void {
    const xa = Math.max(0, Math.floor(r.x0));
    const ya = Math.max(0, Math.floor(r.y0));
    const xb = Math.min(this.width, Math.ceil(r.x1));
    const yb = Math.min(this.height, Math.ceil(r.y1));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) if (r.inside(x, y)) fn(x, y);
  }

  fill(r: Region, c: Rgb): void {
    this.forEach(r, (x, y) => this.set(x, y, c));
  }

  /** Adds rounded Gaussian noise of standard deviation `sigma` (8-bit levels) to every byte. */
  addNoise(rng: Rng, sigma: number): void {
    if (sigma <= 0) return;
    for (let i = 0; i < this.data.length; i++) {
      this.data[i] = Math.min(255, Math.max(0, Math.round(this.data[i]! + sigma * rng.normal())));
    }
  }

  image(): Image {
    return { data: this.data, width: this.width, height: this.height, channels: 3 };
  }
}

export function rect(x: number, y: number, w: number, h: number): Region {
  return { x0: x, y0: y, x1: x + w, y1: y + h, inside: () => true };
}

/** Axis-aligned ellipse with centre (cx, cy) and radii (rx, ry), tested at pixel centres. */
export function ellipse(cx: number, cy: number, rx: number, ry: number): Region {
  return {
    x0: cx - rx,
    y0: cy - ry,
    x1: cx + rx + 1,
    y1: cy + ry + 1,
    inside: (x, y) => ((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1,
  };
}

/** Triangle through three points, tested at pixel centres (either winding). */
export function triangle(p: readonly [number, number][]): Region {
  const [a, b, c] = p as [[number, number], [number, number], [number, number]];
  const side = (u: [number, number], v: [number, number], x: number, y: number) =>
    (v[0] - u[0]) * (y - u[1]) - (v[1] - u[1]) * (x - u[0]);
  return {
    x0: Math.min(a[0], b[0], c[0]),
    y0: Math.min(a[1], b[1], c[1]),
    x1: Math.max(a[0], b[0], c[0]) + 1,
    y1: Math.max(a[1], b[1], c[1]) + 1,
    inside: (x, y) => {
      const s1 = side(a, b, x + 0.5, y + 0.5);
      const s2 = side(b, c, x + 0.5, y + 0.5);
      const s3 = side(c, a, x + 0.5, y + 0.5);
      return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
    },
  };
}

export const luma = (c: Rgb): number => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];

export function randomColour(rng: Rng, lo = 0, hi = 255): Rgb {
  return [rng.int(lo, hi), rng.int(lo, hi), rng.int(lo, hi)];
}

/**
 * Paper and ink colours of a textured region: independent random hues, ink darker than paper by a luma contrast in
 * [minContrast, maxContrast]. The fixed polarity keeps a texture and its complement (dots vs. grid) apart.
 */
export function paperAndInk(rng: Rng, minContrast: number, maxContrast: number): { paper: Rgb; ink: Rgb } {
  for (;;) {
    const paper = randomColour(rng, 40, 255);
    const ink = randomColour(rng, 0, 215);
    const d = luma(paper) - luma(ink);
    if (d >= minContrast && d <= maxContrast) return { paper, ink };
  }
}

/** Fills `r` with `texture` (ink on paper), the tile shifted by a random phase. */
export function fillTexture(c: Canvas, r: Region, texture: Texture, paper: Rgb, ink: Rgb, rng: Rng): void {
  const px = rng.int(0, texture.width - 1);
  const py = rng.int(0, texture.height - 1);
  c.forEach(r, (x, y) => c.set(x, y, inkAt(texture, x + px, y + py) ? ink : paper));
}

/** A random rectangle, ellipse or triangle of about `lo`..`hi` pixels across, anywhere on (or partly off) the canvas. */
export function randomShape(rng: Rng, width: number, height: number, lo: number, hi: number): Region {
  const w = rng.uniform(lo, hi);
  const h = rng.uniform(lo, hi);
  const cx = rng.uniform(0, width);
  const cy = rng.uniform(0, height);
  switch (rng.int(0, 2)) {
    case 0:
      return rect(Math.round(cx - w / 2), Math.round(cy - h / 2), Math.round(w), Math.round(h));
    case 1:
      return ellipse(cx, cy, w / 2, h / 2);
    default: {
      // Corners about 120 degrees apart on the ellipse, so triangles are never slivers.
      const a0 = rng.uniform(0, 2 * Math.PI);
      const pt = (k: number): [number, number] => {
        const a = a0 + (2 * Math.PI * k) / 3 + rng.uniform(-0.3, 0.3);
        const r = rng.uniform(0.8, 1) / 2;
        return [cx + r * w * Math.cos(a), cy + r * h * Math.sin(a)];
      };
      return triangle([pt(0), pt(1), pt(2)]);
    }
  }
}

export interface BackgroundOptions {
  /** Number of big flat shapes, inclusive range. */
  shapes: readonly [number, number];
  /** Their size range in pixels. */
  shapeSize: readonly [number, number];
}

/**
 * Random base colour with a linear gradient of random direction and strength (up to ±40 levels per channel across
 * the image), then big flat shapes of random colours.
 */
export function drawBackground(c: Canvas, rng: Rng, o: BackgroundOptions): void {
  const base = randomColour(rng, 30, 225);
  const slope = [rng.uniform(-40, 40), rng.uniform(-40, 40), rng.uniform(-40, 40)];
  const theta = rng.uniform(0, 2 * Math.PI);
  const [cs, sn] = [Math.cos(theta), Math.sin(theta)];
  const span = Math.max(c.width, c.height);
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      const t = ((x - c.width / 2) * cs + (y - c.height / 2) * sn) / span; // in about [-0.7, 0.7]
      const v = (k: number) => Math.min(255, Math.max(0, Math.round(base[k]! + 2 * t * slope[k]!)));
      c.set(x, y, [v(0), v(1), v(2)]);
    }
  }
  const n = rng.int(o.shapes[0], o.shapes[1]);
  for (let i = 0; i < n; i++)
    c.fill(randomShape(rng, c.width, c.height, o.shapeSize[0], o.shapeSize[1]), randomColour(rng));
}

/** Flat rectangles in the objects' size range: at low resolution they look like textured objects. */
export function drawDecoys(c: Canvas, rng: Rng, count: number, lo: number, hi: number): void {
  for (let i = 0; i < count; i++) {
    const w = rng.int(lo, hi);
    const h = rng.int(lo, hi);
    const x = rng.int(-Math.floor(w / 4), c.width - w + Math.floor(w / 4));
    const y = rng.int(-Math.floor(h / 4), c.height - h + Math.floor(h / 4));
    c.fill(rect(x, y, w, h), randomColour(rng, 20, 235));
  }
}
