/**
 * COCO bbox evaluation with pycocotools' COCOeval semantics (iouType 'bbox', default parameters): IoU thresholds
 * .50:.05:.95, 101 recall thresholds, area ranges all/small/medium/large, maxDets 1/10/100, the 12 summary numbers
 * and per-category AP. See ground-truth.ts, detections.ts, match.ts, accumulate.ts and summarize.ts for each step.
 *
 * As an accumulator: `update(results)` / `updateImage(imageId, predictions)` append detections; `merge(other)`
 * appends another evaluator's detections (same ground truth), so merging then computing equals computing on the
 * concatenated detection list; `compute()` evaluates everything added so far. `state()` holds the detections only:
 * every process of a distributed evaluation reads the same ground truth.
 *
 * Input pycocotools evaluates leniently (detections of unknown categories, annotations on unlisted images or
 * categories, reused annotation ids) is evaluated as it does and counted in the result's `lenient`, or refused with
 * `{strict: true}` (lenient.ts).
 */
import { TasksrError } from "../../errors.js";
import { type Accumulator, badState, numberField, numbersField, stateFields, stateNumbers } from "../accumulator.js";
import { accumulateCategory, type CategoryEvaluation, type PrecisionRecall } from "./accumulate.js";
import { DetectionStore, type ImagePredictions } from "./detections.js";
import { type CocoGroundTruth, type CocoGroundTruthIndex, indexCocoGroundTruth } from "./ground-truth.js";
import { bucketSort, iota } from "./group.js";
import type { CocoLenientCounts, CocoReadOptions } from "./lenient.js";
import { ImageMatcher } from "./match.js";
import { AREA_RANGES, IOU_THRESHOLDS, MAX_DETS, RECALL_THRESHOLDS } from "./params.js";
import { sortByScoreDesc } from "./sort.js";
import { type CocoStats, categoryAp, summarize } from "./summarize.js";

export interface CocoCategoryResult {
  id: number;
  name: string;
  /** AP at IoU .50:.95, area all, 100 detections; -1 when the category has no (non-crowd) ground truth. */
  ap: number;
}

export interface CocoEvalResult extends PrecisionRecall {
  /** The 12 summary numbers (fractions, -1 where undefined). */
  stats: CocoStats;
  categories: CocoCategoryResult[];
  images: number;
  /** Detections evaluated (those of unknown categories are counted in `lenient` only). */
  detections: number;
  lenient: CocoLenientCounts;
}

export class CocoEvaluator implements Accumulator<CocoEvalResult> {
  readonly gt: CocoGroundTruthIndex;
  private readonly dets = new DetectionStore();
  private readonly strict: boolean;

  /**
   * `gt`: a COCO instances object (validated here; `where` names it in errors) or an index shared by workers (whose
   * own reading decided the ground truth's leniency). `strict` refuses lenient input (lenient.ts).
   */
  constructor(gt: CocoGroundTruth | CocoGroundTruthIndex, where = "ground truth", o: CocoReadOptions = {}) {
    this.gt = "byCategory" in gt ? gt : indexCocoGroundTruth(gt, where, o);
    this.strict = o.strict ?? false;
  }

  /** Appends a COCO results list [{image_id, category_id, bbox: [x, y, w, h], score}]; `where` names it in errors. */
  update(results: readonly unknown[] | unknown, where = "detections"): void {
    this.dets.addResults(results, this.gt, where, this.strict);
  }

  /** Appends a detector's output for one image (labels are COCO category ids; boxes xyxy unless told otherwise). */
  updateImage(imageId: number, predictions: ImagePredictions, o: { boxFormat?: "xyxy" | "xywh" } = {}): void {
    this.dets.addImage(imageId, predictions, o.boxFormat ?? "xyxy", this.gt, this.strict);
  }

  get detectionCount(): number {
    return this.dets.count;
  }

  compute(): CocoEvalResult {
    const gt = this.gt;
    const store = this.dets;
    const I = gt.imageIds.length;
    const K = gt.categoryIds.length;
    const T = IOU_THRESHOLDS.length;
    const R = RECALL_THRESHOLDS.length;
    const A = AREA_RANGES.length;
    const M = MAX_DETS.length;
    const maxDet = MAX_DETS[M - 1]!;
    const out: PrecisionRecall = {
      precision: new Float64Array(T * R * K * A * M).fill(-1),
      recall: new Float64Array(T * K * A * M).fill(-1),
      counts: [T, R, K, A, M],
    };
    // Detections grouped by (category, image) in arrival order; each group is sorted by score below.
    const n = store.count;
    const score = store.score;
    const byImage = bucketSort(iota(n), store.image, I).sorted;
    const { sorted: dets, start: detStart } = bucketSort(byImage, store.category, K);
    const scratch = new Int32Array(n);
    const gts = gt.byCategory;
    const matcher = new ImageMatcher(IOU_THRESHOLDS, AREA_RANGES);

    for (let k = 0; k < K; k++) {
      const g1 = gt.catStart[k + 1]!;
      const d0 = detStart[k]!;
      const d1 = detStart[k + 1]!;
      // Each image's detections by descending score (ties: arrival order), its best maxDet kept: detIdx lists them
      // in image order, then score order, with their rank in the image and their score.
      const detIdx = new Int32Array(d1 - d0);
      const rank = new Int32Array(d1 - d0);
      const detScore = new Float64Array(d1 - d0);
      let count = 0;
      for (let a = d0; a < d1; ) {
        const img = store.image[dets[a]!];
        let b = a + 1;
        while (b < d1 && store.image[dets[b]!] === img) b++;
        sortByScoreDesc(dets, a, b, score, scratch);
        for (let j = a; j < b && j - a < maxDet; j++) {
          rank[count] = j - a;
          detScore[count] = score[dets[j]!]!;
          detIdx[count++] = dets[j]!;
        }
        a = b;
      }
      const c: CategoryEvaluation = {
        k,
        n: count,
        score: detScore,
        rank,
        flags: new Uint8Array(A * T * count),
        npig: new Float64Array(A),
      };
      let g = gt.catStart[k]!;
      let p = 0;
      while (g < g1 || p < count) {
        const gi = g < g1 ? gt.annImage[gts[g]!]! : I;
        const di = p < count ? store.image[detIdx[p]!]! : I;
        const img = Math.min(gi, di);
        const gEnd = advance(g, g1, (j) => gt.annImage[gts[j]!] === img);
        const pEnd = advance(p, count, (j) => store.image[detIdx[j]!] === img);
        matcher.run(gt, gts, g, gEnd, store, detIdx, p, pEnd, c.flags, count, c.npig);
        g = gEnd;
        p = pEnd;
      }
      accumulateCategory(c, out, RECALL_THRESHOLDS, MAX_DETS, scratch);
    }
    return {
      ...out,
      stats: summarize(out),
      categories: Array.from(gt.categoryIds, (id, k) => ({ id, name: gt.categoryNames[k]!, ap: categoryAp(out, k) })),
      images: I,
      detections: n,
      lenient: {
        annotationsOnUnlistedImages: gt.annotationsOnUnlistedImages,
        annotationsOfUnlistedCategories: gt.annotationsOfUnlistedCategories,
        annotationsWithReusedIds: gt.annotationsWithReusedIds,
        detectionsOfUnknownCategories: store.unknownCategory,
      },
    };
  }

  merge(other: this): void {
    const a = this.gt;
    const b = other.gt;
    const same =
      a === b ||
      (a.annId.length === b.annId.length &&
        a.imageIds.length === b.imageIds.length &&
        a.imageIds.every((v, i) => v === b.imageIds[i]) &&
        a.categoryIds.length === b.categoryIds.length &&
        a.categoryIds.every((v, i) => v === b.categoryIds[i]));
    if (!same) {
      throw new TasksrError("E_TENSOR_ARG", `CocoEvaluator.merge: the evaluators use different ground truths`);
    }
    this.dets.append(other.dets);
  }

  /**
   * `{settings: {images, categories, annotations}, unknownCategory, image, category, score, box}`: the sizes of the
   * ground truth (a cheap check that both sides read the same one), the count of detections of unknown categories,
   * and the detections column-wise in arrival order (image and category ids, scores, xywh boxes 4 per detection).
   * Arrival order breaks score ties within an image, so it is kept: merging a state appends its detections after
   * this evaluator's, as `merge` does.
   */
  state(): unknown {
    const d = this.dets;
    const n = d.count;
    return {
      settings: this.settings(),
      unknownCategory: d.unknownCategory,
      image: Array.from(d.image.subarray(0, n), (i) => this.gt.imageIds[i]!),
      category: Array.from(d.category.subarray(0, n), (k) => this.gt.categoryIds[k]!),
      score: stateNumbers(d.score.subarray(0, n)),
      box: stateNumbers(d.box.subarray(0, 4 * n)),
    };
  }

  mergeState(s: unknown): void {
    const where = "CocoEvaluator.mergeState";
    const r = stateFields(s, where, this.settings());
    const unknownCategory = numberField(r, "unknownCategory", where, "count");
    const imageIds = numbersField(r, "image", where, { kind: "finite" });
    const n = imageIds.length;
    const categoryIds = numbersField(r, "category", where, { length: n, kind: "finite" });
    // Scores and boxes were checked when the other side added them; here they only need to be numbers.
    const score = numbersField(r, "score", where, { length: n });
    const box = numbersField(r, "box", where, { length: 4 * n });
    const add = new DetectionStore();
    add.image = Int32Array.from(imageIds, (id, i) => this.indexOf(this.gt.imageIndex, id, `image[${i}]`, "an image"));
    add.category = Int32Array.from(categoryIds, (id, i) =>
      this.indexOf(this.gt.categoryIndex, id, `category[${i}]`, "a category"),
    );
    add.score = Float64Array.from(score);
    add.box = Float64Array.from(box);
    add.count = n;
    add.unknownCategory = unknownCategory;
    this.dets.append(add);
  }

  reset(): void {
    this.dets.clear();
  }

  private settings(): { images: number; categories: number; annotations: number } {
    const gt = this.gt;
    return { images: gt.imageIds.length, categories: gt.categoryIds.length, annotations: gt.annId.length };
  }

  /** The index of ground-truth image or category `id` (`field` of a state). */
  private indexOf(index: ReadonlyMap<number, number>, id: number, field: string, what: string): number {
    const i = index.get(id);
    if (i === undefined) throw badState("CocoEvaluator.mergeState", `${field}: ${what} id of ${this.gt.where}`, id);
    return i;
  }
}

/** First j >= from (and < end) for which `same(j)` is false. */
function advance(from: number, end: number, same: (j: number) => boolean): number {
  let j = from;
  while (j < end && same(j)) j++;
  return j;
}
