/**
 * Input that pycocotools evaluates without a word although the evaluation does not cover it as written: ground-truth
 * annotations on images or of categories the file does not list (COCOeval only visits the listed ones), annotation
 * ids used twice (COCOeval loads annotations by id, so the last one with an id stands in for every one of them), and
 * detections of categories that are not ground-truth categories. By default we evaluate them as pycocotools does and
 * count them, so that the numbers are pycocotools' and the caller can warn; `strict` refuses them instead
 * (E_BAD_FILE naming the entry and field). Entries read leniently must still be well-formed. See docs/metrics.md.
 */

export interface CocoReadOptions {
  /** Refuse the input counted in CocoLenientCounts instead of evaluating it as pycocotools does (default false). */
  strict?: boolean;
}

/** How much input was read leniently; all 0 under `strict`. */
export interface CocoLenientCounts {
  /** Ground-truth annotations whose image_id is not in `images` (not evaluated). */
  annotationsOnUnlistedImages: number;
  /** Ground-truth annotations whose category_id is not in `categories` (not evaluated). */
  annotationsOfUnlistedCategories: number;
  /** Ground-truth annotations whose id a later annotation uses again (each evaluated as the last one with its id). */
  annotationsWithReusedIds: number;
  /** Detections whose category_id is not a ground-truth category (not evaluated). */
  detectionsOfUnknownCategories: number;
}

/** One line per kind of lenient input present, naming the file and the count; none when everything was clean. */
export function cocoLenientWarnings(c: CocoLenientCounts, gtWhere: string, dtWhere: string): string[] {
  const lines: string[] = [];
  const as = "as pycocotools does (--strict refuses them)";
  if (c.detectionsOfUnknownCategories > 0) {
    lines.push(
      `${dtWhere}: ${c.detectionsOfUnknownCategories} detection(s) with a category_id that is not a category of ` +
        `${gtWhere} not evaluated, ${as}`,
    );
  }
  if (c.annotationsOnUnlistedImages > 0) {
    lines.push(
      `${gtWhere}: ${c.annotationsOnUnlistedImages} annotation(s) with an image_id not in images not evaluated, ${as}`,
    );
  }
  if (c.annotationsOfUnlistedCategories > 0) {
    lines.push(
      `${gtWhere}: ${c.annotationsOfUnlistedCategories} annotation(s) with a category_id not in categories not ` +
        `evaluated, ${as}`,
    );
  }
  if (c.annotationsWithReusedIds > 0) {
    lines.push(
      `${gtWhere}: ${c.annotationsWithReusedIds} annotation(s) whose id a later annotation uses again evaluated as ` +
        `that last annotation, ${as}`,
    );
  }
  return lines;
}
