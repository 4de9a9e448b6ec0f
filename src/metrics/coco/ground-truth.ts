/**
 * COCO ground truth (the instances JSON) validated and packed into typed arrays, grouped as pycocotools' COCOeval
 * sees it: images and categories in ascending id order, and per (category, image) the annotations in file order.
 *
 * Fields used: images[].id; categories[].id (and name); annotations[].{id, image_id, category_id, bbox [x, y, w, h],
 * area, iscrowd}. As in pycocotools the annotation's own `area` (not w*h) selects the area range, and the IoU uses
 * the bbox. Where pycocotools would crash with a KeyError this port is lenient: a missing `iscrowd` is 0 and a missing
 * `area` is w*h. Annotations on images or of categories the file does not list, and annotation ids used twice, are
 * evaluated as pycocotools does (see lenient.ts) and counted, or refused under `strict`.
 */

import { arrayAt, badField, boxAt, numberAt, recordAt } from "../json-fields.js";
import { bucketSort, iota } from "./group.js";
import type { CocoReadOptions } from "./lenient.js";

export interface CocoImage {
  id: number;
  file_name?: string;
}

export interface CocoCategory {
  id: number;
  name?: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: readonly number[];
  /** Object area used for the small/medium/large ranges (segmentation area in COCO files); default w*h. */
  area?: number;
  /** 1 for crowd regions (matches to them are ignored); default 0. */
  iscrowd?: number | boolean;
}

export interface CocoGroundTruth {
  images: readonly CocoImage[];
  annotations: readonly CocoAnnotation[];
  categories: readonly CocoCategory[];
}

export interface CocoGroundTruthIndex {
  /** Names the source in messages (file path or "ground truth"). */
  where: string;
  /** [I] image ids, ascending and unique (pycocotools' params.imgIds). */
  imageIds: Float64Array;
  imageIndex: Map<number, number>;
  /** [I] file_name of each image ("" when absent). */
  fileNames: string[];
  /** [K] category ids, ascending and unique (params.catIds). */
  categoryIds: Float64Array;
  categoryIndex: Map<number, number>;
  /** [K] category names ("" when absent). */
  categoryNames: string[];
  /**
   * Annotations in file order: [n] id, image index, category index, area, crowd flag; [n, 4] bbox xywh. The image
   * (category) index is -1 for an annotation whose image_id (category_id) the file does not list.
   */
  annId: Float64Array;
  annImage: Int32Array;
  annCategory: Int32Array;
  annBox: Float64Array;
  annArea: Float64Array;
  annCrowd: Uint8Array;
  /**
   * The annotations COCOeval evaluates, sorted by (category, image, file order); category k spans catStart[k] ..
   * catStart[k+1]. An annotation whose id a later one uses again appears as that later one.
   */
  byCategory: Int32Array;
  catStart: Int32Array;
  /** Annotations read leniently (always 0 under `strict`): see CocoLenientCounts. */
  annotationsOnUnlistedImages: number;
  annotationsOfUnlistedCategories: number;
  annotationsWithReusedIds: number;
}

/** Ascending unique ids of `items` and their positions. */
function sortedIds(items: unknown[], where: string, field: string): { ids: Float64Array; index: Map<number, number> } {
  const raw = items.map((it, i) => numberAt(recordAt(it, where, `${field}[${i}]`).id, where, `${field}[${i}].id`));
  const ids = Float64Array.from(new Set(raw)).sort();
  return { ids, index: new Map(Array.from(ids, (id, i) => [id, i])) };
}

/** Validates a parsed COCO instances JSON and indexes it; `where` names it in errors. */
export function indexCocoGroundTruth(
  json: unknown,
  where = "ground truth",
  o: CocoReadOptions = {},
): CocoGroundTruthIndex {
  const root = recordAt(json, where, "top level");
  const images = arrayAt(root.images, where, "images");
  const categories = arrayAt(root.categories, where, "categories");
  const anns = arrayAt(root.annotations, where, "annotations");
  const img = sortedIds(images, where, "images");
  const cat = sortedIds(categories, where, "categories");
  const fileNames = new Array<string>(img.ids.length).fill("");
  for (const it of images as Record<string, unknown>[]) {
    if (typeof it.file_name === "string") fileNames[img.index.get(it.id as number)!] = it.file_name;
  }
  const categoryNames = new Array<string>(cat.ids.length).fill("");
  for (const it of categories as Record<string, unknown>[]) {
    if (typeof it.name === "string") categoryNames[cat.index.get(it.id as number)!] = it.name;
  }

  const n = anns.length;
  const annId = new Float64Array(n);
  const annImage = new Int32Array(n);
  const annCategory = new Int32Array(n);
  const annBox = new Float64Array(4 * n);
  const annArea = new Float64Array(n);
  const annCrowd = new Uint8Array(n);
  /** id -> the last annotation with it (pycocotools' `anns` dict, filled in file order). */
  const lastWithId = new Map<number, number>();
  let onUnlistedImages = 0;
  let ofUnlistedCategories = 0;
  for (let i = 0; i < n; i++) {
    const path = `annotations[${i}]`;
    const a = recordAt(anns[i], where, path);
    const id = numberAt(a.id, where, `${path}.id`);
    const earlier = lastWithId.get(id);
    if (earlier !== undefined && o.strict) {
      throw badField(where, `${path}.id`, `an id not used before (annotations[${earlier}])`, id);
    }
    lastWithId.set(id, i);
    annId[i] = id;
    const ii = img.index.get(numberAt(a.image_id, where, `${path}.image_id`));
    if (ii === undefined) {
      if (o.strict) throw badField(where, `${path}.image_id`, "the id of an entry of images", a.image_id);
      onUnlistedImages++;
    }
    annImage[i] = ii ?? -1;
    const ci = cat.index.get(numberAt(a.category_id, where, `${path}.category_id`));
    if (ci === undefined) {
      if (o.strict) throw badField(where, `${path}.category_id`, "the id of an entry of categories", a.category_id);
      ofUnlistedCategories++;
    }
    annCategory[i] = ci ?? -1;
    boxAt(a.bbox, where, `${path}.bbox`, annBox, 4 * i);
    annArea[i] =
      a.area === undefined ? annBox[4 * i + 2]! * annBox[4 * i + 3]! : numberAt(a.area, where, `${path}.area`);
    const crowd = a.iscrowd ?? 0;
    if (crowd !== 0 && crowd !== 1 && crowd !== true && crowd !== false) {
      throw badField(where, `${path}.iscrowd`, "0 or 1", crowd);
    }
    annCrowd[i] = crowd === 1 || crowd === true ? 1 : 0;
  }
  // COCOeval's _prepare: for each listed image in ascending id order, its annotations of listed categories in file
  // order, each loaded by id (so a reused id yields the last annotation with it, evaluated on that one's image and
  // category when those are listed); then grouped by (category, image) keeping that order.
  const listed = (j: number) => annImage[j]! >= 0 && annCategory[j]! >= 0;
  const visited = iota(n).filter(listed);
  const loaded = bucketSort(visited, annImage, img.ids.length)
    .sorted.map((i) => lastWithId.get(annId[i]!)!)
    .filter(listed);
  const byImage = bucketSort(loaded, annImage, img.ids.length).sorted;
  const { sorted: byCategory, start: catStart } = bucketSort(byImage, annCategory, cat.ids.length);
  return {
    where,
    imageIds: img.ids,
    imageIndex: img.index,
    fileNames,
    categoryIds: cat.ids,
    categoryIndex: cat.index,
    categoryNames,
    annId,
    annImage,
    annCategory,
    annBox,
    annArea,
    annCrowd,
    byCategory,
    catStart,
    annotationsOnUnlistedImages: onUnlistedImages,
    annotationsOfUnlistedCategories: ofUnlistedCategories,
    annotationsWithReusedIds: n - lastWithId.size,
  };
}
