/**
 * `tasksr eval --visualize`: for the first `count` evaluation images, writes the LR image, the image the task network
 * sees (SR output, interpolation or HR), the HR image, the prediction (colourised mask, drawn boxes, or the class in
 * the caption) and the ground truth, plus one captioned grid of them all (grid.png).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tensorToImages } from "../data/degrade/image_tensor.js";
import type { Image } from "../data/io/image.js";
import { writeImage } from "../data/io/image.js";
import { type Batch, cropBack } from "../data/loader/collate.js";
import { noGrad } from "../engine/autograd.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import type { Detector } from "../models/detection/types.js";
import type { SegmenterOutput, TaskNetwork } from "../models/types.js";
import type { Module } from "../nn/module.js";
import { classColour, colorizeMask, composeGrid, drawBoxes, type GridCell } from "../report/draw.js";

type Labels =
  | { kind: "class"; label: number; prob?: number }
  | { kind: "mask"; mask: Uint8Array }
  | { kind: "boxes"; boxes: Float32Array; labels: number[]; scores?: Float32Array };

interface Captured {
  id: string;
  lr: Image;
  input: Image;
  hr: Image;
  pred: Labels;
  gt: Labels;
}

/** One visualised image in index.json; file names are relative to the folder. */
export interface VisualizedImage {
  id: string;
  lr: string;
  /** The task network's input (absent when it is the HR image). */
  input?: string;
  hr: string;
  /** The image that shows the task output: the input (classification), the colourised prediction, or the input
   * with the detections drawn. */
  shown: string;
  /** The ground truth drawn (segmentation, detection). */
  truthImage?: string;
  predicted?: { label: number; name: string; prob: number };
  truth?: { label: number; name: string };
}

export interface VisualizeOptions {
  dir: string;
  /** Images to keep (default 8). */
  count?: number;
  /** Class names, index = dataset label. */
  classes: readonly string[];
  /** File-name tag of the task network's input: "sr", "hr", "bicubic", "bilinear". */
  inputName: string;
  /** Detections below this score are not drawn (default 0.5). */
  scoreThreshold?: number;
}

const safe = (id: string): string => id.replace(/[^\w.-]+/g, "_").slice(0, 80);

/** [N, 3, H, W] crops of a batch tensor: per-image sizes for padded detection batches, else the first n. */
function images(x: Tensor, n: number, sizes?: readonly (readonly [number, number])[]): Image[] {
  if (sizes === undefined) return tensorToImages(x.narrow(0, 0, n));
  return cropBack(x.narrow(0, 0, n), sizes.slice(0, n)).flatMap((t) => tensorToImages(t.unsqueeze(0)));
}

/** Images visualised when no count is given. */
export const DEFAULT_VIS_COUNT = 8;

export class Visualizer {
  readonly #kept: Captured[] = [];
  readonly #count: number;

  constructor(
    readonly o: VisualizeOptions,
    readonly net: Module<never[], unknown>,
  ) {
    this.#count = o.count ?? DEFAULT_VIS_COUNT;
  }

  /** Keeps the batch's images and predictions while fewer than `count` are kept. Call inside a scope. */
  capture(lr: Tensor, x: Tensor, batch: Batch): void {
    const n = Math.min(batch.hr.shape[0]!, this.#count - this.#kept.length);
    if (n <= 0) return;
    scope(() =>
      noGrad(() => {
        const s = x.shape[2]! / lr.shape[2]!;
        const sizes = batch.task === "detection" ? batch.sizes : undefined;
        const lrSizes = sizes?.map(([h, w]) => [Math.floor(h / s), Math.floor(w / s)] as const);
        const [lrs, inputs, hrs] = [images(lr, n, lrSizes), images(x, n, sizes), images(batch.hr, n, sizes)];
        const xs = x.narrow(0, 0, n);
        for (const [i, [pred, gt]] of this.#labels(xs, batch, n).entries()) {
          this.#kept.push({ id: batch.ids[i]!, lr: lrs[i]!, input: inputs[i]!, hr: hrs[i]!, pred, gt });
        }
      }),
    );
  }

  /** Predictions and ground truth of the first n images of the batch. */
  #labels(xs: Tensor, batch: Batch, n: number): [Labels, Labels][] {
    switch (batch.task) {
      case "classification": {
        const probs = (this.net as unknown as TaskNetwork<Tensor>).call(xs).softmax(1).float().data<"float32">();
        const k = probs.length / n;
        const gt = batch.labels.data<"int64">();
        return Array.from({ length: n }, (_, i) => {
          const row = probs.subarray(i * k, (i + 1) * k);
          const label = row.indexOf(Math.max(...row));
          return [
            { kind: "class", label, prob: row[label]! },
            { kind: "class", label: Number(gt[i]) },
          ];
        });
      }
      case "segmentation": {
        const pred = (this.net as unknown as TaskNetwork<SegmenterOutput>)
          .call(xs)
          .out.argmax(1)
          .to("uint8")
          .data<"uint8">();
        const gt = batch.masks.narrow(0, 0, n).to("uint8").data<"uint8">();
        const size = pred.length / n;
        return Array.from({ length: n }, (_, i) => [
          { kind: "mask", mask: pred.slice(i * size, (i + 1) * size) },
          { kind: "mask", mask: gt.slice(i * size, (i + 1) * size) },
        ]);
      }
      case "detection": {
        const dets = (this.net as unknown as Detector).forwardTaps(cropBack(xs, batch.sizes.slice(0, n)), []).out
          .detections;
        return dets.map((d, i) => {
          const t = batch.targets[i]!;
          return [
            {
              kind: "boxes",
              boxes: d.boxes.float().data<"float32">(),
              scores: d.scores.float().data<"float32">(),
              // Detector labels are 1-based (0 = background).
              labels: Array.from(d.labels.data<"int64">(), (v) => Number(v) - 1),
            },
            {
              kind: "boxes",
              boxes: t.boxes.float().data<"float32">(),
              labels: Array.from(t.labels.data<"int64">(), Number),
            },
          ];
        });
      }
    }
  }

  #name = (label: number): string => this.o.classes[label] ?? String(label);

  async #boxes(img: Image, l: Extract<Labels, { kind: "boxes" }>): Promise<Image> {
    const thr = this.o.scoreThreshold ?? 0.5;
    const boxes = l.labels.flatMap((label, k) => {
      const score = l.scores?.[k];
      if (score !== undefined && score < thr) return [];
      const b = [l.boxes[4 * k]!, l.boxes[4 * k + 1]!, l.boxes[4 * k + 2]!, l.boxes[4 * k + 3]!] as const;
      if (!(b[2] > b[0] && b[3] > b[1])) return [];
      const text = score === undefined ? this.#name(label) : `${this.#name(label)} ${score.toFixed(2)}`;
      return [{ box: b, label: text, colour: classColour(label) }];
    });
    return drawBoxes(img, boxes);
  }

  /**
   * Writes every kept image, grid.png and index.json (per image: its files by role and, for classification, the
   * predicted and true class), so that other reports can lay the images out; returns the paths written.
   */
  async write(): Promise<string[]> {
    const dir = this.o.dir;
    await mkdir(dir, { recursive: true });
    const written: string[] = [];
    const index: VisualizedImage[] = [];
    const put = async (name: string, img: Image) => {
      const path = join(dir, name);
      await writeImage(path, img);
      written.push(path);
      return name;
    };
    const cells: GridCell[] = [];
    let columns = 3;
    const inputName = this.o.inputName;
    // With HR as the input, the input image is the HR image: written and shown once.
    const hrInput = inputName === "hr";
    for (const [k, c] of this.#kept.entries()) {
      const stem = `${String(k).padStart(3, "0")}_${safe(c.id)}`;
      const entry: VisualizedImage = { id: c.id, lr: await put(`${stem}_lr.png`, c.lr), hr: "", shown: "" };
      entry.input = hrInput ? undefined : await put(`${stem}_${inputName}.png`, c.input);
      entry.hr = await put(`${stem}_hr.png`, c.hr);
      entry.shown = entry.input ?? entry.hr;
      index.push(entry);
      const row: GridCell[] = [{ image: c.lr, caption: `LR ${c.id}` }];
      if (c.pred.kind === "class" && c.gt.kind === "class") {
        const p = `${this.#name(c.pred.label)} ${((c.pred.prob ?? 0) * 100).toFixed(0)}%`;
        const gt = `gt ${this.#name(c.gt.label)}`;
        entry.predicted = { label: c.pred.label, name: this.#name(c.pred.label), prob: c.pred.prob ?? 0 };
        entry.truth = { label: c.gt.label, name: this.#name(c.gt.label) };
        if (hrInput) row.push({ image: c.hr, caption: `HR: ${p}, ${gt}` });
        else row.push({ image: c.input, caption: `${inputName}: ${p}` }, { image: c.hr, caption: `HR, ${gt}` });
      } else if (c.pred.kind === "mask" && c.gt.kind === "mask") {
        const [pred, gt] = [
          colorizeMask(c.pred.mask, c.hr.width, c.hr.height),
          colorizeMask(c.gt.mask, c.hr.width, c.hr.height),
        ];
        entry.shown = await put(`${stem}_pred.png`, pred);
        entry.truthImage = await put(`${stem}_gt.png`, gt);
        if (!hrInput) row.push({ image: c.input, caption: inputName });
        row.push(
          { image: c.hr, caption: "HR" },
          { image: pred, caption: "prediction" },
          { image: gt, caption: "ground truth" },
        );
      } else if (c.pred.kind === "boxes" && c.gt.kind === "boxes") {
        const [pred, gt] = [await this.#boxes(c.input, c.pred), await this.#boxes(c.hr, c.gt)];
        entry.shown = await put(`${stem}_pred_boxes.png`, pred);
        entry.truthImage = await put(`${stem}_gt_boxes.png`, gt);
        row.push({ image: pred, caption: `${inputName} + detections` }, { image: gt, caption: "HR + ground truth" });
      }
      columns = row.length;
      cells.push(...row);
    }
    if (cells.length) {
      // Cells 256 px on their long side: large images shrink, small ones (and LR) grow by nearest neighbour.
      const w = Math.max(...cells.map((c) => c.image.width));
      const h = Math.max(...cells.map((c) => c.image.height));
      const f = 256 / Math.max(w, h);
      const grid = await composeGrid(cells, {
        columns,
        cellWidth: Math.round(w * f),
        cellHeight: Math.round(h * f),
        fontSize: 12,
      });
      await put("grid.png", grid);
    }
    const indexPath = join(dir, "index.json");
    await writeFile(indexPath, `${JSON.stringify(index, null, 2)}\n`);
    written.push(indexPath);
    return written;
  }
}
