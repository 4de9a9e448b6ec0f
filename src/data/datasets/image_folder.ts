/**
 * Classification from a folder tree `<root>/<class>/**\/<image>`, as torchvision's ImageFolder: classes are the
 * sub-folder names in code-point order (label = position), images are found recursively and ordered folder by
 * folder, then by name. StanfordCars and CUB-200 (methods.md A3) are laid out this way.
 */
import { join } from "node:path";
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import { readImage, readImageSize } from "../io/image.js";
import { parseOptions } from "../options.js";
import type { ClassTarget, Sample } from "../types.js";
import { FileDataset, onBadSampleSchema } from "./base.js";
import { IMAGE_EXTENSIONS, listDir, listFilesRecursive } from "./files.js";

export const imageFolderSchema = z.strictObject({
  /** Folder holding one sub-folder per class. */
  root: z.string().min(1),
  /** File extensions to accept (lower case, with the dot). */
  extensions: z.array(z.string().regex(/^\.\w+$/)).default([...IMAGE_EXTENSIONS]),
  onBadSample: onBadSampleSchema,
});
export type ImageFolderOptions = z.input<typeof imageFolderSchema>;

interface Entry {
  /** `<class>/<path without extension>`, unique within the dataset. */
  id: string;
  file: string;
  label: number;
}

export class ImageFolder extends FileDataset<ClassTarget, Entry> {
  readonly task = "classification" as const;

  private constructor(
    name: string,
    readonly classes: readonly string[],
    entries: Entry[],
    o: z.output<typeof imageFolderSchema>,
  ) {
    super(name, entries, o.onBadSample, []);
  }

  /** Lists the tree; fails with E_BAD_FILE when the root is missing or a class folder holds no image. */
  static async open(options: ImageFolderOptions, where = "image-folder"): Promise<ImageFolder> {
    const o = parseOptions(imageFolderSchema, options, where);
    const { dirs: classes } = await listDir(o.root, "image-folder root");
    if (classes.length === 0) throw new TasksrError("E_BAD_FILE", `image-folder ${o.root} has no class sub-folders`);
    const entries: Entry[] = [];
    for (const [label, cls] of classes.entries()) {
      const files = await listFilesRecursive(join(o.root, cls), o.extensions, "class");
      if (files.length === 0) {
        throw new TasksrError(
          "E_BAD_FILE",
          `image-folder class folder ${join(o.root, cls)} has no image with extension ${o.extensions.join(", ")}`,
        );
      }
      for (const f of files)
        entries.push({ id: `${cls}/${f.replace(/\.[^./]+$/, "")}`, file: join(o.root, cls, f), label });
    }
    return new ImageFolder(`image-folder ${o.root}`, classes, entries, o);
  }

  protected async load(e: Entry): Promise<Sample<ClassTarget>> {
    return { id: e.id, image: await readImage(e.file), target: { kind: "class", label: e.label } };
  }

  size(index: number): Promise<{ width: number; height: number }> {
    return readImageSize(this.entry(index).file);
  }
}
