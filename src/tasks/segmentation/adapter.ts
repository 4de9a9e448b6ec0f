/**
 * Segmentation adapter: CE(out, y) + auxWeight * CE(aux, y) with ignore index 255 (A6.3); the aux head gets
 * `auxLrMult` x the base learning rate (A5.3); metric mIoU (A11).
 */
import type { SegmentationBatch } from "../../data/loader/collate.js";
import { noGrad } from "../../engine/autograd.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import { ConfusionMatrix } from "../../metrics/confusion.js";
import type { SegmenterOutput, TaskNetwork } from "../../models/types.js";
import { expectBatch, type LossTerms, type TaskAdapter } from "../adapter.js";

export interface SegmentationAdapterOptions {
  numClasses: number;
  auxWeight?: number;
  auxLrMult?: number;
}

const AUX_PREFIX = "aux_classifier.";

export function segmentationAdapter(net: TaskNetwork<SegmenterOutput>, o: SegmentationAdapterOptions): TaskAdapter {
  const auxWeight = o.auxWeight ?? 0.5;
  return {
    task: "segmentation",
    net,
    tapNames: net.tapNames,
    loss(x, batch): LossTerms {
      const b = expectBatch<SegmentationBatch>(batch, "segmentation");
      const { out, aux } = net.call(x);
      const ce = F.crossEntropy(out, b.masks, { ignoreIndex: 255 }); // out [N, K, H, W], masks [N, H, W]
      if (aux === undefined || auxWeight === 0) return { total: ce, parts: { ce } };
      const auxCe = F.crossEntropy(aux, b.masks, { ignoreIndex: 255 });
      return { total: ce.add(auxCe.mul(auxWeight)), parts: { ce, aux: auxCe } };
    },
    taps: (x, names) => scope(() => net.forwardTaps(x, names).taps),
    paramGroups() {
      const named = net.namedParameters();
      const main = named.filter(([k]) => !k.startsWith(AUX_PREFIX)).map(([, p]) => p);
      const aux = named.filter(([k]) => k.startsWith(AUX_PREFIX)).map(([, p]) => p);
      return aux.length
        ? [
            { params: main, lrMult: 1 },
            { params: aux, lrMult: o.auxLrMult ?? 10 },
          ]
        : [{ params: main, lrMult: 1 }];
    },
    evaluator() {
      // Classes absent from both prediction and ground truth are left out of the mean; on the reference VOC val set
      // every class occurs, so this equals torchvision's plain mean there and stays finite on small sets.
      const cm = new ConfusionMatrix(o.numClasses, { nan: "ignore" });
      return {
        primary: "mIoU",
        update(x, batch) {
          const b = expectBatch<SegmentationBatch>(batch, "segmentation");
          const pred = scope(() => noGrad(() => net.call(x).out.argmax(1).to("int32").data<"int32">()));
          cm.update(
            scope(() => b.masks.to("int32").data<"int32">()),
            pred,
          );
        },
        compute() {
          const r = cm.compute();
          return { mIoU: 100 * r.miou, pixelAcc: 100 * r.pixelAccuracy };
        },
        state: () => cm.state(),
        mergeState: (st) => cm.mergeState(st),
      };
    },
  };
}
