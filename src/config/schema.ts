/**
 * The run configuration, validated once at load time. Unknown keys are errors (strict objects); defaults are the
 * papers' values (methods.md A6–A10, B2, F). Nested option blocks of registries (datasets, architectures) are
 * validated against their own schemas by `validateRun` with the same error format.
 */
import { z } from "zod";
import { degradeSchema } from "../data/degrade/pipeline.js";
import { hasTask, listTasks } from "../tasks/registry.js";
import { getRecipe, hasRecipe, listRecipes } from "../train/recipes/registry.js";
import type { BuiltinRecipeConfig } from "../train/recipes/types.js";
import { count, durationUnit, positive } from "./fields.js";
import { FolderName } from "./name.js";

/** Architecture + options + optional weights file. */
export const NetConfig = z.strictObject({
  arch: z.string(),
  options: z.record(z.string(), z.unknown()).default({}),
  /** safetensors or PyTorch .pth file; for SR4IR-style inits (DIV2K EDSR, ImageNet backbone). */
  weights: z.string().optional(),
  /** Key holding the state dict inside a checkpoint (e.g. "params", "state_dict", "model"). */
  weightsKey: z.string().optional(),
  /** Load weights non-strictly (e.g. ImageNet ResNet into a 196-class head: the fc layer is skipped). */
  strict: z.boolean().default(true),
});
export type NetConfig = z.output<typeof NetConfig>;

export const OptimConfig = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("sgd"),
    lr: positive,
    momentum: z.number().min(0).default(0.9),
    weightDecay: z.number().min(0).default(0),
    nesterov: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal("adam"),
    lr: positive,
    betas: z.tuple([z.number(), z.number()]).default([0.9, 0.999]),
    eps: positive.default(1e-8),
    weightDecay: z.number().min(0).default(0),
  }),
  z.strictObject({
    type: z.literal("adamw"),
    lr: positive,
    betas: z.tuple([z.number(), z.number()]).default([0.9, 0.999]),
    eps: positive.default(1e-8),
    weightDecay: z.number().min(0).default(0),
  }),
]);
export type OptimConfig = z.output<typeof OptimConfig>;

export const ScheduleConfig = z.strictObject({
  type: z.enum(["constant", "cosine", "cosine-restart", "multistep"]).default("constant"),
  /** cosine: [T_max]; cosine-restart: the periods (BasicSR CosineAnnealingRestartLR). */
  periods: z.array(positive).optional(),
  etaMin: z.number().min(0).default(0),
  milestones: z.array(positive).optional(),
  gamma: positive.default(0.1),
  unit: durationUnit,
  /** Linear warm-up before the schedule (SR4IR det: one epoch from factor 1/iters to 1). */
  warmup: z.strictObject({ length: positive, unit: durationUnit, startFactor: positive.max(1).optional() }).optional(),
});
export type ScheduleConfig = z.output<typeof ScheduleConfig>;

/**
 * The recipe block: `name` picks a registered recipe (src/train/recipes/registry.ts), whose own schema validates the
 * rest, at parse time, so recipes registered by plug-ins validate like the built-in ones. The type is the built-in
 * recipes' configs; a plug-in recipe receives its block typed by its schema in `check` and `build`.
 */
export const RecipeConfig = z.looseObject({ name: z.string() }).transform((v, ctx): BuiltinRecipeConfig => {
  if (!hasRecipe(v.name)) {
    const known = listRecipes().map((r) => r.name);
    ctx.addIssue({ code: "custom", path: ["name"], message: `unknown recipe "${v.name}"; known: ${known.join(", ")}` });
    return z.NEVER;
  }
  const parsed = getRecipe(v.name).schema.safeParse(v);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue });
    return z.NEVER;
  }
  return parsed.data as BuiltinRecipeConfig;
});
export type RecipeConfig = BuiltinRecipeConfig;
export type RecipeName = RecipeConfig["name"];

/** LR synthesis (A4, B5): the degradation pipeline's own options; its scale and seed come from the run. */
export const DegradeConfig = degradeSchema.omit({ scale: true, seed: true });
export type DegradeConfig = z.output<typeof DegradeConfig>;

/** A dataset block: `type` names a dataset in the registry; the other keys are its options. */
export const DatasetConfig = z.looseObject({ type: z.string() });

export const DataConfig = z.strictObject({
  train: DatasetConfig,
  val: DatasetConfig,
  /** Transform preset options (sizes); presets reproduce A3 by default. */
  transforms: z.record(z.string(), z.unknown()).default({}),
  /** Background batches in flight (per worker thread with workers). */
  prefetch: z.number().int().min(0).default(2),
  /**
   * Worker threads that decode, augment and assemble batches off the main thread (data.md); 0 loads on the main
   * thread. Default: cores per process - 1. Batches are the same for any value, so it is left out of the config hash
   * and may change on resume.
   */
  workers: z.number().int().min(0).optional(),
  /** Use a fixed random subset of this many training images (seeded by train.seed), for quick runs. */
  trainLimit: count.optional(),
  /**
   * Use a fixed random subset of this many validation images (the same for every run, whatever its seed), so that
   * class-sorted folders are not cut to their first classes.
   */
  valLimit: count.optional(),
});

export const TrainConfig = z.strictObject({
  epochs: count,
  batchSize: count,
  /** Cap on iterations per epoch (SR4IR forks cap long epochs); default: the whole dataset. */
  itersPerEpoch: count.optional(),
  evalEvery: count.default(1),
  saveEvery: count.default(1),
  logEvery: count.default(20),
  gradAccum: count.default(1),
  amp: z.enum(["off", "bf16", "fp16"]).default("off"),
  seed: z.number().int().min(0).default(0),
  dropLast: z.boolean().default(true),
  /**
   * Distributed training: normalise training batches with BatchNorm statistics over every process's batch
   * (torch.nn.SyncBatchNorm; SR4IR's segmentation setting). No effect in one process. Optional without a default,
   * like findUnusedParameters, so that configs written before them keep their hash.
   */
  syncBatchNorm: z.boolean().optional(),
  /** Distributed training: allow trained parameters that get no gradient in a step (DDP's find_unused_parameters). */
  findUnusedParameters: z.boolean().optional(),
});

export const EvalConfig = z.strictObject({
  batchSize: count.default(16),
  psnr: z.array(z.enum(["sr4ir", "basicsr"])).default(["sr4ir", "basicsr"]),
  ssim: z.boolean().default(true),
  /**
   * LPIPS v0.1 of the SR output against HR as SR4IR reports it (VGG by default, 8-bit SR, crop 8; src/metrics/lpips.ts),
   * from the user's weight files (paths relative to the config's folder): torchvision's alexnet/vgg16 weights and the
   * lpips package's v0.1 linear layers. Optional without a default, so configs written before it keep their hash.
   */
  lpips: z
    .strictObject({ net: z.enum(["alex", "vgg"]).default("vgg"), backbone: z.string(), lin: z.string() })
    .optional(),
  /** Evaluate at most this many validation images, the first of the (valLimit) subset (quick runs). */
  limit: count.optional(),
});

export const RunConfig = z.strictObject({
  name: FolderName,
  /**
   * Modules that register tasks, recipes, losses, architectures or datasets (src/plugins.ts), paths relative to the
   * config's folder; loaded before the rest of the config is validated. Optional without a default, so configs
   * written before it keep their hash.
   */
  plugins: z.array(z.string()).optional(),
  /** A registered task (classification, segmentation, detection, or a plug-in's), checked at parse time. */
  task: z.string().superRefine((name, ctx) => {
    if (!hasTask(name)) {
      const known = listTasks().map((t) => t.name);
      ctx.addIssue({ code: "custom", message: `unknown task "${name}"; known: ${known.join(", ")}` });
    }
  }),
  scale: z.union([z.literal(2), z.literal(3), z.literal(4), z.literal(8)]),
  device: z.string().default("auto"),
  data: DataConfig,
  degrade: DegradeConfig.default({ method: "torch-bicubic" }),
  sr: NetConfig.optional(),
  taskNet: NetConfig,
  recipe: RecipeConfig,
  optim: z.strictObject({ sr: OptimConfig.optional(), task: OptimConfig.optional() }).default({}),
  schedule: z.strictObject({ sr: ScheduleConfig.optional(), task: ScheduleConfig.optional() }).default({}),
  train: TrainConfig,
  eval: EvalConfig.default({ batchSize: 16, psnr: ["sr4ir", "basicsr"], ssim: true }),
});
export type RunConfig = z.output<typeof RunConfig>;
export type RunConfigInput = z.input<typeof RunConfig>;
