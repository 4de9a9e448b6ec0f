/**
 * The texture bank: small periodic ink patterns (1–2 px strokes, periods 2–4) that carry class identity in every
 * synthetic dataset. Each is unchanged by a horizontal flip up to a shift, so flip augmentation keeps the class,
 * and no two coincide under shifts. Period-2 patterns average to a flat colour under x4 bicubic downscaling; the
 * period-3 ones alias into faint coarse stripes and the ink fractions differ, which leaves low resolution a little
 * evidence.
 */

export interface Texture {
  name: string;
  /** Tile size; the pattern repeats with these periods. */
  width: number;
  height: number;
  /** width * height, 1 = ink. */
  ink: Uint8Array;
}

function texture(name: string, rows: readonly string[]): Texture {
  const width = rows[0]!.length;
  const ink = new Uint8Array(width * rows.length);
  rows.forEach((r, y) => {
    for (let x = 0; x < width; x++) ink[y * width + x] = r[x] === "#" ? 1 : 0;
  });
  return { name, width, height: rows.length, ink };
}

/** Ink at pixel (x, y) of the tiled pattern (any integers). */
export function inkAt(t: Texture, x: number, y: number): boolean {
  const tx = ((x % t.width) + t.width) % t.width;
  const ty = ((y % t.height) + t.height) % t.height;
  return t.ink[ty * t.width + tx] === 1;
}

/** Ink fraction of a texture. */
export const inkFraction = (t: Texture): number => t.ink.reduce((a, b) => a + b, 0) / t.ink.length;

export const TEXTURES: readonly Texture[] = [
  texture("vlines", ["#."]),
  texture("hlines", ["#", "."]),
  texture("checker", ["#.", ".#"]),
  texture("dots", ["#.", ".."]),
  texture("grid", ["##", "#."]),
  texture("vlines3", ["#.."]),
  texture("hlines3", ["#", ".", "."]),
  texture("grid3", [".#.", "###", ".#."]),
  texture("dots3", ["#..", "...", "..."]),
  texture("rings", [".##.", "#..#", "#..#", ".##."]),
];

/**
 * The order segmentation and detection take their classes in: three period-2 textures that x4 LR shows as flat
 * colour, then two period-3 ones whose aliasing leaves LR a coarse trace, then the rest.
 */
export const REGION_TEXTURES: readonly Texture[] = [
  "vlines",
  "hlines",
  "checker",
  "vlines3",
  "grid3",
  "dots",
  "grid",
  "hlines3",
  "dots3",
  "rings",
].map((name) => TEXTURES.find((t) => t.name === name)!);
