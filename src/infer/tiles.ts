/**
 * Tile geometry shared by every SR backend (libtorch in src/infer/tile.ts, onnxruntime in src/infer/onnx.ts and the
 * web page): cores of `tile` LR pixels, each run with `overlap` pixels of context and only the core's output kept
 * (crop-of-overlap stitching: exact, with no seam, once the overlap covers the network's receptive field, where
 * blending overlapping outputs would only average two approximations). No engine imports, so the browser bundle and
 * the onnxruntime path load without libtorch.
 */
import { TasksrError } from "../errors.js";

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

export function checkTileOptions(o: TileOptions): { tile: number; overlap: number } {
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
