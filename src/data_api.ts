/**
 * `tasksr/data`: what a plug-in's worker module (src/plugins.ts) may use without loading the engine: the dataset and
 * task-data registries, samples and host batches, the random streams and the built-in transforms.
 */
export { type DatasetType, datasetTypes, defineDataset } from "./data/datasets/registry.js";
export type { Image } from "./data/io/image.js";
export type { ArraySource, AssembleOptions, HostBatch } from "./data/loader/host_batch.js";
export type { Transform } from "./data/transforms/compose.js";
export * as transforms from "./data/transforms/index.js";
export type { Split } from "./data/transforms/presets.js";
export { Rng } from "./data/transforms/rng.js";
export type { Dataset, Sample, Target } from "./data/types.js";
export { type ErrorCode, TasksrError } from "./errors.js";
export { defineTaskData, getTaskData, presetFor, type TaskData } from "./tasks/builtin_data.js";
