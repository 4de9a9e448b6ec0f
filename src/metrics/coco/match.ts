/**
 * Per (image, category) evaluation, as pycocotools' `computeIoU` + `evaluateImg` for bbox:
 * - IoU as maskApi's bbIou: for a crowd ground truth the union is the detection's area;
 * - for each area range: ground truths that are crowd or whose `area` is outside the range are "ignored" and moved
 *   after the others (stable); then for each IoU threshold, detections in descending score order greedily take the
 *   best still-free ground truth with IoU >= min(t, 1 - 1e-10) (crowd ground truths are never used up; once matched
 *   to a regular ground truth a detection does not move to an ignored one);
 * - a detection matched to an ignored ground truth is ignored; an unmatched detection whose area (w*h) is outside the
 *   range is ignored.
 * pycocotools records a match as the ground truth's id and later tests "id != 0", so a match to a ground truth whose
 * id is 0 counts as unmatched; that quirk is kept so results stay identical.
 */
import type { DetectionStore } from "./detections.js";
import type { CocoGroundTruthIndex } from "./ground-truth.js";

/** Bits of a detection's result at one (area range, IoU threshold). */
export const MATCHED = 1;
export const IGNORED = 2;

export class ImageMatcher {
  /**
   * Scratch buffers reused across images: [D, G] IoU with ground truths in file order and in evaluation order; per
   * ground truth its ignore flag (file order), and in evaluation order its index, crowd flag, whether a match to it
   * counts (id != 0) and whether it is taken; per detection whether its area is outside the range.
   */
  private scratch = {
    iou: new Float64Array(0),
    orderIou: new Float64Array(0),
    gtIgnored: new Uint8Array(0),
    order: new Int32Array(0),
    orderCrowd: new Uint8Array(0),
    orderCountsAsMatch: new Uint8Array(0),
    taken: new Uint8Array(0),
    detOutside: new Uint8Array(0),
  };

  constructor(
    private readonly iouThresholds: Float64Array,
    private readonly areaRanges: readonly (readonly [number, number])[],
  ) {}

  /**
   * Evaluates one image of one category. Ground truths: annotation indices gtIdx[g0 .. g1) (file order).
   * Detections: store indices detIdx[p0 .. p1), already in descending score order, at positions p0 .. p1 of the
   * category. Writes flags[(a * T + t) * n + p] (n = positions in the category) and adds the non-ignored ground
   * truths of each area range to npig[a].
   */
  run(
    gt: CocoGroundTruthIndex,
    gtIdx: Int32Array,
    g0: number,
    g1: number,
    store: DetectionStore,
    detIdx: Int32Array,
    p0: number,
    p1: number,
    flags: Uint8Array,
    n: number,
    npig: Float64Array,
  ): void {
    const G = g1 - g0;
    const D = p1 - p0;
    this.reserve(D, G);
    const { iou, orderIou, gtIgnored, order, orderCrowd, orderCountsAsMatch, taken, detOutside } = this.scratch;
    const box = gt.annBox;
    const dbox = store.box;
    // [D, G] IoU, ground truths in file order.
    for (let g = 0; g < G; g++) {
      const a = gtIdx[g0 + g]! * 4;
      const gx = box[a]!;
      const gy = box[a + 1]!;
      const gw = box[a + 2]!;
      const gh = box[a + 3]!;
      const ga = gw * gh;
      const crowd = gt.annCrowd[gtIdx[g0 + g]!] === 1;
      for (let d = 0; d < D; d++) {
        const b = detIdx[p0 + d]! * 4;
        const dx = dbox[b]!;
        const dy = dbox[b + 1]!;
        const dw = dbox[b + 2]!;
        const dh = dbox[b + 3]!;
        let v = 0;
        const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
        if (w > 0) {
          const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
          if (h > 0) {
            const inter = w * h;
            const da = dw * dh;
            v = inter / (crowd ? da : da + ga - inter);
          }
        }
        iou[d * G + g] = v;
      }
    }
    const T = this.iouThresholds.length;
    for (let r = 0; r < this.areaRanges.length; r++) {
      const [lo, hi] = this.areaRanges[r]!;
      // Evaluation order: regular ground truths first, then ignored ones (each group in file order).
      let kept = 0;
      for (let g = 0; g < G; g++) {
        const ann = gtIdx[g0 + g]!;
        const area = gt.annArea[ann]!;
        const ign = gt.annCrowd[ann] === 1 || area < lo || area > hi;
        gtIgnored[g] = ign ? 1 : 0;
        if (!ign) order[kept++] = g;
      }
      npig[r]! += kept;
      for (let g = 0, j = kept; g < G; g++) if (gtIgnored[g]) order[j++] = g;
      for (let j = 0; j < G; j++) {
        const g = order[j]!;
        const ann = gtIdx[g0 + g]!;
        orderCrowd[j] = gt.annCrowd[ann]!;
        orderCountsAsMatch[j] = gt.annId[ann] !== 0 ? 1 : 0;
        for (let d = 0; d < D; d++) orderIou[d * G + j] = iou[d * G + g]!;
      }
      for (let d = 0; d < D; d++) {
        const b = detIdx[p0 + d]! * 4;
        const area = dbox[b + 2]! * dbox[b + 3]!;
        detOutside[d] = area < lo || area > hi ? 1 : 0;
      }
      for (let t = 0; t < T; t++) {
        taken.fill(0, 0, G);
        const floor = Math.min(this.iouThresholds[t]!, 1 - 1e-10);
        const base = (r * T + t) * n + p0;
        for (let d = 0; d < D; d++) {
          let best = floor;
          let m = -1;
          const row = d * G;
          for (let j = 0; j < G; j++) {
            // A matched regular ground truth is used up (crowd ones are never marked taken).
            if (taken[j]) continue;
            // Matched to a regular ground truth: ignored ones (all after it) cannot replace it.
            if (m > -1 && j >= kept && m < kept) break;
            const v = orderIou[row + j]!;
            if (v < best) continue;
            best = v;
            m = j;
          }
          let f = 0;
          if (m > -1) {
            if (!orderCrowd[m]) taken[m] = 1;
            if (m >= kept) f |= IGNORED;
            if (orderCountsAsMatch[m]) f |= MATCHED;
          }
          if (!(f & MATCHED) && detOutside[d]) f |= IGNORED;
          flags[base + d] = f;
        }
      }
    }
  }

  private reserve(D: number, G: number): void {
    const s = this.scratch;
    if (s.iou.length < D * G) {
      const size = Math.max(D * G, 2 * s.iou.length);
      s.iou = new Float64Array(size);
      s.orderIou = new Float64Array(size);
    }
    if (s.gtIgnored.length < G) {
      const size = Math.max(G, 2 * s.gtIgnored.length);
      s.gtIgnored = new Uint8Array(size);
      s.order = new Int32Array(size);
      s.orderCrowd = new Uint8Array(size);
      s.orderCountsAsMatch = new Uint8Array(size);
      s.taken = new Uint8Array(size);
    }
    if (s.detOutside.length < D) s.detOutside = new Uint8Array(Math.max(D, 2 * s.detOutside.length));
  }
}
