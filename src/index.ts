/** tasksr: task-driven super-resolution toolkit (Node public API). */

export {
  ensureSynthetic,
  generateSynthetic,
  SYNTHETIC_MANIFEST,
  SYNTHETIC_VERSION,
  type SyntheticDataset,
  type SyntheticDatasetConfig,
  type SyntheticOptionsByTask,
  type SyntheticTask,
  syntheticTasks,
} from "./data/synthetic/index.js";
export { type CreateUpscalerOptions, createUpscaler, OnnxUpscaler } from "./deploy.js";
export * from "./engine/index.js";
export { type ErrorCode, ErrorCodes, TasksrError } from "./errors.js";
export { type ExportOptions, type ExportResult, exportOnnx } from "./export/onnx.js";
export { exportPipeline } from "./export/pipeline.js";
export * as nn from "./nn/index.js";
