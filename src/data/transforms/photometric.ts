/**
 * SSD photometric distortion (the reference SSD300 augmentation, methods.md B4): random brightness, then contrast either
 * before or after random saturation and hue (in HSV), then a random channel permutation. Each step happens with
 * probability 1/2. Colours are RGB here (the reference works in BGR; the set of operations is symmetric).
 *
 * Differences from the reference, chosen so every step is well defined on 8-bit images: values are clamped to
 * [0, 255] before the HSV conversion and saturation is clamped to [0, 1] (the reference lets both leave their
 * range), and the result is rounded to uint8 (the reference keeps float32 until the network).
 */
import { check } from "../../errors.js";
import type { Transform } from "./compose.js";
import type { Rng } from "./rng.js";

export interface PhotometricOptions {
  /** Brightness offset drawn from [-delta, delta] in 0..255 units (default 32). */
  brightness?: number;
  /** Contrast factor range (default [0.5, 1.5]). */
  contrast?: readonly [number, number];
  /** Saturation factor range (default [0.5, 1.5]). */
  saturation?: readonly [number, number];
  /** Hue shift drawn from [-delta, delta] degrees (default 18). */
  hue?: number;
  /** Randomly permute the colour channels (default true, as the reference's "lighting noise"). */
  channelSwap?: boolean;
}

const PERMUTATIONS = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
] as const;

/** The random choices of one call, drawn up front so the number of draws never depends on the image. */
interface Plan {
  brightness: number | undefined;
  contrastFirst: boolean;
  contrast: number | undefined;
  saturation: number | undefined;
  hue: number | undefined;
  perm: readonly [number, number, number] | undefined;
}

function plan(rng: Rng, o: Required<PhotometricOptions>): Plan {
  const maybe = (draw: () => number) => {
    const on = rng.bool();
    const v = draw();
    return on ? v : undefined;
  };
  return {
    brightness: maybe(() => rng.uniform(-o.brightness, o.brightness)),
    contrastFirst: rng.bool(),
    contrast: maybe(() => rng.uniform(o.contrast[0], o.contrast[1])),
    saturation: maybe(() => rng.uniform(o.saturation[0], o.saturation[1])),
    hue: maybe(() => rng.uniform(-o.hue, o.hue)),
    perm: o.channelSwap
      ? (() => {
          const p = maybe(() => Math.floor(rng.next() * PERMUTATIONS.length));
          return p === undefined ? undefined : PERMUTATIONS[p];
        })()
      : undefined,
  };
}

const clamp255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** In-place saturation scale and hue shift of one RGB pixel in [0, 255] (HSV with H in degrees). */
function hsvAdjust(px: Float32Array, i: number, sat: number, hue: number): void {
  const r = clamp255(px[i]!);
  const g = clamp255(px[i + 1]!);
  const b = clamp255(px[i + 2]!);
  const v = Math.max(r, g, b);
  const c = v - Math.min(r, g, b);
  let s = v === 0 ? 0 : c / v;
  let h = 0;
  if (c > 0) {
    if (v === r) h = (60 * (g - b)) / c;
    else if (v === g) h = 120 + (60 * (b - r)) / c;
    else h = 240 + (60 * (r - g)) / c;
  }
  s = Math.min(Math.max(s * sat, 0), 1);
  h = (((h + hue) % 360) + 360) % 360;
  const cc = v * s;
  const hp = h / 60;
  const x = cc * (1 - Math.abs((hp % 2) - 1));
  const m = v - cc;
  const sector = Math.floor(hp) % 6;
  const rgb =
    sector === 0
      ? [cc, x, 0]
      : sector === 1
        ? [x, cc, 0]
        : sector === 2
          ? [0, cc, x]
          : sector === 3
            ? [0, x, cc]
            : sector === 4
              ? [x, 0, cc]
              : [cc, 0, x];
  px[i] = rgb[0]! + m;
  px[i + 1] = rgb[1]! + m;
  px[i + 2] = rgb[2]! + m;
}

/** SSD-style photometric distortion of RGB images (grey images get brightness and contrast only). */
export function photometricDistort(options: PhotometricOptions = {}): Transform {
  const o: Required<PhotometricOptions> = {
    brightness: options.brightness ?? 32,
    contrast: options.contrast ?? [0.5, 1.5],
    saturation: options.saturation ?? [0.5, 1.5],
    hue: options.hue ?? 18,
    channelSwap: options.channelSwap ?? true,
  };
  check(o.contrast[0] <= o.contrast[1] && o.saturation[0] <= o.saturation[1], () => "empty factor range", "E_CONFIG");
  return (s, rng) => {
    const p = plan(rng, o);
    const { image } = s;
    const px = Float32Array.from(image.data);
    const n = px.length;
    if (p.brightness !== undefined) for (let i = 0; i < n; i++) px[i] = px[i]! + p.brightness;
    if (p.contrastFirst && p.contrast !== undefined) for (let i = 0; i < n; i++) px[i] = px[i]! * p.contrast;
    if (image.channels === 3 && (p.saturation !== undefined || p.hue !== undefined)) {
      for (let i = 0; i < n; i += 3) hsvAdjust(px, i, p.saturation ?? 1, p.hue ?? 0);
    }
    if (!p.contrastFirst && p.contrast !== undefined) for (let i = 0; i < n; i++) px[i] = px[i]! * p.contrast;
    const out = new Uint8Array(n);
    const perm = image.channels === 3 ? (p.perm ?? PERMUTATIONS[0]) : undefined;
    for (let i = 0; i < n; i += image.channels) {
      for (let c = 0; c < image.channels; c++) {
        out[i + c] = Math.round(clamp255(px[i + (perm === undefined ? c : perm[c]!)]!));
      }
    }
    return { ...s, image: { ...image, data: out } };
  };
}
