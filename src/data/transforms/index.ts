/** Sample transforms: geometric and photometric augmentation that keeps targets aligned, plus task presets. */
export { compose, identity, type Transform } from "./compose.js";
export { type CropSize, centerCrop, type RandomCropOptions, randomCrop } from "./crop.js";
export { hflip } from "./flip.js";
export { cropSample, type Fill, flipSample, IGNORE_INDEX, resizeSample, type Window } from "./geometry.js";
export { type PhotometricOptions, photometricDistort } from "./photometric.js";
export * from "./presets.js";
export { resizeBilinear, resizeNearest } from "./resample.js";
export { resize, shortSideSize } from "./resize.js";
export { Rng } from "./rng.js";
export { type ExpandOptions, expand, type IouCropOptions, iouCrop, SSD_MEAN_RGB } from "./ssd.js";
