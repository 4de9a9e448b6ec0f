/** Classification: one class per image; cross-entropy, top-1/top-5, logits exported as `logits`. */
import { type ClassificationBatch, uploadClassification } from "../../data/loader/collate.js";
import type { Tensor } from "../../engine/tensor.js";
import type { TaskNetwork } from "../../models/types.js";
import { expectBatch } from "../adapter.js";
import { defineTask } from "../registry.js";
import { classificationAdapter } from "./adapter.js";
import { classificationData } from "./data.js";

interface ClassLabel {
  label: number;
  prob?: number;
}

defineTask({
  name: "classification",
  data: classificationData,
  metrics: { primary: "top1", labels: { top1: "top-1 (%)", top5: "top-5 (%)" } },
  upload: uploadClassification,
  adapter: (net, o) => classificationAdapter(net as TaskNetwork<Tensor>, o),
  visual: {
    predict(net, xs, batch, n): [ClassLabel, ClassLabel][] {
      const b = expectBatch<ClassificationBatch>(batch, "classification");
      const probs = (net as unknown as TaskNetwork<Tensor>).call(xs).softmax(1).float().data<"float32">();
      const k = probs.length / n;
      const gt = b.labels.data<"int64">();
      return Array.from({ length: n }, (_, i) => {
        const row = probs.subarray(i * k, (i + 1) * k);
        const label = row.indexOf(Math.max(...row));
        return [{ label, prob: row[label]! }, { label: Number(gt[i]) }];
      });
    },
    // The class goes in the caption of the image the network saw.
    async draw(c) {
      const p = `${c.className(c.pred.label)} ${((c.pred.prob ?? 0) * 100).toFixed(0)}%`;
      const gt = `gt ${c.className(c.gt.label)}`;
      const index = {
        predicted: { label: c.pred.label, name: c.className(c.pred.label), prob: c.pred.prob ?? 0 },
        truth: { label: c.gt.label, name: c.className(c.gt.label) },
      };
      const row = c.hrInput
        ? [{ image: c.hr, caption: `HR: ${p}, ${gt}` }]
        : [
            { image: c.input, caption: `${c.inputName}: ${p}` },
            { image: c.hr, caption: `HR, ${gt}` },
          ];
      return { row, index };
    },
  },
  inspect: { input: [3, 224, 224] },
  exportHead: (net) => ({ fn: (x) => net.call(x) as Tensor, output: "logits" }),
});
