/** Classification adapter: cross-entropy on logits [N, C]; metric top-1/top-5 (A6.3, A11). */
import type { ClassificationBatch } from "../../data/loader/collate.js";
import { noGrad } from "../../engine/autograd.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { TopKAccuracy } from "../../metrics/classification.js";
import type { TaskNetwork } from "../../models/types.js";
import { expectBatch, type TaskAdapter } from "../adapter.js";

export function classificationAdapter(
  net: TaskNetwork<Tensor>,
  o: { numClasses: number; labelSmoothing?: number },
): TaskAdapter {
  return {
    task: "classification",
    net,
    tapNames: net.tapNames,
    loss(x, batch) {
      const b = expectBatch<ClassificationBatch>(batch, "classification");
      const ce = F.crossEntropy(net.call(x), b.labels, { labelSmoothing: o.labelSmoothing ?? 0 });
      return { total: ce, parts: { ce } };
    },
    taps: (x, names) => scope(() => net.forwardTaps(x, names).taps),
    paramGroups: () => [{ params: net.parameters(), lrMult: 1 }],
    evaluator() {
      const acc = new TopKAccuracy({ numClasses: o.numClasses, ks: o.numClasses >= 5 ? [1, 5] : [1] });
      return {
        primary: "top1",
        update(x, batch) {
          const b = expectBatch<ClassificationBatch>(batch, "classification");
          const scores = scope(() => noGrad(() => net.call(x).float().data<"float32">()));
          acc.update(scores, b.labels.toArray());
        },
        compute() {
          const r = acc.compute();
          return Object.fromEntries(Object.entries(r.top).map(([k, v]) => [`top${k}`, 100 * v]));
        },
        state: () => acc.state(),
        mergeState: (st) => acc.mergeState(st),
      };
    },
  };
}
