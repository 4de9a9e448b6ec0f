/** Pieces shared by the detection readers: the empty-image option and building BoxTargets. */
import { z } from "zod";
import type { BoxTarget } from "../types.js";

/** Images whose box list is empty: kept as background-only samples (SR4IR's VOC training) or dropped. */
export const emptyImagesSchema = z.enum(["keep", "drop"]).default("keep");

/** One object while an annotation file is read. */
export interface Box {
  /** xyxy in pixels. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  label: number;
  difficult: boolean;
  iscrowd: boolean;
}

/** Packs boxes into a BoxTarget; `scaleX`/`scaleY` multiply the coordinates (YOLO's normalised boxes). */
export function toBoxTarget(boxes: readonly Box[], scaleX = 1, scaleY = 1): BoxTarget {
  const n = boxes.length;
  const t: BoxTarget = {
    kind: "boxes",
    boxes: new Float32Array(n * 4),
    labels: new Int32Array(n),
    difficult: new Uint8Array(n),
    iscrowd: new Uint8Array(n),
  };
  boxes.forEach((b, i) => {
    t.boxes.set([b.x1 * scaleX, b.y1 * scaleY, b.x2 * scaleX, b.y2 * scaleY], 4 * i);
    t.labels[i] = b.label;
    t.difficult[i] = b.difficult ? 1 : 0;
    t.iscrowd[i] = b.iscrowd ? 1 : 0;
  });
  return t;
}
