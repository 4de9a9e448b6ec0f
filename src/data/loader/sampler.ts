/**
 * Batch plans: which dataset indices form each batch of an epoch. Plans are pure functions of (seed, epoch), so a
 * run resumed at batch k sees exactly the batches it would have seen.
 */
import { check } from "../../errors.js";
import { Rng } from "../transforms/rng.js";

/** Dataset order of an epoch: a seeded permutation, or 0..n-1. */
export function epochOrder(n: number, shuffle: boolean, seed: number, epoch: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return shuffle ? new Rng(seed, epoch).shuffle(order) : order;
}

/** Consecutive batches of `order`; the last partial batch is dropped with `dropLast`. */
export function sequentialBatches(order: readonly number[], batchSize: number, dropLast: boolean): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (b.length === batchSize || !dropLast) out.push(b);
  }
  return out;
}

/**
 * Aspect-ratio group of each image (torchvision `create_aspect_ratio_groups`): bins 2^linspace(-1, 1, 2k + 1)
 * (just [1] for k = 0), group = number of bins <= width / height (bisect_right).
 */
export function aspectRatioGroups(sizes: readonly { width: number; height: number }[], factor: number): number[] {
  check(
    Number.isInteger(factor) && factor >= 0,
    () => `group factor must be an integer >= 0, got ${factor}`,
    "E_CONFIG",
  );
  const bins =
    factor === 0
      ? [1]
      : Array.from({ length: 2 * factor + 1 }, (_, i) => 2 ** (i === 2 * factor ? 1 : -1 + i * (2 / (2 * factor))));
  return sizes.map(({ width, height }) => {
    const ar = width / height;
    let g = 0;
    while (g < bins.length && bins[g]! <= ar) g++;
    return g;
  });
}

/**
 * torchvision's GroupedBatchSampler: walk `order`, filling one buffer per group; a full buffer is a batch. The
 * epoch has floor(n / batchSize) batches: when the walk ends short, the fullest leftover buffers (ties in order
 * of the buffer's creation) are topped up by cycling through their group's indices seen this epoch.
 */
export function groupedBatches(order: readonly number[], groups: readonly number[], batchSize: number): number[][] {
  const buffers = new Map<number, number[]>();
  const seen = new Map<number, number[]>();
  const out: number[][] = [];
  for (const idx of order) {
    const g = groups[idx]!;
    if (!buffers.has(g)) buffers.set(g, []);
    if (!seen.has(g)) seen.set(g, []);
    const buf = buffers.get(g)!;
    buf.push(idx);
    seen.get(g)!.push(idx);
    if (buf.length === batchSize) {
      out.push(buf);
      buffers.delete(g);
    }
  }
  let remaining = Math.floor(order.length / batchSize) - out.length;
  // Array.prototype.sort is stable, like Python's sorted.
  const leftovers = [...buffers.entries()].sort((a, b) => b[1].length - a[1].length);
  for (const [g, buf] of leftovers) {
    if (remaining <= 0) break;
    const pool = seen.get(g)!;
    for (let k = 0; buf.length < batchSize; k++) buf.push(pool[k % pool.length]!);
    out.push(buf);
    remaining--;
  }
  return out;
}

/** Which share of every global batch this process loads (distributed training). */
export interface Shard {
  rank: number;
  world: number;
}

/**
 * The dataset order of a distributed epoch: padded to a multiple of the world size by repeating its start, as
 * PyTorch's DistributedSampler does, so that every rank gets the same number of samples.
 */
export function padToWorld(order: readonly number[], world: number): number[] {
  const pad = (world - (order.length % world)) % world;
  return [...order, ...Array.from({ length: pad }, (_, k) => order[k % order.length]!)];
}

/**
 * This rank's part of each global batch: rows [rank * b / world, (rank + 1) * b / world) of a batch of b (a multiple
 * of the world size). With contiguous parts, W processes at batch B see exactly the batches of one process at batch
 * W * B, row for row, so that random draws made per global batch and sliced per rank match too.
 */
export function shardBatches(plan: readonly number[][], shard: Shard): number[][] {
  return plan.map((b) => {
    check(
      b.length % shard.world === 0,
      () => `a global batch of ${b.length} does not split over ${shard.world} ranks`,
      "E_CONFIG",
    );
    const n = b.length / shard.world;
    return b.slice(shard.rank * n, (shard.rank + 1) * n);
  });
}
