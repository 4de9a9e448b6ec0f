/**
 * Swin Transformer blocks (Liu et al., ICCV 2021) as SwinIR's `network_swinir.py` builds them, with its state-dict
 * keys: `norm1`, `attn.relative_position_bias_table`, `attn.relative_position_index` (buffer), `attn.qkv`,
 * `attn.proj`, `norm2`, `mlp.fc1`, `mlp.fc2` and, for shifted blocks, the `attn_mask` buffer of the training size.
 *
 * Tokens are [B, H·W, C] in row-major (h, w) order. Attention runs inside non-overlapping ws×ws windows; every other
 * block cyclically shifts the map by ws/2 first, and the mask keeps tokens that the roll brought together from
 * different image regions from attending to each other (−100 before the softmax, as the reference).
 */
import { noGrad } from "../../engine/autograd.js";
import { arange, empty, tensor } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { truncNormal_ } from "../../nn/init.js";
import { GELU } from "../../nn/layers/activation.js";
import { Linear } from "../../nn/layers/linear.js";
import { DropPath } from "../../nn/layers/misc.js";
import { LayerNorm } from "../../nn/layers/norm.js";
import { Module } from "../../nn/module.js";

export type Size2 = readonly [number, number];

/** [B, H, W, C] -> [B·nW, ws, ws, C], windows in row-major order of the window grid. */
export function windowPartition(x: Tensor, ws: number): Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  return x
    .view(b, h / ws, ws, w / ws, ws, c)
    .permute(0, 1, 3, 2, 4, 5)
    .reshape(-1, ws, ws, c);
}

/** [B·nW, ws, ws, C] -> [B, H, W, C], the inverse of windowPartition. */
export function windowReverse(windows: Tensor, ws: number, h: number, w: number): Tensor {
  const c = windows.size(3);
  const b = windows.size(0) / ((h / ws) * (w / ws));
  return windows
    .view(b, h / ws, w / ws, ws, ws, c)
    .permute(0, 1, 3, 2, 4, 5)
    .reshape(b, h, w, c);
}

/**
 * The shifted-window attention mask for an H×W map: [nW, ws², ws²], 0 where two tokens of a window come from the
 * same region of the unrolled map and −100 where not. Built out of place from the sizes alone (region label of a
 * row = [r ≥ H−ws] + [r ≥ H−shift], the reference's three slices), so a traced export can compute it in the graph.
 */
export function shiftedWindowMask(size: Size2, ws: number, shift: number): Tensor {
  const [h, w] = size;
  const region = (n: number) => {
    const r = arange(n);
    return r
      .ge(n - ws)
      .float()
      .add(r.ge(n - shift).float()); // [n] in {0, 1, 2}
  };
  const labels = region(h).unsqueeze(1).mul(3).add(region(w).unsqueeze(0)); // [H, W]
  const windows = windowPartition(labels.view(1, h, w, 1), ws).reshape(-1, ws * ws); // [nW, ws²]
  return windows.unsqueeze(1).sub(windows.unsqueeze(2)).ne(0).float().mul(-100); // [nW, ws², ws²]
}

/** Index into the (2ws−1)² table of relative offsets for every (query, key) pair of a window: [ws², ws²] int64. */
function relativePositionIndex(ws: number): Tensor {
  const n = ws * ws;
  const index = new Array<number>(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dh = Math.floor(i / ws) - Math.floor(j / ws) + ws - 1;
      const dw = (i % ws) - (j % ws) + ws - 1;
      index[i * n + j] = dh * (2 * ws - 1) + dw;
    }
  }
  return tensor(index, { dtype: "int64", shape: [n, n] });
}

/** Multi-head self-attention within windows, with a learned relative position bias per head. */
export class WindowAttention extends Module<[Tensor, Tensor?], Tensor> {
  readonly relativePositionBiasTable: Tensor;
  readonly relativePositionIndex: Tensor;
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly scale: number;

  constructor(
    readonly dim: number,
    readonly windowSize: number,
    readonly numHeads: number,
  ) {
    super();
    this.scale = (dim / numHeads) ** -0.5;
    this.relativePositionBiasTable = this.param(
      "relative_position_bias_table",
      truncNormal_(empty([(2 * windowSize - 1) ** 2, numHeads]), { std: 0.02 }), // [(2ws−1)², heads]
    );
    this.relativePositionIndex = this.buffer("relative_position_index", relativePositionIndex(windowSize));
    this.qkv = this.module("qkv", swinLinear(dim, 3 * dim));
    this.proj = this.module("proj", swinLinear(dim, dim));
  }

  /** x [B·nW, N, C] with N = ws², mask [nW, N, N] (shifted blocks) -> [B·nW, N, C]. */
  forward(x: Tensor, mask?: Tensor): Tensor {
    const [b, n, c] = x.shape as [number, number, number];
    const heads = this.numHeads;
    const [q, k, v] = this.qkv
      .call(x)
      .reshape(b, n, 3, heads, c / heads)
      .permute(2, 0, 3, 1, 4) // [3, B·nW, heads, N, C/heads]
      .unbind(0);
    let attn = q!.mul(this.scale).matmul(k!.transpose(-2, -1)); // [B·nW, heads, N, N]
    const bias = this.relativePositionBiasTable
      .indexSelect(0, this.relativePositionIndex.view(-1))
      .view(n, n, heads)
      .permute(2, 0, 1); // [heads, N, N]
    attn = attn.add(bias.unsqueeze(0));
    if (mask !== undefined) {
      const nw = mask.size(0);
      attn = attn
        .view(b / nw, nw, heads, n, n)
        .add(mask.unsqueeze(1).unsqueeze(0))
        .view(-1, heads, n, n);
    }
    const out = F.softmax(attn, -1).matmul(v!); // [B·nW, heads, N, C/heads]
    return this.proj.call(out.transpose(1, 2).reshape(b, n, c));
  }
}

/** Linear with Swin's init: weights truncated-normal with std 0.02, biases 0. */
function swinLinear(cin: number, cout: number): Linear {
  const l = new Linear(cin, cout);
  noGrad(() => scope(() => [truncNormal_(l.weight, { std: 0.02 }), l.bias!.zero_()]));
  return l;
}

/** fc1 → GELU → fc2 (dropout 0, as every SwinIR configuration). [..., C] -> [..., C] */
export class SwinMlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly act: GELU;
  constructor(dim: number, hidden: number) {
    super();
    this.fc1 = this.module("fc1", swinLinear(dim, hidden));
    this.act = this.module("act", new GELU());
    this.fc2 = this.module("fc2", swinLinear(hidden, dim));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.call(this.act.call(this.fc1.call(x)));
  }
}

export interface SwinBlockOptions {
  dim: number;
  /** The training patch size in tokens; its shifted-window mask is the `attn_mask` buffer. */
  inputResolution: Size2;
  numHeads: number;
  windowSize: number;
  /** 0 or windowSize/2. */
  shiftSize: number;
  mlpRatio: number;
  dropPath: number;
}

/**
 * x + (S)W-MSA(LN(x)), then x + MLP(LN(x)), each branch through stochastic depth. A training size no larger than the
 * window makes one window of the whole map without shift, as the reference does.
 */
export class SwinTransformerBlock extends Module<[Tensor, Size2, Tensor?], Tensor> {
  readonly norm1: LayerNorm;
  readonly attn: WindowAttention;
  readonly norm2: LayerNorm;
  readonly mlp: SwinMlp;
  readonly dropPath: DropPath;
  readonly attnMask: Tensor | undefined;
  readonly windowSize: number;
  readonly shiftSize: number;
  readonly inputResolution: Size2;

  constructor(o: SwinBlockOptions) {
    super();
    this.inputResolution = o.inputResolution;
    const minRes = Math.min(...o.inputResolution);
    this.windowSize = minRes <= o.windowSize ? minRes : o.windowSize;
    this.shiftSize = minRes <= o.windowSize ? 0 : o.shiftSize;
    this.norm1 = this.module("norm1", new LayerNorm([o.dim]));
    this.attn = this.module("attn", new WindowAttention(o.dim, this.windowSize, o.numHeads));
    // Registered (it has no state) so that eval() reaches it, as the reference's `drop_path` submodule.
    this.dropPath = this.module("drop_path", new DropPath(o.dropPath));
    this.norm2 = this.module("norm2", new LayerNorm([o.dim]));
    this.mlp = this.module("mlp", new SwinMlp(o.dim, Math.floor(o.dim * o.mlpRatio)));
    this.attnMask =
      this.shiftSize > 0
        ? this.buffer("attn_mask", shiftedWindowMask(o.inputResolution, this.windowSize, this.shiftSize))
        : undefined;
  }

  /**
   * x [B, H·W, C] -> [B, H·W, C]. `mask` is the shifted-window mask of (H, W) when that differs from the training
   * size (the caller computes it once for all blocks); at the training size the block uses its own buffer.
   */
  forward(x: Tensor, size: Size2, mask?: Tensor): Tensor {
    const [h, w] = size;
    const [b, , c] = x.shape as [number, number, number];
    const ws = this.windowSize;
    const s = this.shiftSize;
    let t = this.norm1.call(x).view(b, h, w, c);
    if (s > 0) t = t.roll([-s, -s], [1, 2]);
    const windows = windowPartition(t, ws).view(-1, ws * ws, c); // [B·nW, ws², C]
    const atTrainingSize = h === this.inputResolution[0] && w === this.inputResolution[1];
    const m = s === 0 ? undefined : atTrainingSize ? this.attnMask : mask;
    if (s > 0 && m === undefined) throw new Error(`SwinTransformerBlock: no attention mask given for ${h}x${w}`);
    let y = windowReverse(this.attn.call(windows, m).view(-1, ws, ws, c), ws, h, w); // [B, H, W, C]
    if (s > 0) y = y.roll([s, s], [1, 2]);
    const x1 = x.add(this.dropPath.call(y.view(b, h * w, c)));
    return x1.add(this.dropPath.call(this.mlp.call(this.norm2.call(x1))));
  }
}
