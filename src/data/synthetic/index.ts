/**
 * Synthetic datasets for the three tasks, written in the formats of the real loaders (image-folder, voc-seg,
 * coco-det) and described by a manifest (`synthetic.json`: generator version, task, resolved options, classes).
 *
 * `generateSynthetic` always writes a fresh tree; `ensureSynthetic` reuses a tree whose manifest matches and
 * regenerates otherwise. Trees are built in a sibling temp folder and renamed into place, so a reader never sees a
 * half-written tree, and a folder that is not a synthetic tree is never replaced.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { z } from "zod";
import { TasksrError } from "../../errors.js";
import { parseOptions } from "../options.js";
import {
  type ClassificationSynthOptions,
  classificationClassNames,
  classificationSynthSchema,
  writeClassification,
} from "./classification.js";
import type { SyntheticTask } from "./common.js";
import { type DetectionSynthOptions, detectionClassNames, detectionSynthSchema, writeDetection } from "./detection.js";
import {
  type SegmentationSynthOptions,
  segmentationClassNames,
  segmentationSynthSchema,
  writeSegmentation,
} from "./segmentation.js";

export type { SyntheticTask } from "./common.js";

/** Bumped whenever the drawing changes, so that `ensureSynthetic` regenerates trees made by older code. */
export const SYNTHETIC_VERSION = 2;
/** Manifest file name inside a synthetic tree. */
export const SYNTHETIC_MANIFEST = "synthetic.json";

/** A dataset config block as `createDataset` accepts it. */
export type SyntheticDatasetConfig =
  | { type: "image-folder"; root: string }
  | { type: "voc-seg"; root: string; split: "train" | "val"; classes: string[] }
  | { type: "coco-det"; root: string; images: string; annotations: string };

export interface SyntheticOptionsByTask {
  classification: ClassificationSynthOptions;
  segmentation: SegmentationSynthOptions;
  detection: DetectionSynthOptions;
}

export interface SyntheticDataset {
  task: SyntheticTask;
  /** Absolute path of the tree. */
  root: string;
  /** Class names, index = label. */
  classes: string[];
  /** The resolved options (defaults filled in), as recorded in the manifest. */
  options: Record<string, unknown>;
  train: SyntheticDatasetConfig;
  val: SyntheticDatasetConfig;
  /** True when `ensureSynthetic` found a matching tree and wrote nothing. */
  reused: boolean;
}

interface Generator {
  schema: z.ZodType;
  classes(o: never): string[];
  write(root: string, o: never): Promise<void>;
  configs(root: string, classes: string[]): { train: SyntheticDatasetConfig; val: SyntheticDatasetConfig };
}

const GENERATORS: Record<string, Generator> = {
  classification: {
    schema: classificationSynthSchema,
    classes: classificationClassNames,
    write: writeClassification,
    configs: (root) => ({
      train: { type: "image-folder", root: join(root, "train") },
      val: { type: "image-folder", root: join(root, "val") },
    }),
  },
  segmentation: {
    schema: segmentationSynthSchema,
    classes: segmentationClassNames,
    write: writeSegmentation,
    configs: (root, classes) => ({
      train: { type: "voc-seg", root, split: "train", classes },
      val: { type: "voc-seg", root, split: "val", classes },
    }),
  },
  detection: {
    schema: detectionSynthSchema,
    classes: detectionClassNames,
    write: writeDetection,
    configs: (root) => ({
      train: { type: "coco-det", root, images: "images/train", annotations: "annotations/instances_train.json" },
      val: { type: "coco-det", root, images: "images/val", annotations: "annotations/instances_val.json" },
    }),
  },
};

/** The tasks `generateSynthetic` knows. */
export const syntheticTasks = (): string[] => Object.keys(GENERATORS).sort();

interface Manifest {
  generator: "tasksr-synthetic";
  version: number;
  task: string;
  options: Record<string, unknown>;
  classes: string[];
}

/** JSON with object keys sorted, so equal options always compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

function resolveRequest(task: string, root: string, options: unknown) {
  const gen = Object.hasOwn(GENERATORS, task) ? GENERATORS[task] : undefined;
  if (gen === undefined) {
    throw new TasksrError(
      "E_UNKNOWN_NAME",
      `synthetic task "${task}" is unknown; known: ${syntheticTasks().join(", ")}`,
    );
  }
  if (typeof root !== "string" || root === "") {
    throw new TasksrError("E_CONFIG", `synthetic ${task}: root must be a folder path, got ${JSON.stringify(root)}`);
  }
  const o = parseOptions(gen.schema, options ?? {}, `synthetic ${task} options`) as Record<string, unknown>;
  const abs = resolve(root);
  const classes = gen.classes(o as never);
  const manifest: Manifest = { generator: "tasksr-synthetic", version: SYNTHETIC_VERSION, task, options: o, classes };
  const dataset = (reused: boolean): SyntheticDataset => ({
    task: task as SyntheticTask,
    root: abs,
    classes,
    options: o,
    ...gen.configs(abs, classes),
    reused,
  });
  return { gen, o, abs, manifest, dataset };
}

/** The manifest of `root`, or undefined when it has none (or an unreadable one). */
async function readManifest(root: string): Promise<Manifest | undefined> {
  try {
    const m: unknown = JSON.parse(await readFile(join(root, SYNTHETIC_MANIFEST), "utf8"));
    return m !== null && typeof m === "object" ? (m as Manifest) : undefined;
  } catch {
    return undefined;
  }
}

const identity = (m: Manifest) => canonical([m.generator, m.version, m.task, m.options]);
const sameTree = (a: Manifest | undefined, b: Manifest): boolean => a !== undefined && identity(a) === identity(b);

/** Fails unless `root` is absent, an empty folder, or a synthetic tree (has a manifest). */
async function checkReplaceable(root: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(root)).isDirectory();
  } catch {
    return;
  }
  const refuse = (why: string) =>
    new TasksrError(
      "E_CONFIG",
      `synthetic dataset folder ${root} ${why}; give a new or empty folder, or one made by tasksr synth`,
    );
  if (!isDir) throw refuse("exists and is not a folder");
  if ((await readdir(root)).length === 0) return;
  if ((await readManifest(root)) === undefined) throw refuse(`is not empty and has no ${SYNTHETIC_MANIFEST}`);
}

/**
 * Writes the tree into a temp sibling and renames it into place; with `reuseIfMatching`, a tree that appeared
 * meanwhile with the same manifest (another process) is kept.
 */
async function build(r: ReturnType<typeof resolveRequest>, reuseIfMatching: boolean): Promise<SyntheticDataset> {
  await checkReplaceable(r.abs);
  await mkdir(dirname(r.abs), { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const tmp = `${r.abs}.tmp-${tag}`;
  const old = `${r.abs}.old-${tag}`;
  try {
    await mkdir(tmp);
    await r.gen.write(tmp, r.o as never);
    // Written last: a tree with a manifest is complete.
    await writeFile(join(tmp, SYNTHETIC_MANIFEST), `${JSON.stringify(r.manifest, null, 2)}\n`);
    if (reuseIfMatching && sameTree(await readManifest(r.abs), r.manifest)) return r.dataset(true);
    await checkReplaceable(r.abs);
    let moved = false;
    try {
      await rename(r.abs, old);
      moved = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    await rename(tmp, r.abs);
    if (moved) await rm(old, { recursive: true, force: true });
    return r.dataset(false);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Generates the `task` dataset into `root` (replacing a synthetic tree already there) and returns its dataset
 * config blocks and class names. Same options and seed, same bytes.
 */
export async function generateSynthetic<T extends SyntheticTask>(
  task: T,
  root: string,
  options?: SyntheticOptionsByTask[T],
): Promise<SyntheticDataset> {
  return build(resolveRequest(task, root, options), false);
}

/** As `generateSynthetic`, but keeps the tree at `root` when its manifest matches (same version, task, options). */
export async function ensureSynthetic<T extends SyntheticTask>(
  task: T,
  root: string,
  options?: SyntheticOptionsByTask[T],
): Promise<SyntheticDataset> {
  const r = resolveRequest(task, root, options);
  if (sameTree(await readManifest(r.abs), r.manifest)) return r.dataset(true);
  return build(r, true);
}
