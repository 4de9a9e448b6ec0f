/**
 * Box encoding as regression targets (torchvision's BoxCoder): for a reference box with centre (x, y) and size
 * (w, h) and a target box (x', y', w', h'), the code is (wx (x'-x)/w, wy (y'-y)/h, ww log(w'/w), wh log(h'/h)).
 * SSD's variances (v0, v1) are the weights (1/v0, 1/v0, 1/v1, 1/v1).
 */
import { stack } from "../../engine/creation.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";

export type BoxWeights = readonly [wx: number, wy: number, ww: number, wh: number];

/** log(1000 / 16): decoded widths/heights are limited to 62.5x the reference box, as torchvision. */
export const BBOX_XFORM_CLIP = Math.log(1000 / 16);

const centreForm = (b: Tensor): { w: Tensor; h: Tensor; cx: Tensor; cy: Tensor } => {
  const w = b.select(1, 2).sub(b.select(1, 0));
  const h = b.select(1, 3).sub(b.select(1, 1));
  return { w, h, cx: b.select(1, 0).add(w.mul(0.5)), cy: b.select(1, 1).add(h.mul(0.5)) };
};

export class BoxCoder {
  constructor(
    readonly weights: BoxWeights,
    readonly bboxXformClip = BBOX_XFORM_CLIP,
  ) {}

  /** SSD-style coder from variances (v0 for centres, v1 for sizes). */
  static fromVariances(v0: number, v1: number): BoxCoder {
    return new BoxCoder([1 / v0, 1 / v0, 1 / v1, 1 / v1]);
  }

  /** Codes [N, 4] that turn `reference` [N, 4] boxes into `targets` [N, 4] (row by row). */
  encode(targets: Tensor, reference: Tensor): Tensor {
    const [wx, wy, ww, wh] = this.weights;
    return scope(() => {
      const r = centreForm(reference);
      const t = centreForm(targets);
      return stack(
        [
          t.cx.sub(r.cx).mul(wx).div(r.w),
          t.cy.sub(r.cy).mul(wy).div(r.h),
          t.w.div(r.w).log().mul(ww),
          t.h.div(r.h).log().mul(wh),
        ],
        1,
      );
    });
  }

  /**
   * Applies codes [N, 4k] (k boxes per reference, e.g. one per class) to reference boxes [N, 4]; returns [N, 4k].
   * Size codes are clamped at bboxXformClip before the exponential.
   */
  decode(codes: Tensor, reference: Tensor): Tensor {
    const [wx, wy, ww, wh] = this.weights;
    return scope(() => {
      const ref = reference.to(codes.dtype);
      const r = centreForm(ref);
      const part = (i: number, weight: number) => codes.slice(1, i, undefined, 4).div(weight); // [N, k]
      const dw = part(2, ww).clamp(undefined, this.bboxXformClip);
      const dh = part(3, wh).clamp(undefined, this.bboxXformClip);
      const cx = part(0, wx).mul(r.w.unsqueeze(1)).add(r.cx.unsqueeze(1));
      const cy = part(1, wy).mul(r.h.unsqueeze(1)).add(r.cy.unsqueeze(1));
      const halfW = dw.exp().mul(r.w.unsqueeze(1)).mul(0.5);
      const halfH = dh.exp().mul(r.h.unsqueeze(1)).mul(0.5);
      return stack([cx.sub(halfW), cy.sub(halfH), cx.add(halfW), cy.add(halfH)], 2).flatten(1);
    });
  }
}
