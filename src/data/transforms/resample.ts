/**
 * Resampling of 8-bit HWC images with PIL's algorithms, because the reference pipelines (torchvision's
 * `Resize(antialias=True)` on PIL images, used by SR4IR) resize with PIL.
 *
 * Bilinear: separable convolution with a triangle kernel whose support widens by the reduction factor when
 * shrinking (this is the antialiasing), weights normalised per output pixel, quantised to 22-bit fixed point; the
 * horizontal pass runs first and is rounded to uint8 before the vertical pass, and a pass is skipped when its axis
 * keeps its size. Nearest: source index floor((dst + 0.5) * in / out), accumulated in double as PIL does.
 * The kernels are native (native/image/image.cc: a JS loop cost 60 ms per 640x480 image, 40 % of the input
 * pipeline) and checked bit-exactly against PIL 12 on fixtures (test/data/transforms-resample.test.ts).
 */
import { check } from "../../errors.js";
import type { Image } from "../io/image.js";
import { pixels } from "../pixels.js";

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
  const data = pixels().resizeBilinear(img.data, img.width, img.height, img.channels, width, height);
  return { data, width, height, channels: img.channels };
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
  return pixels().resizeNearest(src, w, h, channels, width, height);
}
