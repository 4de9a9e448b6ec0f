/**
 * SR inference on onnxruntime instead of libtorch: the same tiles (src/infer/tiles.ts), byte conversions, progress
 * callback and AbortSignal as `upscaleImage`, for any ONNX SR model with one NCHW float32 input in [0, 1] (tasksr's
 * exports, docs/deploy.md, or a model exported from PyTorch the same way). The scale is read off the model by one
 * probe run, so a model needs no metadata.
 *
 * The core takes the onnxruntime module as an argument and imports neither Node nor the engine: onnxruntime-node
 * (`createUpscaler`) and the web page's onnxruntime-web worker run the same code.
 *
 * ```ts
 * const up = await createUpscaler({ model: "sr.onnx" });
 * const out = await up.upscale(image, { tile: 128, overlap: 16, onProgress: (d, n) => console.log(d, n) });
 * await up.release();
 * ```
 */
import type { Image } from "../data/io/image.js";
import { TasksrError } from "../errors.js";
import { roundHalfEven } from "../metrics/sr-protocol.js";
import { checkTileOptions, type TileOptions, type TileRegion, tileRegions } from "./tiles.js";

/** What tasksr needs of onnxruntime (node or web: both implement onnxruntime-common). */
export interface OrtTensorLike {
  readonly dims: readonly number[];
  readonly data: unknown;
  dispose?(): void;
}
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}
export interface OrtLike {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSessionLike> };
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => OrtTensorLike;
}

/** Round half to even and clamp to 8 bits, as the engine's tensorToImages (torch.round); ×255 in float32. */
export function toByte(v: number): number {
  const r = roundHalfEven(Math.fround(v * 255));
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

export class OnnxUpscaler {
  private constructor(
    readonly ort: OrtLike,
    readonly session: OrtSessionLike,
    /** Output pixels per input pixel, measured on the model. */
    readonly scale: number,
  ) {}

  /** Opens `model` (ONNX bytes) and measures its scale on an 8 × 8 input. */
  static async create(ort: OrtLike, model: Uint8Array, options: Record<string, unknown> = {}): Promise<OnnxUpscaler> {
    const session = await ort.InferenceSession.create(model, options);
    try {
      if (session.inputNames.length !== 1) {
        throw new TasksrError(
          "E_BAD_FILE",
          `the ONNX model has ${session.inputNames.length} inputs (${session.inputNames}); an SR model takes one [N, 3, h, w]`,
        );
      }
      const probe = await OnnxUpscaler.runOn(ort, session, new Float32Array(3 * 64), 8, 8);
      const [, c, h, w] = probe.dims;
      const scale = (h ?? 0) / 8;
      if (probe.dims.length !== 4 || c !== 3 || !Number.isInteger(scale) || scale < 1 || w !== 8 * scale) {
        throw new TasksrError(
          "E_BAD_FILE",
          `the ONNX model maps [1, 3, 8, 8] to [${probe.dims}]; an SR model returns [1, 3, 8·s, 8·s]`,
        );
      }
      return new OnnxUpscaler(ort, session, scale);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  private static async runOn(ort: OrtLike, session: OrtSessionLike, planar: Float32Array, h: number, w: number) {
    const input = new ort.Tensor("float32", planar, [1, 3, h, w]);
    try {
      const out = await session.run({ [session.inputNames[0]!]: input });
      const y = out[session.outputNames[0]!]!;
      for (const [k, t] of Object.entries(out)) if (k !== session.outputNames[0]) t.dispose?.();
      return { dims: y.dims, data: y.data as Float32Array, tensor: y };
    } finally {
      input.dispose?.();
    }
  }

  /** One forward: planar [1, 3, h, w] in [0, 1] -> [1, 3, h·s, w·s]. */
  async forward(planar: Float32Array, h: number, w: number): Promise<Float32Array> {
    const y = await OnnxUpscaler.runOn(this.ort, this.session, planar, h, w);
    const s = this.scale;
    if (y.dims[2] !== h * s || y.dims[3] !== w * s) {
      throw new TasksrError(
        "E_TENSOR_ARG",
        `upscale: a x${s} model returned [${y.dims}] for an input of [1,3,${h},${w}]`,
      );
    }
    const data = y.data.slice();
    y.tensor.dispose?.();
    return data;
  }

  /** Super-resolves an 8-bit RGB image tile by tile into a new 8-bit image of (h·s) × (w·s). */
  async upscale(img: Image, o: TileOptions = {}): Promise<Image> {
    if (img.channels !== 3) {
      throw new TasksrError("E_TENSOR_ARG", `upscale: expected an RGB image, got ${img.channels} channel(s)`);
    }
    const { tile, overlap } = checkTileOptions(o);
    const s = this.scale;
    const [h, w] = [img.height, img.width];
    const out: Image = { data: new Uint8Array(h * s * w * s * 3), width: w * s, height: h * s, channels: 3 };
    const regions = tileRegions(h, w, tile, overlap);
    for (const [i, r] of regions.entries()) {
      o.signal?.throwIfAborted();
      const y = await this.forward(planarRegion(img, r), r.cy1 - r.cy0, r.cx1 - r.cx0);
      keepCore(y, r, s, out);
      o.onProgress?.(i + 1, regions.length);
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    return out;
  }

  /**
   * Float version of `upscale`: planar [3, h, w] in [0, 1] -> planar [3, h·s, w·s], not rounded (what a task network
   * downstream sees in `tasksr eval` and in an `sr+task` graph). 12 bytes per output pixel: for large images use
   * `upscale`.
   */
  async upscalePlanar(planar: Float32Array, h: number, w: number, o: TileOptions = {}): Promise<Float32Array> {
    if (planar.length !== 3 * h * w) {
      throw new TasksrError("E_TENSOR_ARG", `upscalePlanar: expected 3·${h}·${w} values, got ${planar.length}`);
    }
    const { tile, overlap } = checkTileOptions(o);
    const s = this.scale;
    const out = new Float32Array(3 * h * s * w * s);
    const regions = tileRegions(h, w, tile, overlap);
    for (const [i, r] of regions.entries()) {
      o.signal?.throwIfAborted();
      const ch = r.cy1 - r.cy0;
      const cw = r.cx1 - r.cx0;
      const input = new Float32Array(3 * ch * cw);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < ch; y++) {
          const src = c * h * w + (r.cy0 + y) * w + r.cx0;
          input.set(planar.subarray(src, src + cw), (c * ch + y) * cw);
        }
      }
      const y = await this.forward(input, ch, cw); // [3, ch·s, cw·s]
      const [th, tw] = [ch * s, cw * s];
      const [oy, ox] = [(r.y0 - r.cy0) * s, (r.x0 - r.cx0) * s];
      const coreW = (r.x1 - r.x0) * s;
      for (let c = 0; c < 3; c++) {
        for (let row = 0; row < (r.y1 - r.y0) * s; row++) {
          const src = c * th * tw + (oy + row) * tw + ox;
          out.set(y.subarray(src, src + coreW), c * h * s * w * s + (r.y0 * s + row) * w * s + r.x0 * s);
        }
      }
      o.onProgress?.(i + 1, regions.length);
      // A turn of the event loop between tiles: a cancel message or Ctrl-C is seen before the next tile.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** The context region of an HWC 8-bit image as planar float [3, ch, cw] / 255. */
export function planarRegion(img: Image, r: TileRegion): Float32Array {
  const ch = r.cy1 - r.cy0;
  const cw = r.cx1 - r.cx0;
  const plane = ch * cw;
  const dst = new Float32Array(3 * plane);
  for (let y = 0; y < ch; y++) {
    let src = ((r.cy0 + y) * img.width + r.cx0) * 3;
    const row = y * cw;
    for (let x = 0; x < cw; x++, src += 3) {
      dst[row + x] = img.data[src]! / 255;
      dst[plane + row + x] = img.data[src + 1]! / 255;
      dst[2 * plane + row + x] = img.data[src + 2]! / 255;
    }
  }
  return dst;
}

/** Writes the core of a tile's output [3, (cy1-cy0)·s, (cx1-cx0)·s] into the 8-bit HWC output image. */
export function keepCore(sr: Float32Array, r: TileRegion, s: number, out: Image): void {
  const th = (r.cy1 - r.cy0) * s;
  const tw = (r.cx1 - r.cx0) * s;
  const plane = th * tw;
  const oy = (r.y0 - r.cy0) * s;
  const ox = (r.x0 - r.cx0) * s;
  for (let y = 0; y < (r.y1 - r.y0) * s; y++) {
    const srcRow = (oy + y) * tw + ox;
    let dst = ((r.y0 * s + y) * out.width + r.x0 * s) * 3;
    for (let x = 0; x < (r.x1 - r.x0) * s; x++, dst += 3) {
      out.data[dst] = toByte(sr[srcRow + x]!);
      out.data[dst + 1] = toByte(sr[plane + srcRow + x]!);
      out.data[dst + 2] = toByte(sr[2 * plane + srcRow + x]!);
    }
  }
}
