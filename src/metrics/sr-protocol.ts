/**
 * The two image-quality protocols (methods.md A11 and D) and the pixel planes they compare.
 *
 * - `sr4ir`: RGB (every channel of the image), 8 px cropped on every side whatever the scale.
 * - `basicsr`: the Y channel of MATLAB's rgb2ycbcr (BT.601, `16 + (65.481 R + 128.553 G + 24.966 B) / 255` on 8-bit
 *   values, kept in float64, not rounded); single-channel (grey) images are compared on their raw grey values; crop =
 *   scale pixels on every side.
 *
 * Both protocols compare 8-bit images: float inputs in [0, 1] are quantised first as the reference code does
 * (`×255` in the input's precision, round half to even like `torch.round`/`np.round`, clamp to [0, 255]).
 */
import { TasksrError } from "../errors.js";

export type SrProtocol = "sr4ir" | "basicsr";

export const SR_PROTOCOLS: readonly SrProtocol[] = ["sr4ir", "basicsr"];

/** An image as the quality metrics read it. */
export interface MetricImage {
  /**
   * `width * height * channels` values. Uint8Array / Uint8ClampedArray: 8-bit levels 0..255 (an `Image` from
   * data/io fits as is). Float32Array / Float64Array: values in [0, 1] (a network output), quantised to 8 bits.
   */
  data: Uint8Array | Uint8ClampedArray | Float32Array | Float64Array;
  width: number;
  height: number;
  /** 3 = RGB, 1 = grey. */
  channels: 1 | 3;
  /** Memory order: "hwc" (default; interleaved, row-major, as `Image`) or "chw" (planar, as a tensor [C, H, W]). */
  layout?: "hwc" | "chw";
}

export interface SrProtocolOptions {
  protocol: SrProtocol;
  /** SR scale factor. Required by `basicsr` (it is the crop); `sr4ir` crops 8 px at every scale and ignores it. */
  scale?: number;
}

/** Planes compared by a protocol: [planes, height, width] float64, row-major, after quantisation and crop. */
export interface Planes {
  data: Float64Array;
  planes: number;
  height: number;
  width: number;
}

/** Pixels cropped from every side under `o`. */
export function protocolCrop(o: SrProtocolOptions): number {
  if (o.protocol === "sr4ir") return 8;
  if (o.protocol === "basicsr") {
    if (o.scale === undefined || !Number.isInteger(o.scale) || o.scale < 1) {
      throw new TasksrError("E_TENSOR_ARG", `protocol basicsr needs the SR scale (a positive integer), got ${o.scale}`);
    }
    return o.scale;
  }
  throw new TasksrError("E_UNKNOWN_NAME", `unknown quality protocol "${String(o.protocol)}": use sr4ir or basicsr`);
}

/** Round half to even, as torch.round and np.round. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The 8-bit level of every value of `img`, in the image's own memory order: Uint8 data is returned as is; float data
 * is multiplied by 255 in its own precision (float32 stays float32, as in torch), rounded half to even and clamped.
 */
function levels(img: MetricImage, what: string): Uint8Array | Uint8ClampedArray {
  const d = img.data;
  if (d instanceof Uint8Array || d instanceof Uint8ClampedArray) return d;
  const out = new Uint8Array(d.length);
  const f32 = d instanceof Float32Array;
  for (let i = 0; i < d.length; i++) {
    const x = d[i]!;
    if (Number.isNaN(x)) {
      throw new TasksrError("E_TENSOR_ARG", `${what}: value ${i} is NaN; quality metrics need values in [0, 1]`);
    }
    const v = roundHalfEven(f32 ? Math.fround(x * 255) : x * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** Throws unless `img` is a well-formed MetricImage; `what` names it. */
function checkMetricImage(img: MetricImage, what: string): void {
  const { width, height, channels, data } = img;
  const ok =
    Number.isInteger(width) &&
    width > 0 &&
    Number.isInteger(height) &&
    height > 0 &&
    (channels === 1 || channels === 3);
  if (!ok) {
    throw new TasksrError(
      "E_TENSOR_ARG",
      `${what}: expected positive integer width/height and channels 1 or 3, got ${width}x${height}x${channels}`,
    );
  }
  const isArray =
    data instanceof Uint8Array ||
    data instanceof Uint8ClampedArray ||
    data instanceof Float32Array ||
    data instanceof Float64Array;
  if (!isArray || data.length !== width * height * channels) {
    throw new TasksrError(
      "E_TENSOR_ARG",
      `${what}: expected a Uint8Array or Float32Array/Float64Array of ${width}*${height}*${channels} values, got ` +
        (isArray ? `${data.length}` : "another type"),
    );
  }
  if (img.layout !== undefined && img.layout !== "hwc" && img.layout !== "chw") {
    throw new TasksrError("E_TENSOR_ARG", `${what}: layout must be "hwc" or "chw", got "${String(img.layout)}"`);
  }
}

/** Throws unless SR and HR have the same size and channels and survive the crop (plus `minSide` after it). */
export function checkPair(sr: MetricImage, hr: MetricImage, crop: number, minSide: number): void {
  checkMetricImage(sr, "SR image");
  checkMetricImage(hr, "HR image");
  if (sr.width !== hr.width || sr.height !== hr.height || sr.channels !== hr.channels) {
    throw new TasksrError(
      "E_TENSOR_ARG",
      `SR and HR images differ: SR ${sr.width}x${sr.height}x${sr.channels}, HR ${hr.width}x${hr.height}x${hr.channels}`,
    );
  }
  if (sr.width - 2 * crop < minSide || sr.height - 2 * crop < minSide) {
    throw new TasksrError(
      "E_TENSOR_ARG",
      `image ${sr.width}x${sr.height} is too small: cropping ${crop} px per side must leave at least ` +
        `${minSide}x${minSide} pixels`,
    );
  }
}

/**
 * The planes `protocol` compares for `img`: quantise, crop `crop` px from every side, then (basicsr, 3 channels) the
 * float Y plane or (otherwise) every channel as is. Shapes: in [H, W, C] or [C, H, W]; out [P, H - 2crop, W - 2crop]
 * with P = 1 for basicsr and P = C for sr4ir.
 */
export function comparedPlanes(img: MetricImage, protocol: SrProtocol, crop: number, what: string): Planes {
  const q = levels(img, what);
  const { width: W, height: H, channels: C } = img;
  const h = H - 2 * crop;
  const w = W - 2 * crop;
  // Strides of (y, x, c) in the source array.
  const chw = img.layout === "chw";
  const sy = chw ? W : W * C;
  const sx = chw ? 1 : C;
  const sc = chw ? H * W : 1;
  const toY = protocol === "basicsr" && C === 3;
  const P = toY ? 1 : C;
  const out = new Float64Array(P * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = (y + crop) * sy + (x + crop) * sx;
      const dst = y * w + x;
      if (toY) {
        out[dst] = 16 + (65.481 * q[src]! + 128.553 * q[src + sc]! + 24.966 * q[src + 2 * sc]!) / 255;
      } else {
        for (let c = 0; c < P; c++) out[c * h * w + dst] = q[src + c * sc]!;
      }
    }
  }
  return { data: out, planes: P, height: h, width: w };
}
