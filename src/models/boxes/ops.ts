/**
 * Box utilities with torchvision.ops semantics. Boxes are [N, 4] float tensors, xyxy in pixels, unless stated.
 * Each function runs in its own scope, so only its result outlives the call.
 */
import { stack, zeros } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { check } from "../../errors.js";

/** Image size as (height, width). */
export type Size = readonly [height: number, width: number];

const col = (b: Tensor, i: number): Tensor => b.select(-1, i);

function checkBoxes(b: Tensor, name: string): void {
  check(b.ndim === 2 && b.shape[1] === 4, () => `${name}: expected boxes of shape [N, 4], got [${b.shape}]`);
}

/** Areas [N] of xyxy boxes [N, 4]. */
export function boxArea(boxes: Tensor): Tensor {
  return scope(() =>
    col(boxes, 2)
      .sub(col(boxes, 0))
      .mul(col(boxes, 3).sub(col(boxes, 1))),
  );
}

/** Pairwise IoU [N, M] between boxes a [N, 4] and b [M, 4] (torchvision.ops.box_iou). */
export function boxIou(a: Tensor, b: Tensor): Tensor {
  checkBoxes(a, "boxIou(a)");
  checkBoxes(b, "boxIou(b)");
  return scope(() => {
    const lt = a
      .narrow(1, 0, 2)
      .unsqueeze(1)
      .maximum(b.narrow(1, 0, 2)); // [N, M, 2]
    const rb = a
      .narrow(1, 2, 2)
      .unsqueeze(1)
      .minimum(b.narrow(1, 2, 2)); // [N, M, 2]
    const wh = rb.sub(lt).clamp(0);
    const inter = wh.select(2, 0).mul(wh.select(2, 1)); // [N, M]
    const union = boxArea(a).unsqueeze(1).add(boxArea(b)).sub(inter);
    return inter.div(union);
  });
}

/** [..., 4] (x1, y1, x2, y2) -> (cx, cy, w, h). */
export function xyxyToCxcywh(boxes: Tensor): Tensor {
  return scope(() => {
    const [x1, y1, x2, y2] = [0, 1, 2, 3].map((i) => col(boxes, i)) as [Tensor, Tensor, Tensor, Tensor];
    return stack([x1.add(x2).div(2), y1.add(y2).div(2), x2.sub(x1), y2.sub(y1)], -1);
  });
}

/** [..., 4] (cx, cy, w, h) -> (x1, y1, x2, y2). */
export function cxcywhToXyxy(boxes: Tensor): Tensor {
  return scope(() => {
    const [cx, cy, w, h] = [0, 1, 2, 3].map((i) => col(boxes, i)) as [Tensor, Tensor, Tensor, Tensor];
    const hw = w.mul(0.5);
    const hh = h.mul(0.5);
    return stack([cx.sub(hw), cy.sub(hh), cx.add(hw), cy.add(hh)], -1);
  });
}

/** Clamps x to [0, width] and y to [0, height]; boxes [..., 4]. */
export function clipBoxesToImage(boxes: Tensor, size: Size): Tensor {
  const [h, w] = size;
  return scope(() =>
    stack(
      [col(boxes, 0).clamp(0, w), col(boxes, 1).clamp(0, h), col(boxes, 2).clamp(0, w), col(boxes, 3).clamp(0, h)],
      -1,
    ),
  );
}

/** Indices [K] (int64, ascending) of the boxes whose width and height are both >= minSize. */
export function removeSmallBoxes(boxes: Tensor, minSize: number): Tensor {
  checkBoxes(boxes, "removeSmallBoxes");
  return scope(() => {
    const ws = col(boxes, 2).sub(col(boxes, 0));
    const hs = col(boxes, 3).sub(col(boxes, 1));
    return ws.ge(minSize).logicalAnd(hs.ge(minSize)).nonzero().squeeze(1);
  });
}

/** Scales xyxy boxes from an image of size `from` to one of size `to` (ratios in float32, as torchvision). */
export function resizeBoxes(boxes: Tensor, from: Size, to: Size): Tensor {
  const rh = Math.fround(Math.fround(to[0]) / Math.fround(from[0]));
  const rw = Math.fround(Math.fround(to[1]) / Math.fround(from[1]));
  return scope(() =>
    stack([col(boxes, 0).mul(rw), col(boxes, 1).mul(rh), col(boxes, 2).mul(rw), col(boxes, 3).mul(rh)], 1),
  );
}

/**
 * NMS applied independently per category `idxs` [N] (int64); returns kept indices [K] int64 by decreasing score.
 * Small inputs use the coordinate-offset trick (boxes of different categories are shifted apart so they never
 * overlap, one NMS call); large inputs run one NMS per category, switching at the same sizes as torchvision
 * (4000 coordinates on the CPU, 20000 on CUDA) so both give the same results.
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  checkBoxes(boxes, "batchedNms");
  return scope(() => {
    if (boxes.numel === 0) return zeros([0], { dtype: "int64", device: boxes.device });
    const limit = boxes.device === "cpu" ? 4000 : 20000;
    if (boxes.numel <= limit) {
      const offsets = idxs.to(boxes.dtype).mul(boxes.max().add(1)); // [N]
      return F.nms(boxes.add(offsets.unsqueeze(1)), scores, iouThreshold);
    }
    const keepMask = zeros([scores.size(0)], { dtype: "bool", device: boxes.device });
    for (const c of idxs.unique().values.toArray()) {
      const members = idxs.eq(c).nonzero().squeeze(1);
      const kept = F.nms(boxes.index(members), scores.index(members), iouThreshold);
      keepMask.indexPut_([members.index(kept)], true);
    }
    const keep = keepMask.nonzero().squeeze(1);
    return keep.index(scores.index(keep).sort(0, true).indices);
  });
}
