/** COCO evaluation of files: an instances JSON (ground truth) and a results JSON list (detections). */
import { readJsonFile } from "../json-fields.js";
import { type CocoEvalResult, CocoEvaluator } from "./evaluator.js";
import { indexCocoGroundTruth } from "./ground-truth.js";
import type { CocoReadOptions } from "./lenient.js";

export function evaluateCocoFiles(gtPath: string, dtPath: string, o: CocoReadOptions = {}): CocoEvalResult {
  const gt = indexCocoGroundTruth(readJsonFile(gtPath, "COCO ground truth"), gtPath, o);
  const ev = new CocoEvaluator(gt, gtPath, o);
  ev.update(readJsonFile(dtPath, "COCO detections (a results list)"), dtPath);
  return ev.compute();
}
