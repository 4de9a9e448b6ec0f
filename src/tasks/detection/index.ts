/**
 * Object detection: boxes and labels per image; the detector's summed losses, COCO AP, detections exported as
 * `scores`/`boxes` (SSD) or two graphs (Faster R-CNN). Detectors count the background: K dataset classes are K + 1
 * outputs (label 0 = background).
 */
import type { Image } from "../../data/io/image.js";
import { cropBack, type DetectionBatch, uploadDetection } from "../../data/loader/collate.js";
import { ssdGraph } from "../../export/detection.js";
import { rcnnGraphs } from "../../export/rcnn.js";
import { FasterRcnn } from "../../models/detection/faster_rcnn.js";
import type { Detector, DetectorOutput } from "../../models/detection/types.js";
import { classColour, drawBoxes } from "../../report/draw.js";
import { expectBatch } from "../adapter.js";
import { type DrawContext, defineTask } from "../registry.js";
import { detectionAdapter } from "./adapter.js";
import { detectionData } from "./data.js";

interface Boxes {
  /** [K * 4] xyxy */
  boxes: Float32Array;
  /** 0-based dataset labels */
  labels: number[];
  scores?: Float32Array;
}

/** `img` with the boxes drawn that score at least the threshold (all for ground truth), captioned by class. */
function drawn(img: Image, l: Boxes, c: DrawContext<Boxes>): Promise<Image> {
  const boxes = l.labels.flatMap((label, k) => {
    const score = l.scores?.[k];
    if (score !== undefined && score < c.scoreThreshold) return [];
    const b = [l.boxes[4 * k]!, l.boxes[4 * k + 1]!, l.boxes[4 * k + 2]!, l.boxes[4 * k + 3]!] as const;
    if (!(b[2] > b[0] && b[3] > b[1])) return [];
    const text = score === undefined ? c.className(label) : `${c.className(label)} ${score.toFixed(2)}`;
    return [{ box: b, label: text, colour: classColour(label) }];
  });
  return drawBoxes(img, boxes);
}

defineTask({
  name: "detection",
  data: detectionData,
  metrics: { primary: "AP", labels: { AP: "AP@[.5:.95] (%)", AP50: "AP50 (%)" } },
  upload: uploadDetection,
  netOptions: (numClasses) => ({ numClasses: numClasses + 1 }),
  adapter: (net, o) => detectionAdapter(net as unknown as Detector, o),
  visual: {
    predict(net, xs, batch, n): [Boxes, Boxes][] {
      const b = expectBatch<DetectionBatch>(batch, "detection");
      const dets = (net as unknown as Detector).forwardTaps(cropBack(xs, b.sizes.slice(0, n)), []).out.detections;
      return dets.map((d, i) => {
        const t = b.targets[i]!;
        return [
          {
            boxes: d.boxes.float().data<"float32">(),
            scores: d.scores.float().data<"float32">(),
            // Detector labels are 1-based (0 = background).
            labels: Array.from(d.labels.data<"int64">(), (v) => Number(v) - 1),
          },
          { boxes: t.boxes.float().data<"float32">(), labels: Array.from(t.labels.data<"int64">(), Number) },
        ];
      });
    },
    async draw(c) {
      const [pred, gt] = [await drawn(c.input, c.pred, c), await drawn(c.hr, c.gt, c)];
      const row = [
        { image: pred, caption: `${c.inputName} + detections` },
        { image: gt, caption: "HR + ground truth" },
      ];
      return { pred: ["pred_boxes", pred], gt: ["gt_boxes", gt], row };
    },
  },
  // Detectors resize internally (Faster R-CNN to a short side of 800); outputs are the first image's detections.
  inspect: { input: [3, 320, 320], outputs: (out) => (out as DetectorOutput).detections[0] },
  exportHead(net, arch) {
    if (net instanceof FasterRcnn) {
      const graphs = rcnnGraphs(net);
      return { fn: graphs.stage1, output: "detections", rcnn: graphs };
    }
    const g = ssdGraph(net as never, arch);
    return { fn: g.forward, output: "detections", detection: g.settings };
  },
});
