/**
 * MNIST-style classification from IDX files: `<root>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`.
 * Both files are read into memory when the dataset opens (Fashion-MNIST train: 47 MB); grey images are returned
 * as RGB (the grey value repeated) so every classification dataset yields the same kind of image.
 */
import { join } from "node:path";
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import { type IdxArray, readIdx } from "../io/idx.js";
import type { Image } from "../io/image.js";
import { parseOptions } from "../options.js";
import type { ClassTarget, Sample } from "../types.js";
import { FileDataset, onBadSampleSchema, type SkippedSample } from "./base.js";
import { exists } from "./files.js";

/** Fashion-MNIST label names (Xiao et al. 2017; torchvision's order). */
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
] as const;
export const MNIST_CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;

export const idxSchema = z.strictObject({
  /** Folder with the IDX files (the Debian dataset-fashion-mnist package installs them here). */
  root: z.string().min(1).default("/usr/share/datasets/fashion-mnist"),
  split: z.enum(["train", "test"]).default("train"),
  /** Label names: a known set or an explicit list (label = position). */
  classes: z
    .union([z.enum(["fashion-mnist", "mnist"]), z.array(z.string().min(1)).min(1)], {
      error: 'expected "fashion-mnist", "mnist" or a non-empty list of names',
    })
    .default("fashion-mnist"),
  onBadSample: onBadSampleSchema,
});
export type IdxOptions = z.input<typeof idxSchema>;

interface Entry {
  /** Position in the IDX file, as a string. */
  id: string;
  index: number;
}

async function locate(root: string, base: string): Promise<string> {
  for (const name of [`${base}.gz`, base]) if (await exists(join(root, name))) return join(root, name);
  throw new TasksrError("E_BAD_FILE", `IDX dataset: neither ${join(root, base)}.gz nor ${join(root, base)} exists`);
}

export class IdxDataset extends FileDataset<ClassTarget, Entry> {
  readonly task = "classification" as const;
  readonly #images: IdxArray;
  readonly #labels: Uint8Array;

  private constructor(
    name: string,
    readonly classes: readonly string[],
    entries: Entry[],
    images: IdxArray,
    labels: Uint8Array,
    o: z.output<typeof idxSchema>,
    skipped: SkippedSample[],
  ) {
    super(name, entries, o.onBadSample, skipped);
    this.#images = images;
    this.#labels = labels;
  }

  /** Reads and checks both files: images [N, H, W] and labels [N] with the same N, labels within the classes. */
  static async open(options: IdxOptions = {}, where = "idx"): Promise<IdxDataset> {
    const o = parseOptions(idxSchema, options, where);
    const prefix = o.split === "train" ? "train" : "t10k";
    const imageFile = await locate(o.root, `${prefix}-images-idx3-ubyte`);
    const labelFile = await locate(o.root, `${prefix}-labels-idx1-ubyte`);
    const [images, labels] = await Promise.all([readIdx(imageFile), readIdx(labelFile)]);
    if (images.dims.length !== 3) {
      throw new TasksrError("E_BAD_FILE", `IDX file ${imageFile}: expected [N, H, W] images, got [${images.dims}]`);
    }
    if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
      throw new TasksrError(
        "E_BAD_FILE",
        `IDX file ${labelFile}: expected [${images.dims[0]}] labels to match ${imageFile}, got [${labels.dims}]`,
      );
    }
    const classes =
      o.classes === "fashion-mnist" ? FASHION_MNIST_CLASSES : o.classes === "mnist" ? MNIST_CLASSES : o.classes;
    const entries: Entry[] = [];
    const skipped: SkippedSample[] = [];
    for (let i = 0; i < labels.data.length; i++) {
      const label = labels.data[i]!;
      if (label < classes.length) {
        entries.push({ id: String(i), index: i });
        continue;
      }
      const reason = `IDX file ${labelFile}: label ${label} of sample ${i} is not below the ${classes.length} classes`;
      if (o.onBadSample === "error") throw new TasksrError("E_BAD_FILE", reason);
      skipped.push({ id: String(i), reason });
    }
    return new IdxDataset(`idx ${imageFile}`, classes, entries, images, labels.data, o, skipped);
  }

  protected async load(e: Entry): Promise<Sample<ClassTarget>> {
    const [, height, width] = this.#images.dims as [number, number, number];
    const grey = this.#images.data.subarray(e.index * height * width, (e.index + 1) * height * width);
    const data = new Uint8Array(height * width * 3);
    for (let p = 0; p < grey.length; p++) {
      const v = grey[p]!;
      data[3 * p] = v;
      data[3 * p + 1] = v;
      data[3 * p + 2] = v;
    }
    const image: Image = { data, width, height, channels: 3 };
    return { id: e.id, image, target: { kind: "class", label: this.#labels[e.index]! } };
  }

  async size(): Promise<{ width: number; height: number }> {
    return { width: this.#images.dims[2]!, height: this.#images.dims[1]! };
  }
}
