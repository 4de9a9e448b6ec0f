/**
 * PSNR/SSIM of SR image files against HR files: two files, or two directories whose images are paired by file name
 * without extension (`baby.png` with `baby.png`, `baby.jpg`, ...).
 *
 * Images are read as 8-bit. Under basicsr a grey image stays one channel (the benchmarks' published numbers compare
 * grey images on their raw values); if only one of the pair is grey it is expanded to RGB. sr4ir always reads RGB.
 * When the scale is given and the HR image is larger than the SR image by less than the scale on each side (what an
 * SR of the un-cropped LR leaves, HR not yet cut to a multiple of the scale), the HR is cropped top-left to the SR
 * size as the reference scripts do; any other size difference is an error.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { type Image, readImage } from "../data/io/image.js";
import { TasksrError } from "../errors.js";
import { PsnrMeter, type PsnrSummary } from "./psnr.js";
import { protocolCrop, type SrProtocol } from "./sr-protocol.js";
import { SsimMeter, type SsimSummary } from "./ssim.js";

const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"]);

export interface SrFilesOptions {
  protocol: SrProtocol;
  /** Required by basicsr (crop); with sr4ir it only enables the HR size tolerance above. */
  scale?: number;
  ssim?: boolean;
}

export interface SrImageResult {
  name: string;
  sr: string;
  hr: string;
  /** dB; +Infinity for identical images. */
  psnr: number;
  ssim?: number;
  /** True when the HR image was cropped to the SR size. */
  hrCropped: boolean;
}

export interface SrFilesReport {
  protocol: SrProtocol;
  scale?: number;
  crop: number;
  images: SrImageResult[];
  psnr: PsnrSummary;
  ssim?: SsimSummary;
}

function isDirectory(path: string, what: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `cannot read the ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Image files of `dir` by name without extension. */
function imagesByStem(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(dir).sort()) {
    const ext = extname(f).toLowerCase();
    if (!IMAGE_EXTENSIONS.has(ext)) continue;
    const stem = basename(f, extname(f));
    const other = out.get(stem);
    if (other !== undefined) {
      throw new TasksrError("E_CLI_ARG", `${dir}: two images named "${stem}" (${basename(other)}, ${f}); keep one`);
    }
    out.set(stem, join(dir, f));
  }
  return out;
}

/** [name, SR file, HR file] pairs. */
export function pairImages(srPath: string, hrPath: string): [string, string, string][] {
  const srDir = isDirectory(srPath, "SR input");
  const hrDir = isDirectory(hrPath, "HR input");
  if (srDir !== hrDir) {
    throw new TasksrError("E_CLI_ARG", `give two image files or two directories, got ${srPath} and ${hrPath}`);
  }
  if (!srDir) return [[basename(srPath, extname(srPath)), srPath, hrPath]];
  const sr = imagesByStem(srPath);
  const hr = imagesByStem(hrPath);
  const missing = [...sr.keys()].filter((s) => !hr.has(s));
  if (missing.length > 0) {
    throw new TasksrError(
      "E_CLI_ARG",
      `${missing.length} SR image(s) have no HR image of the same name in ${hrPath}: ${missing.slice(0, 5).join(", ")}` +
        (missing.length > 5 ? ", ..." : ""),
    );
  }
  if (sr.size === 0) throw new TasksrError("E_CLI_ARG", `${srPath}: no images (${[...IMAGE_EXTENSIONS].join(" ")})`);
  return [...sr].map(([name, file]) => [name, file, hr.get(name)!]);
}

function toRgb(img: Image): Image {
  if (img.channels === 3) return img;
  const data = new Uint8Array(img.data.length * 3);
  for (let i = 0; i < img.data.length; i++) data.fill(img.data[i]!, 3 * i, 3 * i + 3);
  return { ...img, data, channels: 3 };
}

function cropTopLeft(img: Image, width: number, height: number): Image {
  const C = img.channels;
  const data = new Uint8Array(width * height * C);
  for (let y = 0; y < height; y++)
    data.set(img.data.subarray(y * img.width * C, (y * img.width + width) * C), y * width * C);
  return { data, width, height, channels: C };
}

/** Reads one pair as the protocol compares it (see the module comment). */
export async function readPair(
  srFile: string,
  hrFile: string,
  o: SrFilesOptions,
): Promise<{ sr: Image; hr: Image; hrCropped: boolean }> {
  const channels = o.protocol === "basicsr" ? "keep" : "rgb";
  let sr = await readImage(srFile, { channels });
  let hr = await readImage(hrFile, { channels });
  if (sr.channels !== hr.channels) {
    sr = toRgb(sr);
    hr = toRgb(hr);
  }
  const dw = hr.width - sr.width;
  const dh = hr.height - sr.height;
  if (dw === 0 && dh === 0) return { sr, hr, hrCropped: false };
  const s = o.scale;
  if (s !== undefined && dw >= 0 && dh >= 0 && dw < s && dh < s) {
    return { sr, hr: cropTopLeft(hr, sr.width, sr.height), hrCropped: true };
  }
  throw new TasksrError(
    "E_BAD_FILE",
    `SR ${srFile} is ${sr.width}x${sr.height} but HR ${hrFile} is ${hr.width}x${hr.height}: sizes must match ` +
      `(the HR may only exceed the SR by less than the scale${s === undefined ? ", given with --scale" : ` (${s})`})`,
  );
}

/** PSNR (and SSIM) of every pair; dataset means as the protocol defines them. */
export async function evaluateSrFiles(srPath: string, hrPath: string, o: SrFilesOptions): Promise<SrFilesReport> {
  const crop = protocolCrop(o);
  const psnr = new PsnrMeter(o);
  const ssim = o.ssim ? new SsimMeter(o) : undefined;
  const images: SrImageResult[] = [];
  // The cropped image must keep at least one pixel, or one SSIM window.
  const minSide = 2 * crop + (ssim ? 11 : 1);
  for (const [name, srFile, hrFile] of pairImages(srPath, hrPath)) {
    const { sr, hr, hrCropped } = await readPair(srFile, hrFile, o);
    if (sr.width < minSide || sr.height < minSide) {
      throw new TasksrError(
        "E_BAD_FILE",
        `${srFile} is ${sr.width}x${sr.height}: ${o.protocol} crops ${crop} px per side` +
          `${ssim ? " and SSIM needs 11x11 pixels after it" : ""}, so images must be at least ${minSide}x${minSide}`,
      );
    }
    const r: SrImageResult = { name, sr: srFile, hr: hrFile, psnr: psnr.update(sr, hr), hrCropped };
    if (ssim) r.ssim = ssim.update(sr, hr);
    images.push(r);
  }
  const report: SrFilesReport = { protocol: o.protocol, crop, images, psnr: psnr.compute() };
  if (o.scale !== undefined) report.scale = o.scale;
  if (ssim) report.ssim = ssim.compute();
  return report;
}
