/**
 * Short-side resize, random crop (padded when smaller) and random flip as one step: the training presets of
 * classification and segmentation. The pixels are those of resize, randomCrop and hflip applied in turn, bit for
 * bit, and so are the random draws (crop y, crop x, then the flip), but one native pass resamples only the pixels
 * the crop keeps and writes them mirrored in place: a 480 crop of a 693x520 resize skips a third of the resampling
 * and the two intermediate images (whose allocations also drive the garbage collector of the data workers).
 */
import { pixels } from "../pixels.js";
import type { BoxTarget, MaskTarget, Sample, Target } from "../types.js";
import { compose, type Transform } from "./compose.js";
import { randomCrop, randomWindow } from "./crop.js";
import { hflip } from "./flip.js";
import { checkMaskAligned, IGNORE_INDEX } from "./geometry.js";
import { resize, shortSideSize } from "./resize.js";

export interface ResizedCropOptions {
  /** Short side after the resize. */
  resize: number;
  /** Square crop side. */
  crop: number;
  /** Pad a resized image smaller than the crop at the right/bottom (image 0, mask 255) instead of failing. */
  padIfSmaller?: boolean;
  /** Flip probability. */
  hflip: number;
}

export function resizedCropFlip(o: ResizedCropOptions): Transform {
  // Boxes go through the steps one by one (no preset here carries them); the draws are the same either way.
  const steps = compose([resize(o.resize), randomCrop(o.crop, { padIfSmaller: o.padIfSmaller }), hflip(o.hflip)]);
  const k = o.crop;
  return <T extends Target>(s: Sample<T>, rng: Parameters<Transform>[1]): Sample<T> => {
    if (s.target.kind === "boxes") return steps(s as Sample<BoxTarget>, rng) as Sample<T>;
    const { image } = s;
    const { width: rw, height: rh } = shortSideSize(image.width, image.height, o.resize);
    const { x, y } = randomWindow(s.id, rw, rh, k, k, o.padIfSmaller ?? false, rng);
    const flip = rng.bool(o.hflip);
    const px = pixels();
    const data = px.resizeWindow(
      image.data,
      image.width,
      image.height,
      image.channels,
      rw,
      rh,
      x,
      y,
      k,
      k,
      new Array<number>(image.channels).fill(0),
      flip,
      false,
    );
    let target: Target = s.target;
    if (s.target.kind === "mask") {
      checkMaskAligned(s);
      const m = s.target as MaskTarget;
      const mask = px.resizeWindow(m.mask, m.width, m.height, 1, rw, rh, x, y, k, k, [IGNORE_INDEX], flip, true);
      target = { kind: "mask", mask, width: k, height: k };
    }
    return { id: s.id, image: { data, width: k, height: k, channels: image.channels }, target: target as T };
  };
}
