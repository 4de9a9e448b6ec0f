/** Classification's data side: one class label per image, stacked images of one size, torchvision's presets. */
import { assembleClassification } from "../../data/loader/host_batch.js";
import { classificationPreset } from "../../data/transforms/presets.js";
import { defineTaskData } from "../data.js";
import { builtinTransformOptions } from "../presets.js";

export const classificationData = {
  name: "classification",
  padded: false,
  assemble: (samples, _o, arrays) => assembleClassification(samples, arrays),
  presets: { schema: builtinTransformOptions, build: classificationPreset, defaultCrop: 224 },
} satisfies Parameters<typeof defineTaskData>[0];

defineTaskData(classificationData);
