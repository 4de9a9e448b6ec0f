/** JPEG compression artefacts, the last degradation step: encode at `quality` with sharp (libjpeg, 4:2:0) and decode. */
import sharp from "sharp";
import type { Tensor } from "../../engine/index.js";
import { check } from "../../errors.js";
import { decodeImage, type Image } from "../io/image.js";
import { imagesToTensor, tensorToImages } from "./image_tensor.js";

/** One 8-bit image through JPEG at `quality` (1..100). */
export async function jpegImage(img: Image, quality: number): Promise<Image> {
  check(
    Number.isInteger(quality) && quality >= 1 && quality <= 100,
    () => `jpeg: quality must be 1..100, got ${quality}`,
  );
  const raw = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const input = sharp(raw, { raw: { width: img.width, height: img.height, channels: img.channels } });
  // Without an explicit grey colourspace sharp would write a one-channel image as a 3-channel JPEG.
  const encoded = await (img.channels === 1 ? input.toColourspace("b-w") : input).jpeg({ quality }).toBuffer();
  return decodeImage(encoded, `JPEG (quality ${quality})`, { channels: img.channels === 1 ? "keep" : "rgb" });
}

/** [N, C, H, W] in [0, 1] through JPEG per image; same shape and device. The caller owns the result. */
export async function jpegTensor(x: Tensor, quality: number): Promise<Tensor> {
  const images = await Promise.all(tensorToImages(x).map((im) => jpegImage(im, quality)));
  return imagesToTensor(images, x.device);
}
