import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Repository root (tests run from dist/test/...). */
export const REPO = join(import.meta.dirname, "..", "..", "..");
/** Shared real data every developer and CI has next to the repository (../shared/data). */
export const SHARED_DATA = join(REPO, "..", "shared", "data");
/** Committed fixtures produced by tools/fixtures/*.py. */
export const FIXTURES = join(REPO, "test", "fixtures");
/** The COCO metric fixture with official pycocotools values (SOURCE.txt): gts/…json and cocoapi_results.json. */
export const COCO_EVAL_FIXTURE = join(
  SHARED_DATA,
  "detection-metric-fixtures",
  "review_object_detection_metrics",
  "tests",
  "test_coco_eval",
);
export const readJson = (p: string): unknown => JSON.parse(readFileSync(p, "utf8"));
