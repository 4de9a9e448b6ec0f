/**
 * The pixel-kernel addon of the input pipeline (build/Release/tasksr_image.node, native/image/image.cc): JPEG and
 * index-PNG decoding, PIL-exact resampling and flips, conversion to planar float. It holds no state and needs no
 * libtorch, so data worker threads load it as well as the main thread. Loaded on first use.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TasksrError } from "../errors.js";

export interface PixelKernels {
  /** [h, w, c] -> [outH, outW, c], PIL bilinear (antialiased when shrinking). */
  resizeBilinear(src: Uint8Array, w: number, h: number, c: number, outW: number, outH: number): Uint8Array;
  /** [h, w, c] -> [outH, outW, c], PIL nearest. */
  resizeNearest(src: Uint8Array, w: number, h: number, c: number, outW: number, outH: number): Uint8Array;
  /**
   * Decodes a JPEG with libjpeg-turbo on the thread pool: RGB, or 1 channel when `grey` and the file is grey;
   * undefined for CMYK/YCCK files. Rejects damaged or truncated files.
   */
  decodeJpeg(
    bytes: Uint8Array,
    grey: boolean,
  ): Promise<{ data: Uint8Array; width: number; height: number; channels: 1 | 3 } | undefined>;
  /**
   * A non-interlaced grey or palette PNG of 1-8 bits as one byte per pixel (its indices); undefined for any other
   * PNG. Throws on a wrong signature, a CRC mismatch or damaged image data.
   */
  decodeIndexPng(bytes: Uint8Array): { data: Uint8Array; width: number; height: number } | undefined;
  /**
   * The window (x, y, winW, winH) of [h, w, c] resized to outW x outH (PIL bilinear, or nearest), pixels outside the
   * resized image set to `fill` (per channel), mirrored when `flip`: bit-equal to resize, crop, flip in turn.
   */
  resizeWindow(
    src: Uint8Array,
    w: number,
    h: number,
    c: number,
    outW: number,
    outH: number,
    x: number,
    y: number,
    winW: number,
    winH: number,
    fill: readonly number[],
    flip: boolean,
    nearest: boolean,
  ): Uint8Array;
  /** [h, w, c] mirrored left-right. */
  flipHorizontal(src: Uint8Array, w: number, h: number, c: number): Uint8Array;
  /** Index of the first byte >= limit other than `except`, or -1. */
  firstOutOfRange(data: Uint8Array, limit: number, except: number): number;
  /**
   * [h, w, c] bytes (c = 1 or 3) -> [3, outH, outW] float32 value / 255 written at `dst[offset..]` (bit-equal to the
   * engine's float().div(255)); grey fills all three planes; outW >= w and outH >= h pad at the right and bottom.
   */
  toPlanarFloat(
    src: Uint8Array,
    w: number,
    h: number,
    c: number,
    dst: Float32Array,
    offset: number,
    outW: number,
    outH: number,
    mode: "reflect" | "replicate",
  ): void;
}

/** Absolute path of the compiled addon inside this package. */
export const pixelAddonPath = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "build",
  "Release",
  "tasksr_image.node",
);

let kernels: PixelKernels | undefined;

export function pixels(): PixelKernels {
  if (kernels) return kernels;
  if (!existsSync(pixelAddonPath)) {
    throw new TasksrError(
      "E_NATIVE_MISSING",
      `the pixel kernels are not built (${pixelAddonPath} does not exist). Run \`npm run setup\` in the tasksr ` +
        "folder (it builds both native addons), or `tasksr doctor` to see what is missing",
    );
  }
  try {
    kernels = createRequire(import.meta.url)(pixelAddonPath) as PixelKernels;
  } catch (err) {
    throw new TasksrError(
      "E_NATIVE_MISSING",
      `the pixel kernels at ${pixelAddonPath} failed to load: ${(err as Error).message}; rebuild with ` +
        "`node scripts/build-native.mjs --force`",
      { cause: err },
    );
  }
  return kernels;
}
