/**
 * Dataset types by name, so configs can say `{ type: voc-det, root: datasets/VOC2012, split: train }`.
 * Each type validates its options with its zod schema (unknown keys are errors with their path); relative paths
 * in a config are taken from the config file's folder (`baseDir`).
 */
import { isAbsolute, resolve } from "node:path";
import type { z } from "zod";
import { TasksrError } from "../../errors.js";
import { describeDataset } from "../describe.js";
import type { Dataset } from "../types.js";
import { CocoDetection, cocoDetectionSchema } from "./coco_detection.js";
import { CocoSemantic, cocoSemanticSchema } from "./coco_semantic.js";
import { IdxDataset, idxSchema } from "./idx.js";
import { ImageFolder, imageFolderSchema } from "./image_folder.js";
import { VocDetection, vocDetectionSchema } from "./voc_detection.js";
import { VocSegmentation, vocSegmentationSchema } from "./voc_segmentation.js";
import { YoloDetection, yoloSchema } from "./yolo.js";

export interface DatasetType {
  schema: z.ZodObject;
  /** Option keys holding file or folder paths, resolved from the config's folder (a string `classes` is a file too). */
  paths: readonly string[];
  /** Opens the dataset from its options (the config block without `type`); `where` names the block in errors. */
  open(options: Record<string, unknown>, where: string): Promise<Dataset>;
}

// The option objects are validated by each open(); the casts only hand over the already-checked config record.
const TYPES: Record<string, DatasetType> = {
  "image-folder": {
    schema: imageFolderSchema,
    paths: ["root"],
    open: (o, w) => ImageFolder.open(o as never, w),
  },
  idx: { schema: idxSchema, paths: ["root"], open: (o, w) => IdxDataset.open(o as never, w) },
  "voc-seg": {
    schema: vocSegmentationSchema,
    paths: ["root"],
    open: (o, w) => VocSegmentation.open(o as never, w),
  },
  "coco-semantic": {
    schema: cocoSemanticSchema,
    paths: ["root", "images", "masks", "panoptic", "categories"],
    open: (o, w) => CocoSemantic.open(o as never, w),
  },
  "voc-det": { schema: vocDetectionSchema, paths: ["root"], open: (o, w) => VocDetection.open(o as never, w) },
  "coco-det": {
    schema: cocoDetectionSchema,
    paths: ["root", "images", "annotations"],
    open: (o, w) => CocoDetection.open(o as never, w),
  },
  yolo: {
    schema: yoloSchema,
    paths: ["root", "images", "labels", "classes"],
    open: (o, w) => YoloDetection.open(o as never, w),
  },
};

/**
 * Registers a dataset type for configs (`data.train: { type: <name>, ... }`). A plug-in whose loaders use data
 * worker threads registers it in its engine-free worker module (src/plugins.ts), which the workers import too.
 */
export function defineDataset(name: string, t: DatasetType): void {
  if (Object.hasOwn(TYPES, name)) throw new TasksrError("E_CONFIG", `dataset type "${name}" is defined twice`);
  TYPES[name] = t;
}

/** Names accepted as `type`. */
export const datasetTypes = (): string[] => Object.keys(TYPES).sort();

/** The option schema of a dataset type (for config schemas and editor hints). */
export function datasetSchema(type: string): z.ZodObject {
  return lookup(type, "dataset").schema;
}

function lookup(type: string, where: string): DatasetType {
  const t = Object.hasOwn(TYPES, type) ? TYPES[type] : undefined;
  if (t === undefined) {
    throw new TasksrError(
      "E_UNKNOWN_NAME",
      `${where}.type: unknown dataset type "${type}"; known: ${datasetTypes().join(", ")}`,
    );
  }
  return t;
}

export interface CreateDatasetOptions {
  /** Folder that relative paths are resolved from (the config file's folder); default: the working directory. */
  baseDir?: string;
  /** Config path named in errors, e.g. "data.train". */
  where?: string;
}

/**
 * Opens the dataset a config entry describes: `{ type, ...options }`. Fails with E_CONFIG (bad or unknown keys,
 * with their path), E_UNKNOWN_NAME (unknown type, listing the known ones) or E_BAD_FILE (unreadable data).
 */
export async function createDataset(config: unknown, o: CreateDatasetOptions = {}): Promise<Dataset> {
  const where = o.where ?? "dataset";
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new TasksrError("E_CONFIG", `${where}: expected an object with a "type" key, got ${JSON.stringify(config)}`);
  }
  const { type, ...rest } = config as Record<string, unknown>;
  if (typeof type !== "string") {
    throw new TasksrError("E_CONFIG", `${where}.type: expected one of ${datasetTypes().join(", ")}`);
  }
  const t = lookup(type, where);
  const base = o.baseDir;
  if (base !== undefined) {
    for (const key of t.paths) {
      const v = rest[key];
      // A relative `root` anchors the other paths, which then stay relative to it.
      const anchored = key !== "root" && typeof rest.root === "string";
      if (typeof v === "string" && !isAbsolute(v) && !anchored) rest[key] = resolve(base, v);
    }
  }
  return describeDataset(await t.open(rest, where), { config: { type, ...rest }, where });
}
