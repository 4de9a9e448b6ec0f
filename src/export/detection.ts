/**
 * SSD as ONNX: the graph runs the detector's transform (resize, normalisation), backbone and head, applies the
 * softmax and decodes every default box, and returns `scores` [N, A, K] and `boxes` [N, A, 4] (xyxy pixels of the
 * resized image, before clipping). What follows — clipping, per-class score threshold and top-k, class-wise NMS,
 * the best `detectionsPerImage`, boxes back to the input size — is data-dependent control flow that ONNX can only
 * express with NonMaxSuppression and Loop/TopK gymnastics whose semantics differ between runtimes; it is the
 * package's own JS (src/infer/detect_post.ts), a line-by-line mirror of the engine's float32 arithmetic, with the
 * settings in the file's metadata (`tasksr.detection`).
 */
import { stack } from "../engine/creation.js";
import * as F from "../engine/functional.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { DetectionSettings } from "../infer/detect_post.js";
import type { BoxCoder } from "../models/boxes/coder.js";
import { Ssd } from "../models/detection/ssd.js";

/** BoxCoder.decode for a batch (SSD and the R-CNN RPN): codes [N, A, 4] against anchors [A, 4] -> [N, A, 4] (the same ops per box). */
export function decodeBatch(coder: BoxCoder, codes: Tensor, anchors: Tensor): Tensor {
  const [wx, wy, ww, wh] = coder.weights;
  const clip = coder.bboxXformClip;
  const col = (t: Tensor, i: number) => t.select(-1, i);
  const rw = col(anchors, 2).sub(col(anchors, 0)); // [A]
  const rh = col(anchors, 3).sub(col(anchors, 1));
  const rcx = col(anchors, 0).add(rw.mul(0.5));
  const rcy = col(anchors, 1).add(rh.mul(0.5));
  const dw = col(codes, 2).div(ww).clamp(undefined, clip); // [N, A]
  const dh = col(codes, 3).div(wh).clamp(undefined, clip);
  const cx = col(codes, 0).div(wx).mul(rw).add(rcx);
  const cy = col(codes, 1).div(wy).mul(rh).add(rcy);
  const halfW = dw.exp().mul(rw).mul(0.5);
  const halfH = dh.exp().mul(rh).mul(0.5);
  return stack([cx.sub(halfW), cy.sub(halfH), cx.add(halfW), cy.add(halfH)], 2);
}

/** The exported forward of an SSD, and the post-processing settings its file carries. */
export function ssdGraph(
  net: unknown,
  arch: string,
): { forward: (x: Tensor) => Record<string, Tensor>; settings: DetectionSettings } {
  if (!(net instanceof Ssd)) {
    throw new TasksrError("E_EXPORT", `${arch}: not an exportable detector (SSD, or Faster R-CNN as two graphs)`);
  }
  const resize = net.transform.o.resize;
  if (resize.kind === "minMax") {
    throw new TasksrError("E_EXPORT", `${arch}: an SSD with min/max resizing is not exported (fixed size or none)`);
  }
  const s = net.settings;
  const settings: DetectionSettings = {
    imageSize: resize.kind === "fixed" ? [resize.size[0], resize.size[1]] : null,
    numClasses: net.numClasses,
    scoreThresh: s.scoreThresh,
    nmsThresh: s.nmsThresh,
    topkCandidates: s.topkCandidates,
    detectionsPerImage: s.detectionsPerImage,
  };
  const forward = (x: Tensor) => {
    const batch = net.transform.apply(x);
    const features = net.backbone.call(batch.images);
    const head = net.head.call(features);
    // Default boxes from the sizes, as the engine's forward: constant for a fixed input size, computed in the graph
    // from the feature maps' shapes for an SSD that keeps each input's size.
    const anchors = net.anchorGenerator.forward(
      [batch.images.size(2), batch.images.size(3)],
      features.map((f) => [f.size(2), f.size(3)] as const),
      batch.images.device,
    );
    return { scores: F.softmax(head.clsLogits, -1), boxes: decodeBatch(net.boxCoder, head.bboxRegression, anchors) };
  };
  return { forward, settings };
}
