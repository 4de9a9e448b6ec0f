/**
 * Tiled SR inference for images of any size. The LR image is cut into `tile` x `tile` cores; each core runs with
 * `overlap` LR pixels of context on every side (clipped at the image border) and only the core's part of the
 * output is kept ("crop-of-overlap" stitching). When the network's receptive field reaches at most `overlap` LR
 * pixels, every kept output pixel sees exactly the input it would see untiled, so the result equals untiled
 * inference (up to floating-point summation order). Networks that pad internally to a size multiple
 * (`sizeMultiple` > 1) see different padding per tile and are only approximately equal.
 *
 * Memory: `upscaleImage` reads each tile's input from the 8-bit image and writes each core's output straight into
 * an 8-bit output image, so besides the two 8-bit images only one tile's tensors exist at a time (a float copy of a
 * 12000 x 8000 output alone would be 1.15 GB, and converting it to 8 bits needs several more).
 */

import type { Image } from "../data/io/image.js";
import { noGrad } from "../engine/autograd.js";
import { tensor, zeros } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import type { SrNetwork } from "../models/types.js";
import { checkTileOptions, type TileOptions, type TileRegion, tileRegions } from "./tiles.js";

export { type TileOptions, type TileRegion, tileRegions };

/**
 * Runs `net` in eval mode without gradients over the tiles of an h x w LR image. `input(r)` returns the context
 * region [1, 3, cy1-cy0, cx1-cx0] on the network's device; `keep(r, core)` receives the core's output
 * [1, 3, (y1-y0)·s, (x1-x0)·s] and must copy what it needs (the tile's tensors are freed when it returns). Between
 * tiles the event loop gets a turn, so Ctrl-C handlers and progress bars stay live.
 */
async function eachTile(
  net: SrNetwork,
  [h, w]: [number, number],
  o: TileOptions,
  input: (r: TileRegion) => Tensor,
  keep: (r: TileRegion, core: Tensor) => void,
): Promise<void> {
  const { tile, overlap } = checkTileOptions(o);
  const s = net.scale;
  const regions = tileRegions(h, w, tile, overlap);
  const was = net.training;
  net.eval();
  try {
    for (const [i, r] of regions.entries()) {
      o.signal?.throwIfAborted();
      scope(() =>
        noGrad(() => {
          const x = input(r);
          const y = net.call(x); // [1, 3, (cy1-cy0)·s, (cx1-cx0)·s]
          const expect = [(r.cy1 - r.cy0) * s, (r.cx1 - r.cx0) * s];
          if (y.shape[2] !== expect[0] || y.shape[3] !== expect[1]) {
            throw new TasksrError(
              "E_TENSOR_ARG",
              `upscale: a x${s} network returned [${y.shape}] for an input of [${x.shape}]`,
            );
          }
          keep(r, y.narrow(2, (r.y0 - r.cy0) * s, (r.y1 - r.y0) * s).narrow(3, (r.x0 - r.cx0) * s, (r.x1 - r.x0) * s));
        }),
      );
      o.onProgress?.(i + 1, regions.length);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    net.train(was);
  }
}

/**
 * Runs `net` (put in eval mode, without gradients) over `lr` [1, 3, h, w] tile by tile and returns the stitched
 * output [1, 3, h·s, w·s] float32 on the CPU (owned by the caller; not clamped). Tiles run on `lr`'s device. The
 * float output is 12 bytes per output pixel: for large images use `upscaleImage`.
 */
export async function upscaleTiled(net: SrNetwork, lr: Tensor, o: TileOptions = {}): Promise<Tensor> {
  if (lr.ndim !== 4 || lr.shape[0] !== 1 || lr.shape[1] !== 3) {
    throw new TasksrError("E_TENSOR_ARG", `upscaleTiled: expected an LR image [1, 3, h, w], got [${lr.shape}]`);
  }
  const [h, w] = [lr.shape[2]!, lr.shape[3]!];
  const s = net.scale;
  const out = zeros([1, 3, h * s, w * s]);
  try {
    await eachTile(
      net,
      [h, w],
      o,
      (r) =>
        lr
          .narrow(2, r.cy0, r.cy1 - r.cy0)
          .narrow(3, r.cx0, r.cx1 - r.cx0)
          .contiguous(),
      (r, core) =>
        out
          .narrow(2, r.y0 * s, (r.y1 - r.y0) * s)
          .narrow(3, r.x0 * s, (r.x1 - r.x0) * s)
          .copy_(core.to({ dtype: "float32", device: "cpu" })),
    );
  } catch (err) {
    out.dispose();
    throw err;
  }
  return out;
}

/**
 * Super-resolves an 8-bit RGB image tile by tile on `device` (default cpu) into a new 8-bit image of (h·s) x (w·s):
 * each tile's input is converted from the image's bytes (value / 255, as imagesToTensor) and each core's output
 * rounded half to even and clamped to 8 bits (as tensorToImages) straight into the output, so the result equals
 * tensorToImages(upscaleTiled(...)) with a peak memory of the two images plus one tile.
 */
export async function upscaleImage(
  net: SrNetwork,
  img: Image,
  o: TileOptions & { device?: string } = {},
): Promise<Image> {
  if (img.channels !== 3) {
    throw new TasksrError("E_TENSOR_ARG", `upscaleImage: expected an RGB image, got ${img.channels} channel(s)`);
  }
  const s = net.scale;
  const [h, w] = [img.height, img.width];
  const out: Image = { data: new Uint8Array(h * s * w * s * 3), width: w * s, height: h * s, channels: 3 };
  const hwc = tensor(img.data, { shape: [1, h, w, 3] }); // uint8, the size of the input file's pixels
  const rowBytes = w * s * 3;
  try {
    await eachTile(
      net,
      [h, w],
      o,
      (r) =>
        hwc
          .narrow(1, r.cy0, r.cy1 - r.cy0)
          .narrow(2, r.cx0, r.cx1 - r.cx0)
          .permute(0, 3, 1, 2)
          .to({ dtype: "float32", ...(o.device ? { device: o.device } : {}) })
          .div(255)
          .contiguous(), // NCHW, as upscaleTiled's tiles: a channels-last input takes other conv kernels
      (r, core) => {
        const bytes = core
          .mul(255)
          .round_()
          .clamp_(0, 255) // in place: one float copy of the core, not three
          .to({ dtype: "uint8", device: "cpu" })
          .permute(0, 2, 3, 1)
          .contiguous()
          .data<"uint8">(); // [(y1-y0)·s, (x1-x0)·s, 3]
        const coreRow = (r.x1 - r.x0) * s * 3;
        for (let y = 0; y < (r.y1 - r.y0) * s; y++) {
          const row = bytes.subarray(y * coreRow, (y + 1) * coreRow);
          out.data.set(row, (r.y0 * s + y) * rowBytes + r.x0 * s * 3);
        }
      },
    );
  } finally {
    hwc.dispose();
  }
  return out;
}
