/**
 * Detection's data side: boxes and labels per image, whole images padded per batch to a multiple of the SR scale,
 * the flip-only preset of torchvision's detection reference.
 */
import { assembleDetection } from "../../data/loader/host_batch.js";
import { detectionPreset } from "../../data/transforms/presets.js";
import { defineTaskData } from "../data.js";
import { builtinTransformOptions } from "../presets.js";

export const detectionData = {
  name: "detection",
  padded: true,
  assemble: (samples, o, arrays) => assembleDetection(samples, o, arrays),
  presets: { schema: builtinTransformOptions, build: detectionPreset },
} satisfies Parameters<typeof defineTaskData>[0];

defineTaskData(detectionData);
