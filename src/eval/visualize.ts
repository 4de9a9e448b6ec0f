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
import type { Module } from "../nn/module.js";
import { composeGrid, type GridCell } from "../report/draw.js";
import { getTask, type TaskVisual } from "../tasks/registry.js";

interface Captured {
  id: string;
  lr: Image;
  input: Image;
  hr: Image;
  /** The task's prediction and ground truth of the image, as its `visual` draws them. */
  pred: unknown;
  gt: unknown;
  visual: TaskVisual;
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
        const sizes = batch.sizes;
        const lrSizes = sizes?.map(([h, w]) => [Math.floor(h / s), Math.floor(w / s)] as const);
        const [lrs, inputs, hrs] = [images(lr, n, lrSizes), images(x, n, sizes), images(batch.hr, n, sizes)];
        const xs = x.narrow(0, 0, n);
        const visual = getTask(batch.task).visual;
        for (const [i, [pred, gt]] of visual.predict(this.net, xs, batch, n).entries()) {
          this.#kept.push({ id: batch.ids[i]!, lr: lrs[i]!, input: inputs[i]!, hr: hrs[i]!, pred, gt, visual });
        }
      }),
    );
  }

  #name = (label: number): string => this.o.classes[label] ?? String(label);

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
      const d = await c.visual.draw({
        input: c.input,
        hr: c.hr,
        pred: c.pred,
        gt: c.gt,
        inputName,
        hrInput,
        className: this.#name,
        scoreThreshold: this.o.scoreThreshold ?? 0.5,
      });
      if (d.pred) entry.shown = await put(`${stem}_${d.pred[0]}.png`, d.pred[1]);
      if (d.gt) entry.truthImage = await put(`${stem}_${d.gt[0]}.png`, d.gt[1]);
      Object.assign(entry, d.index);
      const row: GridCell[] = [{ image: c.lr, caption: `LR ${c.id}` }, ...d.row];
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
