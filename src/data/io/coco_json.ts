/**
 * COCO annotation JSON, validated on read: instances files (`instances_*.json`: boxes per annotation) and
 * panoptic files (`panoptic_*.json`: one PNG per image plus `segments_info`). Extra keys are kept and ignored;
 * a missing or mistyped key fails with E_BAD_FILE naming the file and the JSON path.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import { describeIssues } from "../options.js";

/** COCO uses integer ids; VOC files converted as SR4IR does use strings such as "2008_000008". */
const id = z.union([z.number().int(), z.string().min(1)], { error: "expected an integer or a non-empty string id" });
const flag = z.union([z.number(), z.boolean()]).transform((v) => (v ? 1 : 0));

const image = z.looseObject({
  id,
  file_name: z.string().min(1),
  width: z.number().positive().optional(),
  height: z.number().positive().optional(),
});
const category = z.looseObject({
  id: z.number().int(),
  name: z.string().min(1),
  /** Panoptic files: 1 for countable objects, 0 for stuff. */
  isthing: z.number().optional(),
});
const instance = z.looseObject({
  id,
  image_id: id,
  category_id: z.number().int(),
  /** [x, y, width, height] in pixels. */
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  iscrowd: flag.default(0),
});
const segment = z.looseObject({
  id: z.number().int().nonnegative(),
  category_id: z.number().int(),
  iscrowd: flag.default(0),
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).optional(),
});
const panopticAnnotation = z.looseObject({
  image_id: id,
  file_name: z.string().min(1),
  segments_info: z.array(segment),
});

export const cocoInstancesSchema = z.looseObject({
  images: z.array(image),
  annotations: z.array(instance).default([]),
  categories: z.array(category),
});
export const cocoPanopticSchema = z.looseObject({
  images: z.array(image),
  annotations: z.array(panopticAnnotation),
  categories: z.array(category),
});
export type CocoInstances = z.output<typeof cocoInstancesSchema>;
export type CocoPanoptic = z.output<typeof cocoPanopticSchema>;

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new TasksrError(
      "E_BAD_FILE",
      `COCO JSON ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `COCO JSON ${file} is malformed: ${(err as Error).message}`, { cause: err });
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown, file: string, kind: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new TasksrError(
      "E_BAD_FILE",
      `COCO ${kind} JSON ${file} does not fit the format: ${describeIssues("", r.error.issues)}`,
    );
  }
  return r.data;
}

/** True when the parsed JSON looks like a panoptic file (annotations carry `segments_info`). */
const looksPanoptic = (v: unknown): boolean => {
  const anns = (v as { annotations?: unknown } | null)?.annotations;
  return (
    Array.isArray(anns) &&
    anns.length > 0 &&
    typeof anns[0] === "object" &&
    anns[0] !== null &&
    "segments_info" in anns[0]
  );
};

/** Reads an instances file, or a panoptic file whose segments then become instances (see `panopticToInstances`). */
export async function readCocoInstances(file: string): Promise<CocoInstances> {
  const v = await readJsonFile(file);
  if (looksPanoptic(v)) return panopticToInstances(validate(cocoPanopticSchema, v, file, "panoptic"));
  return validate(cocoInstancesSchema, v, file, "instances");
}

export async function readCocoPanoptic(file: string): Promise<CocoPanoptic> {
  return validate(cocoPanopticSchema, await readJsonFile(file), file, "panoptic");
}

/**
 * Instances from a panoptic file: one per segment of a "thing" category (categories without `isthing` count as
 * things), with the segment's bbox and iscrowd; the annotation id is the segment id. Segments without bbox are
 * dropped (they have no box to learn).
 */
export function panopticToInstances(p: CocoPanoptic): CocoInstances {
  // Segments of unknown categories are kept so the detection reader reports them.
  const stuff = new Set(p.categories.filter((c) => c.isthing === 0).map((c) => c.id));
  const annotations: CocoInstances["annotations"] = [];
  for (const a of p.annotations) {
    for (const s of a.segments_info) {
      if (stuff.has(s.category_id) || s.bbox === undefined) continue;
      annotations.push({
        id: s.id,
        image_id: a.image_id,
        category_id: s.category_id,
        bbox: s.bbox,
        iscrowd: s.iscrowd,
      });
    }
  }
  return { images: p.images, annotations, categories: p.categories.filter((c) => !stuff.has(c.id)) };
}
