/**
 * COCO semantic segmentation, from either
 * - single-channel PNGs whose pixel is a COCO panoptic category id (0 = unlabeled), one per image, matched to the
 *   images by file stem (the COCO-128 `semantic_segmentation/masks` layout), with category names from `categories`;
 * - or COCO panoptic annotations (`panoptic`: the JSON; `masks`: its PNG folder), where each pixel's segment id
 *   gives the category through `segments_info`.
 * Category ids map to contiguous labels in the order of `classes` (ids or names), by default every category in id
 * order. Unlabeled pixels and categories outside the class list become 255 (ignored).
 */
import { join, resolve } from "node:path";
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import { readClassNames } from "../io/class_names.js";
import { readCocoPanoptic } from "../io/coco_json.js";
import { readImage, readImageSize } from "../io/image.js";
import { checkMask, IGNORE_INDEX, readMask, readPanopticPng } from "../io/mask.js";
import { parseOptions } from "../options.js";
import type { MaskTarget, Sample } from "../types.js";
import { FileDataset, onBadSampleSchema, openSample, type SkippedSample } from "./base.js";
import { findByStem, IMAGE_EXTENSIONS, listDir, stemOf } from "./files.js";

export const cocoSemanticSchema = z.strictObject({
  /** Base folder for the relative paths below. */
  root: z.string().min(1).optional(),
  images: z.string().min(1),
  /** Semantic PNGs (pixel = category id), or the panoptic PNG folder when `panoptic` is given. */
  masks: z.string().min(1),
  /** A COCO panoptic JSON: switches to panoptic PNGs and supplies the categories. */
  panoptic: z.string().min(1).optional(),
  /** Category names for semantic PNGs: a COCO JSON with `categories`, or YAML with a `classes:`/`names:` id map. */
  categories: z.string().min(1).optional(),
  /** Label order: category ids or names; label i is classes[i]. Default: every category (id > 0) by id. */
  classes: z
    .array(
      z.union([z.number().int().positive("category ids start at 1 (0 means unlabeled)"), z.string().min(1)], {
        error: "expected a category id (an integer > 0; 0 means unlabeled) or a category name",
      }),
    )
    .min(1)
    .max(255)
    .optional(),
  onBadSample: onBadSampleSchema,
});
export type CocoSemanticOptions = z.input<typeof cocoSemanticSchema>;

interface Entry {
  id: string;
  image: string;
  mask: string;
  /** Panoptic mode: segment id -> label (or 255). */
  segments?: Map<number, number>;
}

/** Resolves the class list against the known categories: label order, names, and category id -> label. */
function classList(
  categories: Map<number, string> | undefined,
  classes: readonly (number | string)[] | undefined,
  where: string,
): { names: string[]; labelOf: Map<number, number> } {
  const configError = (what: string) => new TasksrError("E_CONFIG", `${where}.classes: ${what}`);
  let ids: number[];
  if (classes === undefined) {
    if (categories === undefined) {
      throw new TasksrError("E_CONFIG", `${where}: give "categories" (a file naming the category ids) or "classes"`);
    }
    ids = [...categories.keys()].filter((id) => id > 0).sort((a, b) => a - b);
    if (ids.length > 255) throw configError(`${ids.length} categories do not fit 8-bit labels; list at most 255`);
  } else {
    const byName = new Map([...(categories ?? new Map<number, string>())].map(([id, n]) => [n, id]));
    ids = classes.map((c, i) => {
      if (typeof c === "number") {
        if (categories !== undefined && !categories.has(c)) throw configError(`[${i}]: no category has id ${c}`);
        return c;
      }
      const found = byName.get(c);
      if (found === undefined) {
        throw configError(`[${i}]: no category is named "${c}"${categories ? "" : ' (names need "categories")'}`);
      }
      return found;
    });
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup !== undefined) throw configError(`category ${dup} is listed twice`);
  }
  return {
    names: ids.map((id) => categories?.get(id) ?? String(id)),
    labelOf: new Map(ids.map((id, label) => [id, label])),
  };
}

export class CocoSemantic extends FileDataset<MaskTarget, Entry> {
  readonly task = "segmentation" as const;
  /** Semantic mode: [256] category id -> label (or 255). */
  readonly #table: Uint8Array;

  private constructor(
    name: string,
    readonly classes: readonly string[],
    entries: Entry[],
    table: Uint8Array,
    o: z.output<typeof cocoSemanticSchema>,
    skipped: SkippedSample[],
  ) {
    super(name, entries, o.onBadSample, skipped);
    this.#table = table;
  }

  static async open(options: CocoSemanticOptions, where = "coco-semantic"): Promise<CocoSemantic> {
    const o = parseOptions(cocoSemanticSchema, options, where);
    const at = (p: string) => (o.root === undefined ? p : resolve(o.root, p));
    const images = at(o.images);
    const masks = at(o.masks);
    const skipped: SkippedSample[] = [];
    const entries: Entry[] = [];
    const table = new Uint8Array(256).fill(IGNORE_INDEX);
    let names: string[];
    if (o.panoptic !== undefined) {
      const file = at(o.panoptic);
      const p = await readCocoPanoptic(file);
      const cls = classList(new Map(p.categories.map((c) => [c.id, c.name])), o.classes, where);
      names = cls.names;
      const imageFile = new Map(p.images.map((im) => [String(im.id), im.file_name]));
      for (const [i, a] of p.annotations.entries()) {
        const id = String(a.image_id);
        const entry = await openSample(o.onBadSample, skipped, id, async () => {
          const name = imageFile.get(id);
          if (name === undefined) {
            throw new TasksrError(
              "E_BAD_FILE",
              `COCO panoptic JSON ${file}: annotations[${i}] has image_id ${id}, not in images`,
            );
          }
          const segments = new Map<number, number>();
          for (const s of a.segments_info) segments.set(s.id, cls.labelOf.get(s.category_id) ?? IGNORE_INDEX);
          return { id, image: join(images, name), mask: join(masks, a.file_name), segments };
        });
        if (entry) entries.push(entry);
      }
    } else {
      const categories = o.categories === undefined ? undefined : await readClassNames(at(o.categories));
      const cls = classList(categories, o.classes, where);
      names = cls.names;
      for (const [id, label] of cls.labelOf) if (id < 256) table[id] = label;
      const { files } = await listDir(masks, "mask");
      for (const f of files.filter((n) => n.toLowerCase().endsWith(".png"))) {
        const id = stemOf(f);
        const entry = await openSample(o.onBadSample, skipped, id, async () => {
          const image = await findByStem(images, id, IMAGE_EXTENSIONS);
          if (image === undefined)
            throw new TasksrError("E_BAD_FILE", `mask ${join(masks, f)} has no image ${join(images, id)}.*`);
          return { id, image, mask: join(masks, f) };
        });
        if (entry) entries.push(entry);
      }
    }
    return new CocoSemantic(`coco-semantic ${masks}`, names, entries, table, o, skipped);
  }

  protected async load(e: Entry): Promise<Sample<MaskTarget>> {
    const image = await readImage(e.image);
    let target: MaskTarget;
    if (e.segments === undefined) {
      target = await readMask(e.mask);
      for (let p = 0; p < target.mask.length; p++) target.mask[p] = this.#table[target.mask[p]!]!;
    } else {
      const { ids, width, height } = await readPanopticPng(e.mask);
      const mask = new Uint8Array(ids.length);
      for (let p = 0; p < ids.length; p++) {
        const seg = ids[p]!;
        if (seg === 0) {
          mask[p] = IGNORE_INDEX;
          continue;
        }
        const label = e.segments.get(seg);
        if (label === undefined) {
          throw new TasksrError("E_BAD_FILE", `panoptic PNG ${e.mask}: segment id ${seg} is not in its segments_info`);
        }
        mask[p] = label;
      }
      target = { kind: "mask", mask, width, height };
    }
    checkMask(target, image, e.mask);
    return { id: e.id, image, target };
  }

  size(index: number): Promise<{ width: number; height: number }> {
    return readImageSize(this.entry(index).image);
  }
}
