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
export * from "./engine/index.js";
export { type ErrorCode, ErrorCodes, TasksrError } from "./errors.js";
export * as nn from "./nn/index.js";
