/** Random and centre crops (torchvision `RandomCrop` / segmentation reference `pad_if_smaller` / `CenterCrop`). */
import { check } from "../../errors.js";
import type { Transform } from "./compose.js";
import { cropSample, type Fill, IGNORE_INDEX, type Window } from "./geometry.js";
import type { Rng } from "./rng.js";

export type CropSize = number | { width: number; height: number };

const dims = (size: CropSize): { width: number; height: number } => {
  const d = typeof size === "number" ? { width: size, height: size } : size;
  check(
    Number.isInteger(d.width) && Number.isInteger(d.height) && d.width > 0 && d.height > 0,
    () => `crop size must be positive integers, got ${JSON.stringify(size)}`,
    "E_CONFIG",
  );
  return d;
};

export interface RandomCropOptions {
  /**
   * Pad images smaller than the crop at the bottom/right first (image with `fill`, mask with `maskFill`), as the
   * segmentation reference does. Without it a smaller image is an error, as torchvision's RandomCrop.
   */
  padIfSmaller?: boolean;
  /** Image fill for padding (default 0). */
  fill?: Fill;
  /** Mask fill for padding (default 255 = ignore). */
  maskFill?: number;
}

/**
 * The random window of a `width` x `height` crop of an `imageWidth` x `imageHeight` image (padded at the right/bottom
 * first with `padIfSmaller`): one draw for y, then one for x.
 */
export function randomWindow(
  id: string,
  imageWidth: number,
  imageHeight: number,
  width: number,
  height: number,
  padIfSmaller: boolean,
  rng: Rng,
): Window {
  const w = padIfSmaller ? Math.max(imageWidth, width) : imageWidth;
  const h = padIfSmaller ? Math.max(imageHeight, height) : imageHeight;
  check(
    w >= width && h >= height,
    () => `sample ${id}: crop ${width}x${height} is larger than the image ${w}x${h} (use padIfSmaller)`,
  );
  const y = rng.int(0, h - height);
  const x = rng.int(0, w - width);
  return { x, y, width, height };
}

/** A crop at a uniformly random integer offset (one draw for x, one for y). */
export function randomCrop(size: CropSize, o: RandomCropOptions = {}): Transform {
  const { width, height } = dims(size);
  return (s, rng) => {
    const win = randomWindow(s.id, s.image.width, s.image.height, width, height, o.padIfSmaller ?? false, rng);
    return cropSample(s, win, o.fill ?? 0, o.maskFill ?? IGNORE_INDEX);
  };
}

/** Python's round(): half to even. */
const roundHalfEven = (v: number): number => {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
};

/**
 * The central crop; a side smaller than the crop is padded on both sides first (image 0, mask 255), the extra
 * pixel of an odd pad going right/bottom, as torchvision's CenterCrop.
 */
export function centerCrop(size: CropSize): Transform {
  const { width, height } = dims(size);
  const offset = (have: number, want: number) =>
    have >= want ? roundHalfEven((have - want) / 2) : -Math.floor((want - have) / 2);
  return (s) => cropSample(s, { x: offset(s.image.width, width), y: offset(s.image.height, height), width, height }, 0);
}
