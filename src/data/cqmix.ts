/**
 * CQMix, the cross-quality patch mix of SR4IR (methods.md A7): x_mix = M * SR + (1 - M) * HR, where M is a per-image
 * g x g grid of Bernoulli(p) cells (1 = SR) nearest-upsampled to the batch's H x W and shared by all channels.
 * Labels need no change because SR and HR are pixel-aligned.
 *
 * The upsampling uses the exact integer rule src = floor(dst * g / H) (likewise for W). PyTorch's
 * F.interpolate(mode="nearest", size) evaluates the same rule in float32 and agrees at the reference sizes
 * (g = 8 on 480 and 96, g = 4 on 224 and 32, ...) but can put a boundary row one pixel early for some sizes
 * (e.g. g = 2, H = 82); the exact rule keeps patches equal when g divides H.
 *
 * The grid comes from the options, never from a crop size (the reference hard-codes x60 / x56 upsampling).
 */
import { type Generator, scope, type Tensor, tensor, where, zeros } from "../engine/index.js";
import { check } from "../errors.js";
import type { Shard } from "./loader/sampler.js";

export interface CQMixOptions {
  /** Cells per side, g (reference: segmentation 8, classification 4, detection 8). */
  grid: number;
  /** Probability that a cell takes the SR pixels (default 0.5, as the reference). */
  p?: number;
  /**
   * CPU stream for the Bernoulli draws (the reference draws on the CPU); default the engine's global CPU
   * generator. Pass a seeded Generator for reproducible masks.
   */
  generator?: Generator;
  /**
   * Distributed training: the batch is this rank's part of a global batch; the cells of the whole global batch are
   * drawn and this rank's rows kept, so that masks equal one process's at the global batch size.
   */
  shard?: Shard;
}

/** Source indices floor(dst * g / size) for dst in [0, size). */
function nearestIndices(g: number, size: number, device: string): Tensor {
  const idx = new BigInt64Array(size);
  for (let d = 0; d < size; d++) idx[d] = BigInt(Math.floor((d * g) / size));
  return tensor(idx).to(device);
}

/**
 * The CQMix mask [n, 1, height, width] (1 = SR pixel, 0 = HR pixel) in float32 on `device`. Like engine ops, the
 * result joins the caller's innermost scope (or belongs to the caller outside scopes).
 */
export function cqmixMask(n: number, height: number, width: number, device: string, o: CQMixOptions): Tensor {
  const g = o.grid;
  const p = o.p ?? 0.5;
  check(Number.isInteger(g) && g >= 1, () => `cqmix grid must be a positive integer, got ${g}`, "E_CONFIG");
  check(p >= 0 && p <= 1, () => `cqmix p must be in [0, 1], got ${p}`, "E_CONFIG");
  check(height >= 1 && width >= 1 && n >= 1, () => `cqmix mask size ${n}x${height}x${width} is empty`);
  return scope(() => {
    const world = o.shard?.world ?? 1;
    const drawn = zeros([n * world, 1, g, g]).bernoulli_(p, o.generator); // [world * n, 1, g, g]
    const cells = (world > 1 ? drawn.narrow(0, o.shard!.rank * n, n) : drawn).to(device); // [n, 1, g, g]
    return cells.indexSelect(2, nearestIndices(g, height, device)).indexSelect(3, nearestIndices(g, width, device));
  });
}

function checkPair(sr: Tensor, hr: Tensor): void {
  check(sr.ndim === 4, () => `cqmix: SR must be [N, C, H, W], got [${sr.shape}]`);
  check(
    sr.shape.every((d, i) => d === hr.shape[i]) && sr.ndim === hr.ndim,
    () => `cqmix: SR [${sr.shape}] and HR [${hr.shape}] differ in shape`,
  );
  check(sr.device === hr.device, () => `cqmix: SR on ${sr.device}, HR on ${hr.device}`);
}

/**
 * x_mix = M * SR + (1 - M) * HR for a given binary mask M [N, 1, H, W] (1 = SR pixel), broadcast over channels;
 * SR and HR [N, C, H, W] (same shape, dtype and device). The result joins the caller's scope.
 */
export function mixWithMask(sr: Tensor, hr: Tensor, mask: Tensor): Tensor {
  checkPair(sr, hr);
  const [n, , h, w] = sr.shape;
  check(
    mask.ndim === 4 && mask.shape[0] === n && mask.shape[1] === 1 && mask.shape[2] === h && mask.shape[3] === w,
    () => `cqmix: the mask must be [${n}, 1, ${h}, ${w}], got [${mask.shape}]`,
  );
  return scope(() => where(mask.bool(), sr, hr));
}

/**
 * Mixes SR and HR batches ([N, C, H, W], same shape, dtype and device) patch-wise. Works with autograd off and
 * with detached inputs (the reference detaches SR before mixing). Returns the mix, or `{ mix, mask }` with
 * `returnMask` (mask [N, 1, H, W] float32, 1 = SR). Results join the caller's scope, as engine ops do.
 */
export function cqmix(sr: Tensor, hr: Tensor, o: CQMixOptions & { returnMask: true }): { mix: Tensor; mask: Tensor };
export function cqmix(sr: Tensor, hr: Tensor, o: CQMixOptions & { returnMask?: false }): Tensor;
export function cqmix(
  sr: Tensor,
  hr: Tensor,
  o: CQMixOptions & { returnMask?: boolean },
): Tensor | { mix: Tensor; mask: Tensor } {
  checkPair(sr, hr);
  const [n, , h, w] = sr.shape as [number, number, number, number];
  const mask = cqmixMask(n, h, w, sr.device, o);
  const mix = mixWithMask(sr, hr, mask); // [N, C, H, W]
  if (o.returnMask) return { mix, mask };
  mask.dispose();
  return mix;
}
