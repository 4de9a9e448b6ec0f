/**
 * Tiled SR inference for images of any size. The LR image is cut into `tile` x `tile` cores; each core runs with
 * `overlap` LR pixels of context on every side (clipped at the image border) and only the core's part of the
 * output is kept ("crop-of-overlap" stitching). When the network's receptive field reaches at most `overlap` LR
 * pixels, every kept output pixel sees exactly the input it would see untiled, so the result equals untiled
 * inference (up to floating-point summation order). Networks that pad internally to a size multiple
 * (`sizeMultiple` > 1) see different padding per tile and are only approximately equal.
 */
import { noGrad } from "../engine/autograd.js";
import { zeros } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { SrNetwork } from "../models/types.js";

export interface TileOptions {
  /** Core tile side in LR pixels; undefined or 0 runs the whole image at once. */
  tile?: number;
  /** LR pixels of context around each core (default 16; ignored without `tile`). */
  overlap?: number;
  /** Checked before each tile; an aborted signal stops with its reason (an AbortError by default). */
  signal?: AbortSignal;
  /** Called after each tile with the tiles done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** One core region [y0, y1) x [x0, x1) and its context region, in LR pixels. */
export interface TileRegion {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
  cy0: number;
  cy1: number;
  cx0: number;
  cx1: number;
}

function checkOptions(o: TileOptions): { tile: number; overlap: number } {
  const tile = o.tile ?? 0;
  const overlap = o.overlap ?? 16;
  if (!Number.isInteger(tile) || tile < 0) {
    throw new TasksrError("E_CLI_ARG", `tile must be a non-negative integer (0 = untiled), got ${tile}`);
  }
  if (!Number.isInteger(overlap) || overlap < 0) {
    throw new TasksrError("E_CLI_ARG", `overlap must be a non-negative integer, got ${overlap}`);
  }
  return { tile, overlap };
}

/** The tiles covering an h x w image, row by row; one tile when `tile` is 0 or covers the image. */
export function tileRegions(h: number, w: number, tile: number, overlap: number): TileRegion[] {
  const t = tile > 0 ? tile : Math.max(h, w);
  const out: TileRegion[] = [];
  for (let y0 = 0; y0 < h; y0 += t) {
    for (let x0 = 0; x0 < w; x0 += t) {
      const y1 = Math.min(h, y0 + t);
      const x1 = Math.min(w, x0 + t);
      out.push({
        y0,
        y1,
        x0,
        x1,
        cy0: Math.max(0, y0 - overlap),
        cy1: Math.min(h, y1 + overlap),
        cx0: Math.max(0, x0 - overlap),
        cx1: Math.min(w, x1 + overlap),
      });
    }
  }
  return out;
}

/**
 * Runs `net` (put in eval mode, without gradients) over `lr` [1, 3, h, w] tile by tile and returns the stitched
 * output [1, 3, h·s, w·s] float32 on the CPU (owned by the caller; not clamped). Tiles run on `lr`'s device; between
 * tiles the event loop gets a turn, so Ctrl-C handlers and progress bars stay live.
 */
export async function upscaleTiled(net: SrNetwork, lr: Tensor, o: TileOptions = {}): Promise<Tensor> {
  const { tile, overlap } = checkOptions(o);
  if (lr.ndim !== 4 || lr.shape[0] !== 1 || lr.shape[1] !== 3) {
    throw new TasksrError("E_TENSOR_ARG", `upscaleTiled: expected an LR image [1, 3, h, w], got [${lr.shape}]`);
  }
  const [h, w] = [lr.shape[2]!, lr.shape[3]!];
  const s = net.scale;
  const regions = tileRegions(h, w, tile, overlap);
  const was = net.training;
  net.eval();
  const out = zeros([1, 3, h * s, w * s]);
  try {
    for (const [i, r] of regions.entries()) {
      o.signal?.throwIfAborted();
      scope(() =>
        noGrad(() => {
          const input = lr.narrow(2, r.cy0, r.cy1 - r.cy0).narrow(3, r.cx0, r.cx1 - r.cx0);
          const y = net.call(input.contiguous()); // [1, 3, (cy1-cy0)·s, (cx1-cx0)·s]
          const expect = [(r.cy1 - r.cy0) * s, (r.cx1 - r.cx0) * s];
          if (y.shape[2] !== expect[0] || y.shape[3] !== expect[1]) {
            throw new TasksrError(
              "E_TENSOR_ARG",
              `upscaleTiled: a x${s} network returned [${y.shape}] for an input of [${input.shape}]`,
            );
          }
          const core = y
            .narrow(2, (r.y0 - r.cy0) * s, (r.y1 - r.y0) * s)
            .narrow(3, (r.x0 - r.cx0) * s, (r.x1 - r.x0) * s);
          out
            .narrow(2, r.y0 * s, (r.y1 - r.y0) * s)
            .narrow(3, r.x0 * s, (r.x1 - r.x0) * s)
            .copy_(core.to({ dtype: "float32", device: "cpu" }));
        }),
      );
      o.onProgress?.(i + 1, regions.length);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (err) {
    out.dispose();
    throw err;
  } finally {
    net.train(was);
  }
  return out;
}
