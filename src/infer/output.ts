/**
 * Writing an output image so that a failure never leaves a partial file: the image is encoded in memory (the file
 * extension choosing PNG, JPEG or WebP) and written with writeFileAtomic (temporary file in the same folder, fsync,
 * rename). On a failed write the temporary file is removed, an existing `path` is left as it was, and one E_WRITE
 * names `path` and the reason.
 */
import { extname } from "node:path";
import { encodeImage, type Image } from "../data/io/image.js";
import { writeFileAtomic } from "../fs/atomic.js";

export async function writeImageAtomic(path: string, img: Image): Promise<void> {
  writeFileAtomic(path, await encodeImage(img, extname(path).slice(1).toLowerCase()));
}
