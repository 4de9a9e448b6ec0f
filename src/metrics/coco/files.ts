/** COCO evaluation of files: an instances JSON (ground truth) and a results JSON list (detections). */
import { readJsonFile } from "../json-fields.js";
import { type CocoEvalResult, CocoEvaluator } from "./evaluator.js";
import { indexCocoGroundTruth } from "./ground-truth.js";

export function evaluateCocoFiles(gtPath: string, dtPath: string): CocoEvalResult {
  const ev = new CocoEvaluator(indexCocoGroundTruth(readJsonFile(gtPath, "COCO ground truth"), gtPath));
  ev.update(readJsonFile(dtPath, "COCO detections (a results list)"), dtPath);
  return ev.compute();
}
