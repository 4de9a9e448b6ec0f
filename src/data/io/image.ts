/**
 * Image decoding and encoding with sharp. Pixels are 8-bit, interleaved HWC, row-major.
 * EXIF orientation is applied on read; alpha is dropped; grey is expanded to RGB unless `channels: "keep"`.
 */
import sharp, { type Sharp } from "sharp";
import { TasksrError } from "../../errors.js";

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

async function decode(input: string | Buffer, where: string, o: ReadOptions): Promise<Image> {
  try {
    const base = sharp(input, { failOn: "error" }).rotate();
    const meta = await sharp(input, { failOn: "error" }).metadata();
    const grey = o.channels === "keep" && (meta.channels === 1 || meta.channels === 2 || meta.space === "b-w");
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
    throw new TasksrError("E_BAD_FILE", `cannot decode image ${where}: ${(err as Error).message}`, { cause: err });
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
      return s.jpeg({ quality: o.quality ?? 95, chromaSubsampling: "4:4:4" });
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
