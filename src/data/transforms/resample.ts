/**
 * Resampling of 8-bit HWC images with PIL's algorithms, because the reference pipelines (torchvision's
 * `Resize(antialias=True)` on PIL images, used by SR4IR) resize with PIL.
 *
 * Bilinear: separable convolution with a triangle kernel whose support widens by the reduction factor when
 * shrinking (this is the antialiasing), weights normalised per output pixel, quantised to 22-bit fixed point; the
 * horizontal pass runs first and is rounded to uint8 before the vertical pass, and a pass is skipped when its axis
 * keeps its size. Nearest: source index floor((dst + 0.5) * in / out), accumulated in double as PIL does.
 * Both follow PIL 12 and are checked bit-exactly against it on fixtures (test/data/transforms-resample.test.ts).
 */
import { check } from "../../errors.js";
import type { Image } from "../io/image.js";

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Per output index: first source index, tap count, and `ksize` fixed-point weights. */
interface Coeffs {
  start: Int32Array;
  count: Int32Array;
  ksize: number;
  weights: Float64Array;
}

const triangle = (x: number): number => {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
};

function coefficients(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle kernel has support 1
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    // C's (int) cast truncates toward zero; negative values are clamped to 0 right after, so trunc is enough.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let i = lo; i < hi; i++) {
      w[i - lo] = triangle((i - center + 0.5) / filterScale);
      total += w[i - lo]!;
    }
    for (let i = 0; i < hi - lo; i++) {
      const k = total === 0 ? w[i]! : w[i]! / total;
      // Round half away from zero, as PIL's normalize_coeffs_8bpc.
      weights[o * ksize + i] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, ksize, weights };
}

const clip8 = (acc: number): number => {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/** Resamples along x (`axis` 1) or y (`axis` 0). */
function pass(src: Uint8Array, w: number, h: number, c: number, axis: 0 | 1, out: number): Uint8Array {
  const k = coefficients(axis === 1 ? w : h, out);
  const ow = axis === 1 ? out : w;
  const oh = axis === 1 ? h : out;
  const dst = new Uint8Array(ow * oh * c);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const o = axis === 1 ? x : y;
      const lo = k.start[o]!;
      const n = k.count[o]!;
      const base = o * k.ksize;
      for (let ch = 0; ch < c; ch++) {
        let acc = HALF;
        if (axis === 1) {
          const row = y * w * c + ch;
          for (let i = 0; i < n; i++) acc += src[row + (lo + i) * c]! * k.weights[base + i]!;
        } else {
          const col = x * c + ch;
          for (let i = 0; i < n; i++) acc += src[(lo + i) * w * c + col]! * k.weights[base + i]!;
        }
        dst[(y * ow + x) * c + ch] = clip8(acc);
      }
    }
  }
  return dst;
}

function checkSize(width: number, height: number): void {
  check(
    Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0,
    () => `resize target must be positive integers, got ${width}x${height}`,
    "E_CONFIG",
  );
}

/** PIL `Image.resize((width, height), BILINEAR)` on an 8-bit image (antialiased when shrinking). */
export function resizeBilinear(img: Image, width: number, height: number): Image {
  checkSize(width, height);
  let data = img.data;
  if (width !== img.width) data = pass(data, img.width, img.height, img.channels, 1, width);
  if (height !== img.height) data = pass(data, width, img.height, img.channels, 0, height);
  return { data: data === img.data ? data.slice() : data, width, height, channels: img.channels };
}

/** Source indices of PIL's nearest resize along one axis. */
function nearestIndex(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const step = inSize / outSize;
  let pos = step * 0.5;
  for (let o = 0; o < outSize; o++) {
    idx[o] = Math.min(Math.floor(pos), inSize - 1);
    pos += step;
  }
  return idx;
}

/** PIL `resize(..., NEAREST)` of an HWC byte array with `channels` interleaved values per pixel. */
export function resizeNearest(
  src: Uint8Array,
  w: number,
  h: number,
  channels: number,
  width: number,
  height: number,
): Uint8Array {
  checkSize(width, height);
  if (width === w && height === h) return src.slice();
  const xs = nearestIndex(w, width);
  const ys = nearestIndex(h, height);
  const dst = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const row = ys[y]! * w;
    for (let x = 0; x < width; x++) {
      const s = (row + xs[x]!) * channels;
      const d = (y * width + x) * channels;
      for (let ch = 0; ch < channels; ch++) dst[d + ch] = src[s + ch]!;
    }
  }
  return dst;
}
