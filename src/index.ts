/** tasksr: task-driven super-resolution toolkit (Node public API). */

// Extending tasksr (docs/extending.md): the registries plug-ins register through, and the types they implement.
export type { Image } from "./data/io/image.js";
export {
  type Batch,
  type CollateOptions,
  cropBack,
  disposeBatch,
  imagesToTensor,
  toDevice,
} from "./data/loader/collate.js";
export type { ArraySource, AssembleOptions, HostBatch } from "./data/loader/host_batch.js";
export type { SharedImages } from "./data/loader/shared_arrays.js";
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
export * from "./data_api.js";
export { type CreateUpscalerOptions, createUpscaler, OnnxUpscaler } from "./deploy.js";
export * from "./engine/index.js";
export { type ErrorCode, ErrorCodes, TasksrError } from "./errors.js";
export { type ExportOptions, type ExportResult, exportOnnx } from "./export/onnx.js";
export { exportPipeline } from "./export/pipeline.js";
export { definePixelLoss, getPixelLoss, listPixelLosses, type PixelLossEntry } from "./losses/pixel.js";
export { type ArchEntry, type ArchKind, buildArch, defineArch, getArch, listArchs } from "./models/registry.js";
export type { SrNetwork, TaskNetwork, WithTaps } from "./models/types.js";
export * as nn from "./nn/index.js";
export { loadPlugins } from "./plugins.js";
export type { GridCell } from "./report/draw.js";
export {
  type DrawContext,
  type Drawn,
  defineTask,
  expectBatch,
  getTask,
  hasTask,
  type LossTerms,
  listTasks,
  type ParamGroup as TaskParamGroup,
  type TaskAdapter,
  type TaskDef,
  type TaskEvaluator,
  type TaskExportHead,
  type TaskVisual,
} from "./tasks/index.js";
export {
  defineRecipe,
  getRecipe,
  listRecipes,
  type RecipeDef,
  type RecipeLink,
  type RecipeNets,
} from "./train/recipes/index.js";
export type { Recipe, RecipeContext, StepValues } from "./train/recipes/types.js";
