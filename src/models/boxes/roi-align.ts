/**
 * RoIAlign (Mask R-CNN) built from engine ops, so it has gradients on every device, with torchvision.ops.roi_align
 * semantics: a box (x1, y1, x2, y2) is scaled by `spatialScale` (and shifted by -0.5 when `aligned`); without
 * `aligned`, its width/height are at least 1. Each of the PH x PW bins averages gh x gw bilinear samples at
 * (start + p*bin + (i + 0.5) * bin / g), with g = samplingRatio, or ceil(size / P) per box when samplingRatio <= 0.
 * Boundary rules: a sample outside [-1, H] x [-1, W] contributes 0; otherwise its coordinates are clamped to
 * [0, H-1] x [0, W-1] before interpolation.
 *
 * The clamped samples are read with F.gridSample (bilinear, border padding: both are exact on the clamped range)
 * and the out-of-range ones are masked, then each bin is average-pooled.
 */
import { arange, cat, full, stack, tensor, zeros } from "../../engine/creation.js";
import * as F from "../../engine/functional.js";
import { scope } from "../../engine/scope.js";
import type { Tensor } from "../../engine/tensor.js";
import { check } from "../../errors.js";
import { boxArea, type Size } from "./ops.js";

export interface RoiAlignOptions {
  /** Output bins (PH, PW). */
  outputSize: number | readonly [number, number];
  /** Box coordinates times spatialScale = feature-map coordinates (default 1). */
  spatialScale?: number;
  /** Samples per bin along each axis; <= 0 picks ceil(box size / bins) per box (default -1). */
  samplingRatio?: number;
  /** Shift boxes by -0.5 pixel (Detectron2's alignment) and allow boxes smaller than one pixel (default false). */
  aligned?: boolean;
}

const pair = (p: number | readonly [number, number]): [number, number] =>
  typeof p === "number" ? [p, p] : [p[0], p[1]];

/** Per-image boxes [Ki, 4] -> rois [sum Ki, 5] with the image index in column 0. */
export function toRoiFormat(boxes: readonly Tensor[]): Tensor {
  check(boxes.length > 0, () => "toRoiFormat: needs at least one image");
  return scope(() =>
    cat(
      boxes.map((b, i) => cat([full([b.size(0), 1], i, { dtype: b.dtype, device: b.device }), b], 1)),
      0,
    ),
  );
}

/**
 * Pools input [N, C, H, W] over rois [K, 5] (batch index, x1, y1, x2, y2) or per-image boxes; returns
 * [K, C, PH, PW].
 */
export function roiAlign(input: Tensor, rois: Tensor | readonly Tensor[], o: RoiAlignOptions): Tensor {
  check(input.ndim === 4, () => `roiAlign: input must be [N, C, H, W], got [${input.shape}]`);
  return scope(() => {
    const r = Array.isArray(rois) ? toRoiFormat(rois as readonly Tensor[]) : (rois as Tensor);
    check(r.ndim === 2 && r.shape[1] === 5, () => `roiAlign: rois must be [K, 5], got [${r.shape}]`);
    const [, C, H, W] = input.shape as [number, number, number, number];
    const [PH, PW] = pair(o.outputSize);
    const K = r.size(0);
    if (K === 0) return zeros([0, C, PH, PW], { dtype: input.dtype, device: input.device });
    const scale = Math.fround(o.spatialScale ?? 1);
    const ratio = o.samplingRatio ?? -1;
    const aligned = o.aligned ?? false;
    const offset = aligned ? 0.5 : 0;

    // Group boxes by image and sampling grid (the grid is per box only in adaptive mode), on the host.
    const host = r.to({ device: "cpu", dtype: "float32" }).data() as Float32Array;
    const f = Math.fround;
    const groups = new Map<string, { b: number; gh: number; gw: number; idx: number[] }>();
    for (let k = 0; k < K; k++) {
      const b = Math.trunc(host[5 * k]!);
      let gh = ratio;
      let gw = ratio;
      if (ratio <= 0) {
        let rw = f(f(f(host[5 * k + 3]! * scale) - offset) - f(f(host[5 * k + 1]! * scale) - offset));
        let rh = f(f(f(host[5 * k + 4]! * scale) - offset) - f(f(host[5 * k + 2]! * scale) - offset));
        if (!aligned) {
          rw = Math.max(rw, 1);
          rh = Math.max(rh, 1);
        }
        gh = Math.ceil(f(rh / PH));
        gw = Math.ceil(f(rw / PW));
      }
      const key = `${b}:${gh}:${gw}`;
      const g = groups.get(key) ?? { b, gh, gw, idx: [] };
      g.idx.push(k);
      groups.set(key, g);
    }

    const parts: Tensor[] = [];
    const order: Tensor[] = [];
    for (const g of groups.values()) {
      const idx = tensor(Int32Array.from(g.idx)).to({ dtype: "int64", device: r.device });
      order.push(idx);
      if (g.gh <= 0 || g.gw <= 0) {
        parts.push(zeros([g.idx.length, C, PH, PW], { dtype: input.dtype, device: input.device }));
        continue;
      }
      const feat = input.narrow(0, g.b, 1);
      parts.push(poolGroup(feat, r.index(idx), { PH, PW, gh: g.gh, gw: g.gw, scale, offset, aligned, H, W }));
    }
    const pooled = cat(parts, 0); // [K, C, PH, PW], grouped order
    return pooled.indexSelect(0, cat(order, 0).argsort());
  });
}

interface GroupGeometry {
  PH: number;
  PW: number;
  gh: number;
  gw: number;
  scale: number;
  offset: number;
  aligned: boolean;
  H: number;
  W: number;
}

/** Sample coordinates [k, P*g] along one axis, plus their validity, clamped to [0, size-1]. */
function axisSamples(
  lo: Tensor,
  hi: Tensor,
  bins: number,
  grid: number,
  size: number,
  geo: GroupGeometry,
): { coord: Tensor; valid: Tensor } {
  const start = lo.mul(geo.scale).sub(geo.offset); // [k]
  let extent = hi.mul(geo.scale).sub(geo.offset).sub(start);
  if (!geo.aligned) extent = extent.clamp(1);
  const bin = extent.div(bins).unsqueeze(1); // [k, 1]
  const j = arange(bins * grid, undefined, 1, { device: lo.device });
  const p = j.div(grid, "floor").to(lo.dtype).unsqueeze(0); // [1, P*g] bin index
  const half = j.remainder(grid).to(lo.dtype).add(0.5).unsqueeze(0); // [1, P*g] (i + 0.5)
  // Same operation order as the reference kernel: start + p * bin + ((i + 0.5) * bin) / g.
  const c = start.unsqueeze(1).add(p.mul(bin)).add(half.mul(bin).div(grid));
  const valid = c.ge(-1).logicalAnd(c.le(size));
  return { coord: c.clamp(0, size - 1), valid };
}

function poolGroup(feat: Tensor, rois: Tensor, geo: GroupGeometry): Tensor {
  const { PH, PW, gh, gw, H, W } = geo;
  const k = rois.size(0);
  const C = feat.size(1);
  const ys = axisSamples(rois.select(1, 2), rois.select(1, 4), PH, gh, H, geo); // [k, PH*gh]
  const xs = axisSamples(rois.select(1, 1), rois.select(1, 3), PW, gw, W, geo); // [k, PW*gw]
  // Pixel -> grid_sample coordinates (align_corners = false): g = (2 c + 1) / size - 1.
  const gy = ys.coord
    .mul(2)
    .add(1)
    .div(H)
    .sub(1)
    .unsqueeze(2)
    .expand(k, PH * gh, PW * gw);
  const gx = xs.coord
    .mul(2)
    .add(1)
    .div(W)
    .sub(1)
    .unsqueeze(1)
    .expand(k, PH * gh, PW * gw);
  const grid = stack([gx, gy], -1)
    .reshape(1, k * PH * gh, PW * gw, 2)
    .to(feat.dtype);
  const sampled = F.gridSample(feat, grid, { mode: "bilinear", paddingMode: "border", alignCorners: false });
  const mask = ys.valid
    .unsqueeze(2)
    .logicalAnd(xs.valid.unsqueeze(1))
    .to(feat.dtype)
    .reshape(1, 1, k * PH * gh, PW * gw);
  const pooled = F.avgPool2d(sampled.mul(mask), [gh, gw]); // [1, C, k*PH, PW]
  return pooled.reshape(C, k, PH, PW).permute(1, 0, 2, 3);
}

/** Rounds half to even, as torch.round. */
const roundHalfEven = (v: number): number => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/**
 * RoIAlign over several feature levels (torchvision.ops.MultiScaleRoIAlign): each box is pooled from level
 * floor(canonicalLevel + log2(sqrt(area) / canonicalScale) + 1e-6), clamped to the available levels, whose scale is
 * inferred as a power of two from the feature-map height over the largest image height.
 */
export class MultiScaleRoiAlign {
  constructor(
    readonly featmapNames: readonly string[],
    readonly outputSize: number | readonly [number, number],
    readonly samplingRatio: number,
    readonly canonicalScale = 224,
    readonly canonicalLevel = 4,
  ) {}

  /** features by name (only featmapNames are used, in the map's order); boxes per image [Ki, 4] -> [sum Ki, C, PH, PW]. */
  forward(features: ReadonlyMap<string, Tensor>, boxes: readonly Tensor[], imageSizes: readonly Size[]): Tensor {
    return scope(() => {
      const levels = [...features.entries()].filter(([name]) => this.featmapNames.includes(name)).map(([, t]) => t);
      check(levels.length > 0, () => `MultiScaleRoiAlign: none of ${this.featmapNames.join(", ")} among the features`);
      const maxH = Math.max(...imageSizes.map((s) => s[0]));
      const scales = levels.map((t) => 2 ** roundHalfEven(Math.log2(Math.fround(t.size(2) / maxH))));
      const rois = toRoiFormat(boxes);
      if (levels.length === 1)
        return roiAlignByLevel(levels, rois, undefined, scales, this.outputSize, this.samplingRatio);

      const kMin = Math.trunc(-Math.log2(scales[0]!));
      const kMax = Math.trunc(-Math.log2(scales[scales.length - 1]!));
      const s = cat(
        boxes.map((b) => boxArea(b)),
        0,
      ).sqrt();
      const target = s.div(this.canonicalScale).log2().add(this.canonicalLevel).add(1e-6).floor().clamp(kMin, kMax);
      const level = target.to("int64").sub(kMin); // [K]
      return roiAlignByLevel(levels, rois, level, scales, this.outputSize, this.samplingRatio);
    });
  }
}

/**
 * RoIAlign of each roi [K, 5] on its pyramid level: `level` [K] int64 indexes `levels` (feature maps [N, C, H, W]
 * with spatial scales `scales`); undefined with one level. Returns [K, C, PH, PW] in roi order. The second half of
 * MultiScaleRoiAlign, shared with the ONNX export, whose second graph gets the levels from JS
 * (src/export/rcnn.ts).
 */
export function roiAlignByLevel(
  levels: readonly Tensor[],
  rois: Tensor,
  level: Tensor | undefined,
  scales: readonly number[],
  outputSize: number | readonly [number, number],
  samplingRatio: number,
): Tensor {
  return scope(() => {
    const pool = (feat: Tensor, which: Tensor, scale: number): Tensor =>
      roiAlign(feat, which, { outputSize, spatialScale: scale, samplingRatio });
    if (level === undefined) return pool(levels[0]!, rois, scales[0]!);
    const parts: Tensor[] = [];
    const order: Tensor[] = [];
    for (const [l, feat] of levels.entries()) {
      const idx = level.eq(l).nonzero().squeeze(1);
      order.push(idx);
      parts.push(pool(feat, rois.index(idx), scales[l]!));
    }
    return cat(parts, 0).indexSelect(0, cat(order, 0).argsort());
  });
}
