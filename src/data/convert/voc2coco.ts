/**
 * PASCAL VOC XML -> COCO instances JSON, exactly as SR4IR prepares its detection data (methods.md A3,
 * `preprocess/voc2coco/voc2coco.py` run by `main.sh`):
 * - categories 1..20 in the VOC label order, `supercategory: "none"`;
 * - one image per id of `ImageSets/Main/<split>.txt`, `id` = the file stem as a string ("2008_000008"), file name
 *   from `<path>` when present, else `<filename>`; images without objects are kept;
 * - bbox = [xmin - 1, ymin - 1, xmax - (xmin - 1), ymax - (ymin - 1)] with each coordinate truncated to an integer
 *   first, area = w * h, iscrowd 0, ignore 0, empty segmentation; annotation ids count from 1;
 * - the `difficult` flag is ignored: difficult objects become normal ground truth.
 * Any malformed annotation stops the conversion with E_BAD_FILE naming the file (and the object).
 */
import { writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { TasksrError } from "../../errors.js";
import { readIdList } from "../datasets/files.js";
import { VOC_DET_CLASSES } from "../datasets/voc_detection.js";
import { readVocXml } from "../io/voc_xml.js";

export interface Voc2CocoOptions {
  /** The VOC year folder (holds Annotations and ImageSets/Main). */
  root: string;
  /** Name of a list in `ImageSets/Main`. */
  split: string;
  /** Label order; category ids are 1..n in this order. Default: the 20 VOC classes. */
  classes?: readonly string[];
}

export interface CocoInstancesJson {
  images: { file_name: string; height: number; width: number; id: string }[];
  type: "instances";
  annotations: {
    area: number;
    iscrowd: 0;
    bbox: [number, number, number, number];
    category_id: number;
    ignore: 0;
    segmentation: [];
    image_id: string;
    id: number;
  }[];
  categories: { supercategory: "none"; id: number; name: string }[];
}

/** Builds the COCO JSON object (keys in the order SR4IR's script writes them). */
export async function vocToCoco(o: Voc2CocoOptions): Promise<CocoInstancesJson> {
  const classes = o.classes ?? VOC_DET_CLASSES;
  const idOf = new Map(classes.map((c, i) => [c, i + 1]));
  const ids = await readIdList(join(o.root, "ImageSets", "Main", `${o.split}.txt`), "VOC split list");
  const out: CocoInstancesJson = { images: [], type: "instances", annotations: [], categories: [] };
  for (const id of ids) {
    const file = join(o.root, "Annotations", `${id}.xml`);
    const ann = await readVocXml(file);
    const bad = (what: string) => new TasksrError("E_BAD_FILE", `VOC annotation ${file}: ${what}`);
    if (ann.size === undefined) throw bad("has no <size>, which the COCO image entry needs");
    const fileName = ann.path !== undefined ? basename(ann.path) : ann.filename;
    if (fileName === "") throw bad("has neither <path> nor <filename>");
    const imageId = basename(fileName).replace(/\.[^.]*$/, "");
    out.images.push({
      file_name: fileName,
      height: Math.trunc(ann.size.height),
      width: Math.trunc(ann.size.width),
      id: imageId,
    });
    for (const [i, obj] of ann.objects.entries()) {
      const categoryId = idOf.get(obj.name);
      if (categoryId === undefined)
        throw bad(`object[${i}] has class "${obj.name}", not one of the ${classes.length} classes`);
      const x1 = Math.trunc(obj.bndbox.xmin) - 1;
      const y1 = Math.trunc(obj.bndbox.ymin) - 1;
      const x2 = Math.trunc(obj.bndbox.xmax);
      const y2 = Math.trunc(obj.bndbox.ymax);
      if (x2 <= x1 || y2 <= y1) throw bad(`object[${i}] (${obj.name}) has an empty box after truncation`);
      out.annotations.push({
        area: (x2 - x1) * (y2 - y1),
        iscrowd: 0,
        bbox: [x1, y1, x2 - x1, y2 - y1],
        category_id: categoryId,
        ignore: 0,
        segmentation: [],
        image_id: imageId,
        id: out.annotations.length + 1,
      });
    }
  }
  out.categories = classes.map((name, i) => ({ supercategory: "none", id: i + 1, name }));
  return out;
}

/** Converts and writes `out`; returns the counts for the caller's summary. */
export async function writeVocToCoco(
  o: Voc2CocoOptions & { out: string },
): Promise<{ images: number; annotations: number }> {
  const json = await vocToCoco(o);
  await writeFile(o.out, JSON.stringify(json));
  return { images: json.images.length, annotations: json.annotations.length };
}
