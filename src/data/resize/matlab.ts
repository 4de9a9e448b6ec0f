/**
 * MATLAB `imresize(img, scale, 'bicubic')` for uint8 images, bit-exact with MATLAB (and with the LR files of the
 * standard SR benchmarks): Keys cubic kernel with a = -0.5, kernel widened by 1/scale when shrinking
 * (antialiasing), symmetric (mirror) borders, output size ceil(in * scale), and the two 1-D passes done one after the
 * other, height first, each rounded to uint8 (MATLAB rounds half away from zero and saturates).
 */
import { check } from "../../errors.js";
import type { Image } from "../io/image.js";

/** Keys cubic convolution kernel with a = -0.5 (MATLAB's "bicubic"). */
function cubic(x: number): number {
  const a = Math.abs(x);
  const a2 = a * a;
  const a3 = a2 * a;
  if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
  if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
  return 0;
}

interface Taps {
  /** [outLen * width] source indices (0-based, already mirrored into range). */
  index: Int32Array;
  /** [outLen * width] normalised weights. */
  weight: Float64Array;
  width: number;
}

/** Per-output-pixel taps along one dimension, as MATLAB's contributions(). */
function contributions(inLen: number, outLen: number, scale: number, antialias: boolean): Taps {
  const shrink = scale < 1 && antialias;
  const kernelWidth = shrink ? 4 / scale : 4;
  const p = Math.ceil(kernelWidth) + 2;
  const rawIdx = new Float64Array(outLen * p);
  const rawW = new Float64Array(outLen * p);
  for (let o = 0; o < outLen; o++) {
    // 1-based output coordinate mapped to the 1-based input coordinate (pixel centres aligned).
    const u = (o + 1) / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kernelWidth / 2);
    let sum = 0;
    for (let k = 0; k < p; k++) {
      const idx = left + k;
      const d = u - idx;
      const w = shrink ? scale * cubic(d * scale) : cubic(d);
      rawIdx[o * p + k] = idx;
      rawW[o * p + k] = w;
      sum += w;
    }
    for (let k = 0; k < p; k++) rawW[o * p + k]! /= sum;
  }
  // MATLAB drops leading/trailing tap columns whose weights are all zero.
  const columnIsZero = (k: number) => {
    for (let o = 0; o < outLen; o++) if (rawW[o * p + k] !== 0) return false;
    return true;
  };
  let first = 0;
  let last = p - 1;
  while (first < last && columnIsZero(first)) first++;
  while (last > first && columnIsZero(last)) last--;
  const width = last - first + 1;
  const index = new Int32Array(outLen * width);
  const weight = new Float64Array(outLen * width);
  const period = 2 * inLen;
  for (let o = 0; o < outLen; o++) {
    for (let k = 0; k < width; k++) {
      // Symmetric border: the sequence 1..n, n..1 repeated (edge pixels repeated).
      const one = rawIdx[o * p + first + k]!;
      const m = ((((one - 1) % period) + period) % period) + 1;
      index[o * width + k] = (m <= inLen ? m : period - m + 1) - 1;
      weight[o * width + k] = rawW[o * p + first + k]!;
    }
  }
  return { index, weight, width };
}

/** MATLAB's uint8 conversion: round half away from zero, saturate. */
const toUint8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5));

function resizeHeight(src: Image, outH: number, taps: Taps): Image {
  const { width: W, channels: C } = src;
  const rowLen = W * C;
  const out = new Uint8Array(outH * rowLen);
  const acc = new Float64Array(rowLen);
  for (let o = 0; o < outH; o++) {
    acc.fill(0);
    for (let k = 0; k < taps.width; k++) {
      const w = taps.weight[o * taps.width + k]!;
      const base = taps.index[o * taps.width + k]! * rowLen;
      for (let j = 0; j < rowLen; j++) acc[j]! += w * src.data[base + j]!;
    }
    for (let j = 0; j < rowLen; j++) out[o * rowLen + j] = toUint8(acc[j]!);
  }
  return { data: out, width: W, height: outH, channels: C };
}

function resizeWidth(src: Image, outW: number, taps: Taps): Image {
  const { height: H, width: W, channels: C } = src;
  const out = new Uint8Array(H * outW * C);
  for (let y = 0; y < H; y++) {
    const row = y * W * C;
    for (let o = 0; o < outW; o++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < taps.width; k++) {
          acc += taps.weight[o * taps.width + k]! * src.data[row + taps.index[o * taps.width + k]! * C + c]!;
        }
        out[(y * outW + o) * C + c] = toUint8(acc);
      }
    }
  }
  return { data: out, width: outW, height: H, channels: C };
}

/**
 * Resizes by `scale` (e.g. 1/4 to shrink, 4 to enlarge) exactly as MATLAB imresize(..., 'bicubic') on uint8.
 * Output size is ceil(H * scale) x ceil(W * scale).
 */
export function imresizeMatlab(img: Image, scale: number, o: { antialias?: boolean } = {}): Image {
  check(scale > 0 && Number.isFinite(scale), () => `imresizeMatlab: scale must be a positive number, got ${scale}`);
  const antialias = o.antialias ?? true;
  const outH = Math.ceil(img.height * scale);
  const outW = Math.ceil(img.width * scale);
  const th = contributions(img.height, outH, scale, antialias);
  const tw = contributions(img.width, outW, scale, antialias);
  return resizeWidth(resizeHeight(img, outH, th), outW, tw);
}

/** Crops the top-left H - H mod s by W - W mod s region (the SR benchmarks' "modcrop"). */
export function modcrop(img: Image, s: number): Image {
  const h = img.height - (img.height % s);
  const w = img.width - (img.width % s);
  if (h === img.height && w === img.width) return img;
  const out = new Uint8Array(h * w * img.channels);
  const rowIn = img.width * img.channels;
  const rowOut = w * img.channels;
  for (let y = 0; y < h; y++) out.set(img.data.subarray(y * rowIn, y * rowIn + rowOut), y * rowOut);
  return { data: out, width: w, height: h, channels: img.channels };
}
