/**
 * Anchor (prior) boxes: the R-CNN AnchorGenerator and SSD's DefaultBoxGenerator, with torchvision's arithmetic
 * (float32, same operation order), so the boxes equal torchvision's bit for bit.
 */
import { arange, cat, full, stack, tensor } from "../../engine/creation.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { check } from "../../errors.js";
import type { Size } from "../boxes/ops.js";

const f32 = Math.fround;
/** Rounds half to even, as torch.round. */
const roundHalfEven = (v: number): number => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/**
 * R-CNN anchors: per level, sizes x aspect ratios (ratio = height / width) centred on every feature-map cell,
 * at stride (image size // feature size). Anchors of a cell are ordered ratio-major, size-minor; cells row-major.
 */
export class AnchorGenerator {
  /** Zero-centred anchors per level, [A_l * 4] xyxy (rounded to integers, as torchvision). */
  readonly cellAnchors: readonly Float32Array[];

  constructor(
    readonly sizes: readonly (readonly number[])[],
    readonly aspectRatios: readonly (readonly number[])[],
  ) {
    check(
      sizes.length === aspectRatios.length,
      () => "AnchorGenerator: one list of sizes and ratios per level",
      "E_CONFIG",
    );
    this.cellAnchors = sizes.map((levelSizes, l) => {
      const out: number[] = [];
      for (const ar of aspectRatios[l]!) {
        const hRatio = f32(Math.sqrt(f32(ar)));
        const wRatio = f32(1 / hRatio);
        for (const s of levelSizes) {
          const w = f32(wRatio * f32(s));
          const h = f32(hRatio * f32(s));
          out.push(...[-w, -h, w, h].map((v) => roundHalfEven(f32(v / 2))));
        }
      }
      return Float32Array.from(out);
    });
  }

  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, l) => s.length * this.aspectRatios[l]!.length);
  }

  /** Anchors [sum_l H_l W_l A_l, 4] for a padded batch of size `imageSize` and feature maps of `gridSizes`. */
  forward(imageSize: Size, gridSizes: readonly Size[], device: string): Tensor {
    check(gridSizes.length === this.cellAnchors.length, () => "AnchorGenerator: one feature map per anchor level");
    return scope(() =>
      cat(
        gridSizes.map(([gh, gw], l) => {
          const sy = Math.floor(imageSize[0] / gh);
          const sx = Math.floor(imageSize[1] / gw);
          const shiftX = arange(gw, undefined, 1, { device }).mul(sx).unsqueeze(0).expand(gh, gw).reshape(-1);
          const shiftY = arange(gh, undefined, 1, { device }).mul(sy).unsqueeze(1).expand(gh, gw).reshape(-1);
          const shifts = stack([shiftX, shiftY, shiftX, shiftY], 1); // [HW, 4] int64
          const base = tensor(this.cellAnchors[l]!, { device }).reshape(1, -1, 4);
          return shifts.unsqueeze(1).add(base).reshape(-1, 4);
        }),
        0,
      ),
    );
  }
}

export interface DefaultBoxSettings {
  /** Extra aspect ratios per feature map; each adds a (w, h) and an (h, w) box to the two square ones. */
  aspectRatios: readonly (readonly number[])[];
  /** Box scales s_0..s_K relative to the image (K maps + 1); when absent, linear from minRatio to maxRatio, then 1. */
  scales?: readonly number[];
  minRatio?: number;
  maxRatio?: number;
  /** Tiling steps in pixels per map; when absent, the cell size follows the feature-map size. */
  steps?: readonly number[];
  /** Clip the relative (w, h) of every default box to [0, 1] (default true). */
  clip?: boolean;
}

/**
 * SSD default boxes (torchvision's DefaultBoxGenerator): at every cell of map k, squares of scale s_k and
 * sqrt(s_k s_{k+1}), then (s_k sqrt(r), s_k / sqrt(r)) and its transpose for each ratio r, centred at
 * ((j + 0.5) / f_x, (i + 0.5) / f_y) with f = image size / step. Output is xyxy in pixels of the padded batch.
 */
export class DefaultBoxGenerator {
  readonly scales: readonly number[];
  readonly steps: readonly number[] | undefined;
  readonly clip: boolean;
  /** Relative (w, h) pairs per map, [P_k * 2] float32 (clipped when `clip`). */
  readonly whPairs: readonly Float32Array[];

  constructor(readonly settings: DefaultBoxSettings) {
    const n = settings.aspectRatios.length;
    check(n > 0, () => "DefaultBoxGenerator: needs at least one feature map", "E_CONFIG");
    this.steps = settings.steps;
    check(
      this.steps === undefined || this.steps.length === n,
      () => "DefaultBoxGenerator: aspectRatios and steps must have the same length",
      "E_CONFIG",
    );
    if (settings.scales !== undefined) {
      this.scales = settings.scales;
    } else {
      const lo = settings.minRatio ?? 0.15;
      const hi = settings.maxRatio ?? 0.9;
      this.scales = n > 1 ? [...Array.from({ length: n }, (_, k) => lo + ((hi - lo) * k) / (n - 1)), 1] : [lo, hi];
    }
    check(
      this.scales.length === n + 1,
      () => `DefaultBoxGenerator: needs ${n + 1} scales, got ${this.scales.length}`,
      "E_CONFIG",
    );
    this.clip = settings.clip ?? true;
    this.whPairs = settings.aspectRatios.map((ratios, k) => {
      const s = this.scales[k]!;
      const sPrime = Math.sqrt(s * this.scales[k + 1]!);
      const pairs: number[] = [s, s, sPrime, sPrime];
      for (const ar of ratios) {
        const w = s * Math.sqrt(ar);
        const h = s / Math.sqrt(ar);
        pairs.push(w, h, h, w);
      }
      const p = Float32Array.from(pairs);
      return this.clip ? p.map((v) => Math.min(Math.max(v, 0), 1)) : p;
    });
  }

  numAnchorsPerLocation(): number[] {
    return this.settings.aspectRatios.map((r) => 2 + 2 * r.length);
  }

  /** Default boxes [sum_k H_k W_k P_k, 4] xyxy in pixels of the `imageSize` batch. */
  forward(imageSize: Size, gridSizes: readonly Size[], device: string): Tensor {
    check(gridSizes.length === this.whPairs.length, () => "DefaultBoxGenerator: one feature map per box level");
    const [H, W] = imageSize;
    return scope(() => {
      const cxcywh = cat(
        gridSizes.map(([gh, gw], k) => {
          const fy = this.steps ? H / this.steps[k]! : gh;
          const fx = this.steps ? W / this.steps[k]! : gw;
          const cx = arange(gw, undefined, 1, { device }).to("float32").add(0.5).div(fx);
          const cy = arange(gh, undefined, 1, { device }).to("float32").add(0.5).div(fy);
          const P = this.whPairs[k]!.length / 2;
          const centres = stack(
            [cx.unsqueeze(0).expand(gh, gw).reshape(-1), cy.unsqueeze(1).expand(gh, gw).reshape(-1)],
            1,
          );
          const wh = tensor(this.whPairs[k]!, { device })
            .reshape(1, P, 2)
            .expand(gh * gw, P, 2);
          return cat([centres.unsqueeze(1).expand(gh * gw, P, 2), wh], 2).reshape(-1, 4);
        }),
        0,
      );
      // From numbers with `full` rather than from data, so that an ONNX export computes it from the input's size.
      const size = cat([full([1], W, { device }), full([1], H, { device })]); // [2] float32

      const c = cxcywh.narrow(1, 0, 2);
      const half = cxcywh.narrow(1, 2, 2).mul(0.5);
      return cat([c.sub(half).mul(size), c.add(half).mul(size)], 1);
    });
  }
}
