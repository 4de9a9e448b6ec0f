/**
 * Dynamic N, h and w from traces: a trace sees plain numbers, so one trace cannot tell a kernel size from a crop length
 * that is 4·h. The forward is traced at five input sizes; a number that changes between them is fitted as
 * one dimension of a value computed before it (as torch.onnx records `x.size(d)`: the pooled ASPP branch resized to
 * the feature map), or else as c + a·N + b·h + d·w of the input (integer coefficients; four traces fix them, the
 * fifth checks: a crop to h·s), or else as a dimension of an earlier value multiplied or divided by an integer or
 * offset by one (windows per row of a map padded to the window); the graph computes it from shapes at run time. A forward that
 * runs different ops at different sizes, a constant built from the
 * size (anchors), or a number that is not affine in the size (h / 3 rounded) is refused with the op named, instead
 * of exporting a graph that is only right at the traced size.
 */
import { TasksrError } from "../errors.js";
import type { ConstSnapshot, Ref, Trace, TraceArg } from "./trace.js";

/** value = c + n·N + h·H + w·W, over the input's batch, height and width. */
export interface Affine {
  readonly c: number;
  readonly n: number;
  readonly h: number;
  readonly w: number;
}
/**
 * A size-dependent number: affine in the input's N, h, w, or one dimension of a traced value, or the product of two
 * of its dimensions (h·w when attention flattens a feature map).
 */
export type DimArg =
  | { readonly dim: Affine }
  | {
      readonly shapeOf: {
        readonly ref: number;
        readonly axis: number;
        readonly times?: number;
        /** The dimension multiplied by this: the output size of an upsampling of a padded map. */
        readonly mul?: number;
        /** The dimension divided by this (exactly): windows per row, h / 8, of a map padded to the window. */
        readonly div?: number;
        /** Added to the dimension: H − 8, a window's start from the end. */
        readonly add?: number;
      };
    };
export type SymArg = number | boolean | string | null | undefined | Ref | DimArg | readonly SymArg[];

export const isRef = (a: unknown): a is Ref => typeof a === "object" && a !== null && "ref" in a;
export const isDim = (a: unknown): a is DimArg => typeof a === "object" && a !== null && ("dim" in a || "shapeOf" in a);

/**
 * Input sizes [N, h, w] of the five traces: base, N+1, h+37, w+45, and a check with all three changed. The steps are
 * larger than a stride-32 backbone's, so a feature map's size changes between traces too (with steps of a few
 * pixels, ceil(h/32) would look constant), and odd, so h/2 rounded is not mistaken for an affine size.
 */
export function traceSizes(h0: number, w0: number): [number, number, number][] {
  return [
    [1, h0, w0],
    [2, h0, w0],
    [1, h0 + 37, w0],
    [1, h0, w0 + 45],
    [3, h0 + 23, w0 + 61],
  ];
}

export interface SymbolicOp {
  readonly op: string;
  readonly args: readonly SymArg[];
  readonly outs: readonly number[];
}

const sameConst = (a: ConstSnapshot, b: ConstSnapshot): boolean =>
  a === b ||
  (a.dtype === b.dtype &&
    a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]) &&
    a.bytes.length === b.bytes.length &&
    a.bytes.every((v, i) => v === b.bytes[i]));

const show = (s: readonly number[]) => `${s[0]}×3×${s[1]}×${s[2]}`;

/** The number itself when it is the same at every traced size, else its affine form (or E_EXPORT naming `where`). */
export function fitAffine(
  vals: readonly number[],
  sizes: readonly (readonly number[])[],
  where: string,
): number | { dim: Affine } {
  if (vals.every((v) => v === vals[0])) return vals[0]!;
  const [base, s1, s2, s3, s4] = sizes as [number[], number[], number[], number[], number[]];
  const [v0, v1, v2, v3, v4] = vals as [number, number, number, number, number];
  const n = (v1 - v0) / (s1[0]! - base[0]!);
  const h = (v2 - v0) / (s2[1]! - base[1]!);
  const w = (v3 - v0) / (s3[2]! - base[2]!);
  const c = v0 - n * base[0]! - h * base[1]! - w * base[2]!;
  const ok = [n, h, w, c].every(Number.isInteger) && c + n * s4[0]! + h * s4[1]! + w * s4[2]! === v4;
  if (!ok) {
    throw new TasksrError(
      "E_EXPORT",
      `${where} is ${vals.join(", ")} at inputs ${sizes.map(show).join(", ")}: not c + a·N + b·h + d·w with ` +
        "integer a, b, d, so a graph with dynamic sizes cannot compute it",
    );
  }
  return { dim: { c, n, h, w } };
}

/** "4*h", "N", "2*w+1": an ONNX dim_param for an affine size. */
export function formatAffine(a: Affine): string {
  const terms = [
    [a.n, "N"],
    [a.h, "h"],
    [a.w, "w"],
  ] as const;
  const parts = terms.filter(([k]) => k !== 0).map(([k, v]) => (k === 1 ? v : `${k}*${v}`));
  if (a.c !== 0) parts.push(String(a.c));
  return parts.join("+").replace(/\+-/g, "-");
}

/** Merges traces made at `sizes` (as traceSizes) into one op list whose size-dependent numbers are affine. */
export function resolveDynamic(traces: readonly Trace[], sizes: readonly (readonly number[])[]): SymbolicOp[] {
  const [t0] = traces;
  const base = sizes[0]!;
  for (let k = 1; k < traces.length; k++) {
    const tk = traces[k]!;
    const differ = (what: string) =>
      new TasksrError(
        "E_EXPORT",
        `the forward differs between inputs ${show(base)} and ${show(sizes[k]!)}: ${what}; the network's ops depend ` +
          "on the input size, so no single graph with dynamic N, h, w reproduces it",
      );
    if (tk.ops.length !== t0!.ops.length) throw differ(`${t0!.ops.length} vs ${tk.ops.length} ops`);
    tk.ops.forEach((op, i) => {
      if (op.op !== t0!.ops[i]!.op) throw differ(`op #${i} is ${t0!.ops[i]!.op} vs ${op.op}`);
    });
    for (const [name, id] of t0!.outputs) {
      if (tk.outputs.get(name) !== id) throw differ(`output "${name}" comes from a different op`);
    }
    for (const [id, c] of t0!.consts) {
      const ck = tk.consts.get(id);
      if (ck === undefined || !sameConst(c, ck)) {
        const op = t0!.ops.find((o) => JSON.stringify(o.args).includes(`{"ref":${id}}`))?.op ?? "?";
        throw differ(`a constant [${c.shape}] read by ${op} was computed from the input's size (like anchors)`);
      }
    }
  }

  /** The latest value (id < `before`) for which `match` finds a form, given that value's shape at every trace. */
  const latestValue = (
    before: number,
    match: (id: number, sh: readonly (readonly number[])[]) => DimArg | undefined,
  ): DimArg | undefined => {
    for (let id = before - 1; id >= 0; id--) {
      const shapes = traces.map((t) => t.values.get(id)?.shape);
      const s0 = shapes[0];
      if (s0 === undefined || shapes.some((s) => s === undefined || s.length !== s0.length)) continue;
      const found = match(id, shapes as (readonly number[])[]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  /** The latest value with a dimension, or a product of two, equal to `vals` at every traced size. */
  const dimOfValue = (vals: readonly number[], before: number): DimArg | undefined =>
    latestValue(before, (id, sh) => {
      const rank = sh[0]!.length;
      for (let axis = rank - 1; axis >= 0; axis--) {
        if (sh.every((s, k) => s[axis] === vals[k])) return { shapeOf: { ref: id, axis } };
      }
      for (let axis = rank - 1; axis >= 0; axis--) {
        for (let times = axis - 1; times >= 0; times--) {
          if (sh.every((s, k) => s[axis]! * s[times]! === vals[k])) return { shapeOf: { ref: id, axis, times } };
        }
      }
      return undefined;
    });
  /**
   * The latest value with a dimension that `vals` divides exactly or is a multiple of (by the same integer at every
   * traced size), or that `vals` differs from by the same offset. Tried last, after the input's affine sizes: a map
   * padded to a multiple of a window has sizes that are not affine in the input, and the numbers computed from it
   * (windows per row, a window's start) are only expressible through it.
   */
  const relatedToValue = (vals: readonly number[], before: number): DimArg | undefined =>
    latestValue(before, (id, sh) => {
      const s0 = sh[0]!;
      for (let axis = s0.length - 1; axis >= 0; axis--) {
        const div = vals[0]! === 0 ? 0 : s0[axis]! / vals[0]!;
        if (Number.isInteger(div) && div >= 2 && sh.every((s, k) => s[axis] === vals[k]! * div)) {
          return { shapeOf: { ref: id, axis, div } };
        }
        const mul = s0[axis]! === 0 ? 0 : vals[0]! / s0[axis]!;
        if (Number.isInteger(mul) && mul >= 2 && sh.every((s, k) => s[axis]! * mul === vals[k])) {
          return { shapeOf: { ref: id, axis, mul } };
        }
        const add = vals[0]! - s0[axis]!;
        if (sh.every((s, k) => vals[k]! - s[axis]! === add)) return { shapeOf: { ref: id, axis, add } };
      }
      return undefined;
    });
  const fit = (vals: number[], where: string, before: number): SymArg => {
    if (vals.every((v) => v === vals[0])) return vals[0]!;
    const own = dimOfValue(vals, before);
    if (own !== undefined) return own;
    try {
      return fitAffine(vals, sizes, where);
    } catch (err) {
      const related = relatedToValue(vals, before);
      if (related === undefined) throw err;
      return related;
    }
  };
  const merge = (args: readonly TraceArg[], path: string, before: number): SymArg => {
    const a0 = args[0];
    if (typeof a0 === "number") {
      if (!args.every((a) => typeof a === "number"))
        throw new TasksrError("E_EXPORT", `${path}: argument kinds differ`);
      return fit(args as number[], path, before);
    }
    if (Array.isArray(a0)) {
      const arrays = args as readonly (readonly TraceArg[])[];
      if (!arrays.every((a) => Array.isArray(a) && a.length === a0.length)) {
        throw new TasksrError("E_EXPORT", `${path}: list lengths differ between input sizes`);
      }
      return a0.map((_, j) =>
        merge(
          arrays.map((a) => a[j]!),
          `${path}[${j}]`,
          before,
        ),
      );
    }
    const s0 = JSON.stringify(a0);
    if (!args.every((a) => JSON.stringify(a) === s0)) {
      throw new TasksrError(
        "E_EXPORT",
        `${path} is ${args.map((a) => JSON.stringify(a)).join(" / ")} across input sizes`,
      );
    }
    return a0 as SymArg;
  };
  return t0!.ops.map((op, i) => ({
    op: op.op,
    outs: op.outs,
    args: op.args.map((_, j) =>
      merge(
        traces.map((t) => t.ops[i]!.args[j]!),
        `argument ${j} of op #${i} (${op.op})`,
        op.outs[0]!,
      ),
    ),
  }));
}
