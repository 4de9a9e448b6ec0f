/**
 * Detection adapter. Batches are padded to a multiple of the SR scale (A4), so every image is cropped back to its
 * own size before the detector (which resizes and normalises internally). Task loss = the unweighted sum of the
 * detector's losses (SR4IR's DETLoss; SSD: its MultiBox terms); metric COCO AP@[.5:.95] (A11).
 * Dataset labels are 0-based; detector labels are 1-based with 0 = background.
 */
import { cropBack, type DetectionBatch } from "../../data/loader/collate.js";
import { noGrad } from "../../engine/autograd.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import {
  badState,
  numberField,
  numbersField,
  stateArray,
  stateFields,
  stateNumber,
  stateNumbers,
  stateRecord,
} from "../../metrics/accumulator.js";
import { CocoEvaluator } from "../../metrics/coco/evaluator.js";
import { STAT_KEYS } from "../../metrics/coco/summarize.js";
import type { DetectionTarget, Detector } from "../../models/detection/types.js";
import { expectBatch, type LossTerms, type TaskAdapter } from "../adapter.js";

/** Dataset targets (0-based labels) as detector targets (labels + 1). The results join the caller's scope. */
function detectorTargets(b: DetectionBatch): DetectionTarget[] {
  return b.targets.map((t) => ({ boxes: t.boxes, labels: t.labels.add(1) }));
}

/** `numClasses`: the dataset's classes (without background); COCO category k + 1 is dataset class k. */
export function detectionAdapter(net: Detector, o: { numClasses: number }): TaskAdapter {
  return {
    task: "detection",
    net,
    tapNames: net.tapNames,
    loss(x, batch): LossTerms {
      const b = expectBatch<DetectionBatch>(batch, "detection");
      const losses = net.forwardTaps(cropBack(x, b.sizes), [], detectorTargets(b)).out.losses;
      if (losses === undefined || Object.keys(losses).length === 0) {
        throw new Error(`${net.constructor.name} returned no losses for a batch with targets`);
      }
      const parts = Object.values(losses);
      const total = parts.slice(1).reduce((a, l) => a.add(l), parts[0]!);
      return { total, parts: losses };
    },
    taps: (x, names, batch) =>
      scope(() => net.forwardTaps(cropBack(x, expectBatch<DetectionBatch>(batch, "detection").sizes), names).taps),
    paramGroups: () => [{ params: net.parameters().filter((p) => p.requiresGrad), lrMult: 1 }],
    evaluator() {
      // Ground truth is collected from the evaluation batches themselves, as a COCO instances object.
      const images: { id: number; width: number; height: number }[] = [];
      const annotations: {
        id: number;
        image_id: number;
        category_id: number;
        bbox: number[];
        area: number;
        iscrowd: 0;
      }[] = [];
      const predictions: { imageId: number; boxes: Float32Array; scores: Float32Array; labels: BigInt64Array }[] = [];
      return {
        primary: "AP",
        update(x: Tensor, batch) {
          const b = expectBatch<DetectionBatch>(batch, "detection");
          const dets = noGrad(() =>
            scope(() =>
              net.forwardTaps(cropBack(x, b.sizes), []).out.detections.map((d) => ({
                boxes: d.boxes.float().data<"float32">(),
                scores: d.scores.float().data<"float32">(),
                labels: d.labels.data<"int64">(),
              })),
            ),
          );
          for (const [i, t] of b.targets.entries()) {
            const id = images.length + 1;
            const [h, w] = b.sizes[i]!;
            images.push({ id, width: w, height: h });
            const boxes = scope(() => t.boxes.float().data<"float32">());
            const labels = scope(() => t.labels.data<"int64">());
            for (let k = 0; k < labels.length; k++) {
              const [x1, y1, x2, y2] = [boxes[4 * k]!, boxes[4 * k + 1]!, boxes[4 * k + 2]!, boxes[4 * k + 3]!];
              annotations.push({
                id: annotations.length + 1,
                image_id: id,
                category_id: Number(labels[k]) + 1,
                bbox: [x1, y1, x2 - x1, y2 - y1],
                area: (x2 - x1) * (y2 - y1),
                iscrowd: 0,
              });
            }
            predictions.push({ imageId: id, ...dets[i]! });
          }
        },
        compute() {
          const categories = Array.from({ length: o.numClasses }, (_, k) => ({ id: k + 1, name: `class ${k}` }));
          const ev = new CocoEvaluator({ images, annotations, categories }, "evaluation batches");
          for (const p of predictions)
            ev.updateImage(p.imageId, { boxes: p.boxes, scores: p.scores, labels: p.labels });
          const stats = ev.compute().stats;
          // -1 marks an undefined value (no ground truth in that area range), as pycocotools.
          return Object.fromEntries(STAT_KEYS.map((k) => [k, stats[k] < 0 ? -1 : 100 * stats[k]]));
        },
        // The CocoEvaluator is only built in compute(), from the ground truth these batches brought, so the state is
        // what was collected: `{settings: {numClasses}, images: [{width, height, boxes, scores, labels}],
        // annotations: [{image, category, bbox, area}]}`, images in order (image i has id i + 1 and its detector
        // output beside it), annotations in order with their image's id. Ids are positions, so merging renumbers
        // them after this evaluator's: the result is that of one evaluator fed these batches, then the state's.
        state: () => ({
          settings: { numClasses: o.numClasses },
          images: images.map((im, i) => ({
            width: im.width,
            height: im.height,
            boxes: stateNumbers(predictions[i]!.boxes),
            scores: stateNumbers(predictions[i]!.scores),
            labels: Array.from(predictions[i]!.labels, Number),
          })),
          annotations: annotations.map((a) => ({
            image: a.image_id,
            category: a.category_id,
            bbox: stateNumbers(a.bbox),
            area: stateNumber(a.area),
          })),
        }),
        mergeState(st) {
          const where = "detection evaluator mergeState";
          const r = stateFields(st, where, { numClasses: o.numClasses });
          const first = images.length + 1;
          const added = stateArray(r.images, where, "images: an array").map((v, i) => {
            const m = stateRecord(v, where, `images[${i}]: {width, height, boxes, scores, labels}`);
            const at = `${where}: images[${i}]`;
            const scores = numbersField(m, "scores", at);
            const n = scores.length;
            return {
              image: {
                id: first + i,
                width: numberField(m, "width", at, "count"),
                height: numberField(m, "height", at, "count"),
              },
              // The detector's float32 values, exact in JSON, so the boxes convert as they did on the other side.
              prediction: {
                imageId: first + i,
                boxes: Float32Array.from(numbersField(m, "boxes", at, { length: 4 * n })),
                scores: Float32Array.from(scores),
                labels: BigInt64Array.from(numbersField(m, "labels", at, { length: n, kind: "integer" }), BigInt),
              },
            };
          });
          const addedAnnotations = stateArray(r.annotations, where, "annotations: an array").map((v, j) => {
            const a = stateRecord(v, where, `annotations[${j}]: {image, category, bbox, area}`);
            const at = `${where}: annotations[${j}]`;
            const image = numberField(a, "image", at, "count");
            if (image < 1 || image > added.length) {
              throw badState(at, `image: the id of one of the state's ${added.length} images`, image);
            }
            return {
              id: annotations.length + j + 1,
              image_id: first - 1 + image,
              category_id: numberField(a, "category", at, "integer"),
              bbox: numbersField(a, "bbox", at, { length: 4 }),
              area: numberField(a, "area", at),
              iscrowd: 0 as const,
            };
          });
          for (const { image, prediction } of added) {
            images.push(image);
            predictions.push(prediction);
          }
          for (const a of addedAnnotations) annotations.push(a);
        },
      };
    },
  };
}
