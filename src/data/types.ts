/**
 * The sample contract shared by every dataset, transform and collate function.
 *
 * Samples live on the CPU as typed arrays (decoding and augmentation need no engine); collate turns a list of
 * samples into engine tensors. Every dataset returns the same shape of sample for its task, so recipes and loaders
 * never branch on the dataset format.
 */
import type { Image } from "./io/image.js";

/** The built-in tasks; a plug-in may define others (src/tasks/registry.ts), so datasets and configs name a task by string. */
export type Task = "classification" | "segmentation" | "detection";

/** Class index in [0, numClasses). */
export interface ClassTarget {
  kind: "class";
  label: number;
}

/** Per-pixel class indices, H*W row-major, aligned with the image; 255 = ignore. */
export interface MaskTarget {
  kind: "mask";
  mask: Uint8Array;
  width: number;
  height: number;
}

/** Boxes in pixels of the current image, xyxy (x1, y1, x2, y2), plus contiguous class labels. */
export interface BoxTarget {
  kind: "boxes";
  /** [N * 4] xyxy */
  boxes: Float32Array;
  /** [N] contiguous class indices (detectors add their own background convention). */
  labels: Int32Array;
  /** [N] 1 where the VOC `difficult` flag is set. */
  difficult: Uint8Array;
  /** [N] 1 for COCO crowd regions. */
  iscrowd: Uint8Array;
}

export type Target = ClassTarget | MaskTarget | BoxTarget;

export interface Sample<T extends Target = Target> {
  /** Stable identifier (file stem or COCO image id as string). */
  id: string;
  image: Image;
  target: T;
}

/** Random-access dataset. `get` is async because decoding runs on sharp's thread pool. */
export interface Dataset<T extends Target = Target> {
  /** A registered task's name. */
  readonly task: string;
  /** Class names, index = label. */
  readonly classes: readonly string[];
  readonly length: number;
  get(index: number): Promise<Sample<T>>;
  /** Width/height without decoding pixels when the format allows it (used for aspect-ratio grouping). */
  size?(index: number): Promise<{ width: number; height: number }>;
}
