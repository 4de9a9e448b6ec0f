/**
 * Task presets reproducing the reference pipelines (methods.md A3, B4). Sizes default to the reference values and are
 * configurable (small CPU experiments use e.g. 36/32-px classification sizes). Images stay uint8 and are not
 * normalised: the task networks normalise internally.
 */
import type { Transform } from "./compose.js";
import { compose, identity } from "./compose.js";
import { centerCrop } from "./crop.js";
import { hflip } from "./flip.js";
import { type PhotometricOptions, photometricDistort } from "./photometric.js";
import { resize } from "./resize.js";
import { resizedCropFlip } from "./resized_crop.js";
import { type ExpandOptions, expand, type IouCropOptions, iouCrop } from "./ssd.js";

export type Split = "train" | "eval";

export interface ClassificationPresetOptions {
  /** Short side after resizing (default 256). */
  resize?: number;
  /** Square crop (default 224): random in training, central in evaluation. */
  crop?: number;
  /** Flip probability in training (default 0.5). */
  hflip?: number;
}

/** Train: resize short side, random crop, flip. Eval: resize short side, centre crop. */
export function classificationPreset(split: Split, o: ClassificationPresetOptions = {}): Transform {
  const size = o.resize ?? 256;
  const crop = o.crop ?? 224;
  return split === "train"
    ? resizedCropFlip({ resize: size, crop, hflip: o.hflip ?? 0.5 })
    : compose([resize(size), centerCrop(crop)]);
}

export interface SegmentationPresetOptions {
  /** Short side after resizing (default 520). */
  resize?: number;
  /** Square training crop (default 480), padded at the bottom/right with 0 (image) / 255 (mask) when smaller. */
  crop?: number;
  hflip?: number;
}

/** Train: resize short side, padded random crop, flip. Eval: resize short side only (batch size 1). */
export function segmentationPreset(split: Split, o: SegmentationPresetOptions = {}): Transform {
  const size = o.resize ?? 520;
  return split === "train"
    ? resizedCropFlip({ resize: size, crop: o.crop ?? 480, padIfSmaller: true, hflip: o.hflip ?? 0.5 })
    : resize(size);
}

export interface DetectionPresetOptions {
  hflip?: number;
}

/** Train: flip only (full images; the batch is padded in collate). Eval: identity. */
export function detectionPreset(split: Split, o: DetectionPresetOptions = {}): Transform {
  return split === "train" ? hflip(o.hflip ?? 0.5) : identity;
}

export interface SsdPresetOptions {
  /** Network input side (default 300). */
  size?: number;
  photometric?: PhotometricOptions;
  expand?: ExpandOptions;
  iouCrop?: IouCropOptions;
  hflip?: number;
}

/** Train: photometric distortion, expand, IoU crop, flip, resize to size x size. Eval: resize only. */
export function ssdPreset(split: Split, o: SsdPresetOptions = {}): Transform {
  const size = o.size ?? 300;
  const toSize = resize({ width: size, height: size });
  return split === "train"
    ? compose([photometricDistort(o.photometric), expand(o.expand), iouCrop(o.iouCrop), hflip(o.hflip ?? 0.5), toSize])
    : toSize;
}

/** Options of the built-in task presets. */
export type PresetOptions = ClassificationPresetOptions & SegmentationPresetOptions & DetectionPresetOptions;
