/** Segmentation's data side: a class index per pixel (255 = ignore), in shared buffers; torchvision's presets. */
import { assembleSegmentation } from "../../data/loader/host_batch.js";
import { segmentationPreset } from "../../data/transforms/presets.js";
import { defineTaskData } from "../data.js";
import { builtinTransformOptions } from "../presets.js";

export const segmentationData = {
  name: "segmentation",
  padded: false,
  assemble: (samples, _o, arrays) => assembleSegmentation(samples, arrays),
  presets: { schema: builtinTransformOptions, build: segmentationPreset, defaultCrop: 480 },
} satisfies Parameters<typeof defineTaskData>[0];

defineTaskData(segmentationData);
