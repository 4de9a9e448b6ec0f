/**
 * Host memory of `upscaleImage` on the CPU, estimated before the first tile, so that an image too large for the
 * chosen tile (`--tile 0` runs the whole image as one tile) is refused with a message instead of being killed by the
 * kernel's OOM killer halfway through.
 *
 * The estimate is what the process holds already (the engine, the network, the decoded input), the 8-bit output and
 * the input's tensor copy, and the forward pass of the largest tile. A forward pass's tensors grow with the tile's
 * area: they are measured once per network as the engine's CPU high-water mark on two small inputs and extrapolated
 * linearly (the slope covers the activations at every resolution, the intercept what does not grow with the input;
 * the peak bytes per pixel measured at 16 px agree with 256 px within 2% for EDSR and DBPN). Resident memory runs
 * higher than the tensors' peak: the engine's pool maps 1 GiB at a time and keeps freed blocks resident
 * (docs/engine.md, Memory), and tiles of alternating shapes land on different parts of it. Measured with edsr-tiny
 * x4: 8.29 GB of tensors for a whole 1500 x 1000 image took 10.1 GB, 1.81 GB per tile of that image at --tile 512
 * took 2.10 GB, and 1.94 GB per tile of a 3000 x 2000 image 3.14 GB (3 GiB mapped); so the forward pass is counted
 * as POOL_SLACK times its tensors.
 */
import { noGrad } from "../engine/autograd.js";
import { zeros } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import { memory, resetPeakMemory } from "../engine/system.js";
import { TasksrError } from "../errors.js";
import type { SrNetwork } from "../models/types.js";
import { tileRegions } from "./tile.js";

/** Peak CPU bytes of one forward pass: `fixed + perPixel · (LR pixels of the input)`. */
export interface ForwardCost {
  perPixel: number;
  fixed: number;
}

/** Peak CPU bytes of `net`'s forward pass on a side x side input, above what was allocated before. */
function forwardPeak(net: SrNetwork, side: number): number {
  return scope(() =>
    noGrad(() => {
      const x = zeros([1, 3, side, side]);
      const base = memory().cpuBytes;
      resetPeakMemory();
      net.call(x);
      return memory().cpuPeakBytes - base;
    }),
  );
}

/** Measures `net`'s forward memory on the CPU (in eval mode, as tiles run) from two probes of 16 and 32 LR pixels. */
export function measureForward(net: SrNetwork): ForwardCost {
  const was = net.training;
  net.eval();
  try {
    const [a, b] = [16, 32];
    const [pa, pb] = [forwardPeak(net, a), forwardPeak(net, b)];
    const perPixel = Math.max(0, (pb - pa) / (b * b - a * a));
    return { perPixel, fixed: Math.max(0, pb - perPixel * b * b) };
  } finally {
    net.train(was);
  }
}

/** Resident bytes of a forward pass per byte of its tensors' peak, from the measurements above. */
const POOL_SLACK = 1.6;

export interface UpscaleMemory {
  /** What the process holds before the image is upscaled. */
  held: number;
  /** The output image and the input's tensor copy, 8 bits per channel. */
  images: number;
  /** The engine's tensor peak in the forward pass of the largest tile (context included). */
  tensors: number;
  /** The resident memory that forward pass is counted with (POOL_SLACK × tensors). */
  forward: number;
  total: number;
}

/** Estimated peak bytes of a process holding `held` bytes upscaling an h x w RGB image by `scale` with the tiling. */
export function upscaleMemory(
  cost: ForwardCost,
  held: number,
  [h, w]: [number, number],
  scale: number,
  { tile, overlap }: { tile: number; overlap: number },
): UpscaleMemory {
  const largest = Math.max(...tileRegions(h, w, tile, overlap).map((r) => (r.cy1 - r.cy0) * (r.cx1 - r.cx0)));
  const images = h * w * 3 + h * scale * w * scale * 3;
  const tensors = cost.fixed + cost.perPixel * largest;
  const forward = POOL_SLACK * tensors;
  return { held, images, tensors, forward, total: held + images + forward };
}

const GB = 1e9;
export const gb = (bytes: number): string => `${(bytes / GB).toFixed(bytes < 10 * GB ? 2 : 1)} GB`;

/**
 * Throws E_CLI_ARG naming `where`, the estimate, the budget and both ways out (a smaller tile, the largest that fits
 * when halving, or a larger --max-memory) when the estimate for a process now holding `held` bytes exceeds the budget.
 */
export function checkMemory(
  cost: ForwardCost,
  held: number,
  size: [number, number],
  scale: number,
  o: { tile: number; overlap: number; budgetBytes: number; where: string },
): void {
  const need = (tile: number) => upscaleMemory(cost, held, size, scale, { tile, overlap: o.overlap });
  const asked = need(o.tile);
  if (asked.total <= o.budgetBytes) return;
  const [h, w] = size;
  let t = o.tile > 0 ? o.tile : Math.max(h, w);
  while (t > 16 && need(t).total > o.budgetBytes) t = Math.floor(t / 2);
  const advice =
    need(t).total <= o.budgetBytes
      ? `use --tile ${t} (about ${gb(need(t).total)})`
      : `no tile fits: the process and the 8-bit images alone take ${gb(asked.held + asked.images)}`;
  throw new TasksrError(
    "E_CLI_ARG",
    `${o.where} (${w}x${h} -> ${w * scale}x${h * scale}) needs about ${gb(asked.total)} with --tile ${o.tile} ` +
      `(${gb(asked.forward)} for the network on ${o.tile === 0 ? "the whole image" : "one tile"}, ` +
      `${gb(asked.images)} for the 8-bit images, ${gb(asked.held)} held already), over the memory budget of ` +
      `${gb(o.budgetBytes)}; ${advice}, or raise the budget with --max-memory <GB>`,
  );
}
