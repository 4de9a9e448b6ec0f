/** Semantic segmentation: a class per pixel; cross-entropy (+ aux), mIoU, per-class scores exported as `masks`. */
import { type SegmentationBatch, uploadSegmentation } from "../../data/loader/collate.js";
import type { SegmenterOutput, TaskNetwork } from "../../models/types.js";
import { colorizeMask } from "../../report/draw.js";
import { expectBatch } from "../adapter.js";
import { defineTask } from "../registry.js";
import { segmentationAdapter } from "./adapter.js";
import { segmentationData } from "./data.js";

defineTask({
  name: "segmentation",
  data: segmentationData,
  metrics: { primary: "mIoU", labels: { mIoU: "mIoU (%)", pixelAcc: "pixel acc. (%)" } },
  upload: uploadSegmentation,
  adapter: (net, o) => segmentationAdapter(net as TaskNetwork<SegmenterOutput>, o),
  visual: {
    predict(net, xs, batch, n): [Uint8Array, Uint8Array][] {
      const b = expectBatch<SegmentationBatch>(batch, "segmentation");
      const pred = (net as unknown as TaskNetwork<SegmenterOutput>).call(xs).out.argmax(1).to("uint8").data<"uint8">();
      const gt = b.masks.narrow(0, 0, n).to("uint8").data<"uint8">();
      const size = pred.length / n;
      return Array.from({ length: n }, (_, i) => [
        pred.slice(i * size, (i + 1) * size),
        gt.slice(i * size, (i + 1) * size),
      ]);
    },
    async draw(c) {
      const pred = colorizeMask(c.pred, c.hr.width, c.hr.height);
      const gt = colorizeMask(c.gt, c.hr.width, c.hr.height);
      const row = [
        ...(c.hrInput ? [] : [{ image: c.input, caption: c.inputName }]),
        { image: c.hr, caption: "HR" },
        { image: pred, caption: "prediction" },
        { image: gt, caption: "ground truth" },
      ];
      return { pred: ["pred", pred], gt: ["gt", gt], row };
    },
  },
  inspect: { input: [3, 480, 480] },
  exportHead: (net) => ({ fn: (x) => (net.call(x) as SegmenterOutput).out, output: "masks" }),
});
