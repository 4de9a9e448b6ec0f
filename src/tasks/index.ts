/** Registers the built-in tasks (classification, segmentation, detection) and exposes the task registries. */
import "./classification/index.js";
import "./segmentation/index.js";
import "./detection/index.js";

export * from "./adapter.js";
export * from "./data.js";
export * from "./registry.js";
