/**
 * Image decoding and encoding with sharp. Pixels are 8-bit, interleaved HWC, row-major.
 * EXIF orientation is applied on read; alpha is dropped; grey is expanded to RGB unless `channels: "keep"`.
 */
import { readFile } from "node:fs/promises";
import sharp, { type Sharp } from "sharp";
import { TasksrError } from "../../errors.js";
import { pixels } from "../pixels.js";

export interface Image {
  /** H * W * channels bytes, HWC order. */
  data: Uint8Array;
  width: number;
  height: number;
  /** 3 (RGB) or 1 (grey, only with channels: "keep"). */
  channels: 1 | 3;
}

export interface ReadOptions {
  /** "rgb" (default) always returns 3 channels; "keep" keeps single-channel (grey) images as 1 channel. */
  channels?: "rgb" | "keep";
}

/** True for JPEG bytes (SOI marker followed by another marker). */
const isJpeg = (b: Uint8Array): boolean => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/**
 * The EXIF orientation of a JPEG (1 when it has none): its APP1 "Exif" segment's IFD0 tag 0x0112. Reads only the
 * markers before the image data.
 */
export function jpegOrientation(b: Uint8Array): number {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 2;
  while (pos + 4 <= b.length && b[pos] === 0xff) {
    const marker = b[pos + 1]!;
    // Start of scan or end of image: no metadata after this.
    if (marker === 0xda || marker === 0xd9) break;
    const len = view.getUint16(pos + 2);
    const body = pos + 4;
    if (marker === 0xe1 && len >= 16 && body + len - 2 <= b.length && view.getUint32(body) === 0x45786966) {
      const tiff = body + 6;
      const le = view.getUint16(tiff) === 0x4949;
      const ifd = tiff + view.getUint32(tiff + 4, le);
      if (ifd + 2 > b.length) return 1;
      const count = view.getUint16(ifd, le);
      for (let i = 0; i < count && ifd + 2 + 12 * (i + 1) <= b.length; i++) {
        const e = ifd + 2 + 12 * i;
        if (view.getUint16(e, le) === 0x0112) return view.getUint16(e + 8, le);
      }
      return 1;
    }
    pos = body + len - 2;
  }
  return 1;
}

async function decode(input: string | Buffer, where: string, o: ReadOptions): Promise<Image> {
  try {
    const bytes = typeof input === "string" ? await readFile(input) : input;
    // JPEGs decode with libjpeg-turbo on the thread pool (2.5x faster than this sharp build's decoder, and the
    // pixels PIL decodes); rotated (EXIF) and CMYK files go through sharp, which rotates and converts them.
    if (isJpeg(bytes) && jpegOrientation(bytes) === 1) {
      const img = await pixels().decodeJpeg(bytes, o.channels === "keep");
      if (img) return img;
    }
    const base = sharp(bytes, { failOn: "error" }).rotate();
    // The header is read only when grey images keep one channel.
    const meta = o.channels === "keep" ? await sharp(bytes, { failOn: "error" }).metadata() : undefined;
    const grey = meta !== undefined && (meta.channels === 1 || meta.channels === 2 || meta.space === "b-w");
    const pipeline = grey ? base.removeAlpha().toColourspace("b-w") : base.removeAlpha().toColourspace("srgb");
    const { data, info } = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    const channels = info.channels === 1 ? 1 : 3;
    if (info.channels !== channels) {
      throw new Error(`decoder produced ${info.channels} channels`);
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels,
    };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" ? "the file does not exist" : e.message;
    throw new TasksrError("E_BAD_FILE", `cannot decode image ${where}: ${why}`, { cause: err });
  }
}

/** Reads a PNG/JPEG/WebP/TIFF/GIF file. Fails with E_BAD_FILE naming the file when it is missing or corrupt. */
export function readImage(path: string, o: ReadOptions = {}): Promise<Image> {
  return decode(path, path, o);
}

/** Decodes an encoded image held in memory; `where` names it in errors. */
export function decodeImage(bytes: Buffer, where: string, o: ReadOptions = {}): Promise<Image> {
  return decode(bytes, where, o);
}

/**
 * Width and height as readImage will return them (EXIF rotation applied) from the file header, without decoding
 * the pixels.
 */
export async function readImageSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const m = await sharp(path).metadata();
    if (m.width === undefined || m.height === undefined) throw new Error("no size in the header");
    // EXIF orientations 5-8 rotate by 90 degrees.
    const swap = (m.orientation ?? 1) >= 5;
    return swap ? { width: m.height, height: m.width } : { width: m.width, height: m.height };
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read the size of image ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export interface WriteOptions {
  /** JPEG/WebP quality 1..100 (default 95). */
  quality?: number;
  /** JPEG chroma subsampling (default "4:4:4", full colour resolution; cameras and COCO use "4:2:0"). */
  chromaSubsampling?: "4:4:4" | "4:2:0";
}

function encoder(img: Image, format: string, o: WriteOptions): Sharp {
  const s = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: img.channels },
  });
  switch (format) {
    case "png":
      return s.png({ compressionLevel: 6 });
    case "jpg":
    case "jpeg":
      return s.jpeg({ quality: o.quality ?? 95, chromaSubsampling: o.chromaSubsampling ?? "4:4:4" });
    case "webp":
      return s.webp({ quality: o.quality ?? 95 });
    default:
      throw new TasksrError("E_BAD_FILE", `cannot encode images as .${format}: use .png, .jpg or .webp`);
  }
}

/** Encodes to PNG/JPEG/WebP chosen by the file extension and writes the file. */
export async function writeImage(path: string, img: Image, o: WriteOptions = {}): Promise<void> {
  checkImage(img);
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  await encoder(img, ext, o).toFile(path);
}

/** Encodes to a Buffer in `format` ("png", "jpg"/"jpeg", "webp"; anything else is E_BAD_FILE). */
export function encodeImage(img: Image, format: string, o: WriteOptions = {}): Promise<Buffer> {
  checkImage(img);
  return encoder(img, format, o).toBuffer();
}

function checkImage(img: Image): void {
  const want = img.width * img.height * img.channels;
  if (img.data.length !== want) {
    throw new TasksrError(
      "E_TENSOR_ARG",
      `image data has ${img.data.length} bytes, expected ${img.height}x${img.width}x${img.channels} = ${want}`,
    );
  }
}
