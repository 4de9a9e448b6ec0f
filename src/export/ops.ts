/**
 * What each traced engine op is in ONNX (opset 17 and later). One emitter per native op, with the argument order of
 * src/engine/native.ts. Ops without an emitter are refused by name, so a network that uses one fails at export,
 * not in onnxruntime. Semantics follow PyTorch's (and torch.onnx's) choices: pixel shuffle is DepthToSpace CRD,
 * align_corners=False resizing is pytorch_half_pixel, bicubic uses a = -0.75, hardsigmoid is x/6 + 1/2.
 */
import { type DType, dtypeFromCode } from "../engine/dtype.js";
import { TasksrError } from "../errors.js";
import { isRef, type SymArg } from "./dynamic.js";
import { attr, type GraphBuilder, ONNX_DTYPE, staticNum, staticNums } from "./graph.js";

export interface EmitContext {
  readonly b: GraphBuilder;
  /** Graph name of a tensor argument (a traced value or a constant). */
  name(a: SymArg): string;
  /** Rank, dtype and shape (at the first traced size) of a tensor argument. */
  info(a: SymArg): { rank: number; dtype: DType; shape: readonly number[] };
  /** Names the op's outputs must get. */
  readonly outs: readonly string[];
  /** Dtype of the op's (first) output, as traced. */
  readonly outInfo: { dtype: DType };
}
type Emitter = (c: EmitContext, args: readonly SymArg[]) => void;

/** Slice's "to the end" (ONNX clamps ends to the dimension; 2^53 - 1 survives the int64 conversion exactly). */
const TO_END = Number.MAX_SAFE_INTEGER;
const axis = (d: number, rank: number) => (d < 0 ? d + rank : d);

/**
 * A tensor-or-scalar operand: a scalar becomes a 0-d constant of the other operand's dtype; a size-dependent one
 * (x / x.size(2)) is computed from the shapes and cast to it.
 */
function operand(c: EmitContext, a: SymArg, like: SymArg): string {
  return isRef(a) ? c.name(a) : c.b.scalar(a, c.b.graphDtype(c.info(like).dtype), "scalar operand");
}
const out = (c: EmitContext) => c.outs[0]!;

function binary(onnxOp: string): Emitter {
  return (c, [a, b, alpha]) => {
    let rhs = operand(c, b!, a!);
    if (alpha !== undefined && alpha !== 1)
      rhs = c.b.op("Mul", [rhs, c.b.scalarLike(staticNum(alpha, "alpha"), c.info(a!).dtype)]);
    c.b.op(onnxOp, [c.name(a!), rhs], [], out(c));
  };
}
function unary(onnxOp: string, attrs: ReturnType<typeof attr.f>[] = []): Emitter {
  return (c, [x]) => void c.b.op(onnxOp, [c.name(x!)], attrs, out(c));
}
const identity: Emitter = (c, [x]) => void c.b.op("Identity", [c.name(x!)], [], out(c));

/** A tensor of the op's output shape and dtype filled with `v` (zeros, ones, full; `v` may be a size). */
function filled(c: EmitContext, shape: SymArg, v: SymArg) {
  const scalar = c.b.scalar(v, c.b.graphDtype(c.outInfo.dtype), "fill value");
  c.b.op("Expand", [scalar, c.b.ints(shape as readonly SymArg[], "shape")], [], out(c));
}

/** Slice of one axis from start to end (a name of an int64 [1] tensor; null = to the end). */
function slice(c: EmitContext, x: SymArg, dim: number, start: SymArg, end: string | null, step: number) {
  const r = c.info(x).rank;
  const ends = end ?? c.b.constant([TO_END], "int64");
  c.b.op(
    "Slice",
    [
      c.name(x),
      c.b.ints([start ?? 0], "slice start"),
      ends,
      c.b.constant([axis(dim, r)], "int64"),
      c.b.constant([step], "int64"),
    ],
    [],
    out(c),
  );
}

function resize(c: EmitContext, args: readonly SymArg[]) {
  const [x, mode, size, alignCorners, scaleH, scaleW, antialias] = args;
  if (antialias === true) {
    throw new TasksrError("E_EXPORT", "anti-aliased interpolate has no exact ONNX Resize equivalent; not exported");
  }
  const a: ReturnType<typeof attr.s>[] = [];
  if (mode === "nearest") {
    a.push(
      attr.s("mode", "nearest"),
      attr.s("coordinate_transformation_mode", "asymmetric"),
      attr.s("nearest_mode", "floor"),
    );
  } else if (mode === "nearest-exact") {
    a.push(
      attr.s("mode", "nearest"),
      attr.s("coordinate_transformation_mode", "tf_half_pixel_for_nn"),
      attr.s("nearest_mode", "floor"),
    );
  } else if (mode === "bilinear" || mode === "bicubic") {
    a.push(
      attr.s("mode", mode === "bilinear" ? "linear" : "cubic"),
      attr.s("coordinate_transformation_mode", alignCorners === true ? "align_corners" : "pytorch_half_pixel"),
    );
    if (mode === "bicubic") a.push(attr.f("cubic_coeff_a", -0.75));
  } else {
    throw new TasksrError("E_EXPORT", `interpolate mode "${String(mode)}" is not exported`);
  }
  const b = c.b;
  if (typeof scaleH === "number" && typeof scaleW === "number") {
    // With scales, ONNX and PyTorch both map coordinates by 1/scale and give floor(size · scale).
    b.op("Resize", [c.name(x!), "", b.constant([1, 1, scaleH, scaleW], "float32")], a, out(c));
    return;
  }
  const nc = b.op("Slice", [b.shapeOf(c.name(x!)), b.constant([0], "int64"), b.constant([2], "int64")]);
  const sizes = b.op("Concat", [nc, b.ints(size as SymArg[], "interpolate size")], [attr.i("axis", 0)]);
  b.op("Resize", [c.name(x!), "", "", sizes], a, out(c));
}

function pool(kind: "MaxPool" | "AveragePool"): Emitter {
  return (c, args) => {
    const [x, k, s, p] = args;
    const kernel = staticNums(k!, "kernel size");
    const strides = staticNums(s!, "stride");
    const pads = staticNums(p!, "padding");
    const a = [
      attr.ints("kernel_shape", kernel),
      attr.ints("strides", strides.length === 0 ? kernel : strides),
      attr.ints("pads", [...pads, ...pads]),
    ];
    if (kind === "MaxPool") {
      a.push(attr.ints("dilations", staticNums(args[4]!, "dilation")), attr.i("ceil_mode", args[5] === true ? 1 : 0));
    } else {
      if (args[6] !== undefined && args[6] !== null) {
        throw new TasksrError("E_EXPORT", "avg_pool2d with divisor_override is not exported");
      }
      a.push(attr.i("ceil_mode", args[4] === true ? 1 : 0), attr.i("count_include_pad", args[5] === true ? 1 : 0));
    }
    c.b.op(kind, [c.name(x!)], a, out(c));
  };
}

function reduce(onnxOp: string): Emitter {
  return (c, [x, dims, keepdim]) => {
    const r = c.info(x!).rank;
    const axes = dims === undefined || dims === null ? [] : staticNums(dims, "dims").map((d) => axis(d, r));
    const keep = attr.i("keepdims", keepdim === true ? 1 : 0);
    // ReduceSum takes axes as an input from opset 13, ReduceMean from 18.
    const axesAsInput = onnxOp === "ReduceSum" || c.b.opset >= 18;
    if (axes.length === 0) c.b.op(onnxOp, [c.name(x!)], [keep], out(c));
    else if (axesAsInput) c.b.op(onnxOp, [c.name(x!), c.b.constant(axes, "int64")], [keep], out(c));
    else c.b.op(onnxOp, [c.name(x!)], [keep, attr.ints("axes", axes)], out(c));
  };
}

/** Input, weight and the optional bias of Conv, ConvTranspose and Gemm. */
const weighted = (c: EmitContext, x: SymArg, w: SymArg, bias: SymArg) => [
  c.name(x),
  c.name(w),
  ...(isRef(bias) ? [c.name(bias)] : []),
];

/** Conv/ConvTranspose attributes; PyTorch's symmetric padding [ph, pw] is ONNX's [ph, pw, ph, pw]. */
function convAttrs(what: string, stride: SymArg, padding: SymArg, dilation: SymArg, groups: SymArg) {
  const p = staticNums(padding, `${what} padding`);
  return [
    attr.ints("strides", staticNums(stride, `${what} stride`)),
    attr.ints("pads", [...p, ...p]),
    attr.ints("dilations", staticNums(dilation, `${what} dilation`)),
    attr.i("group", staticNum(groups, `${what} groups`)),
  ];
}

const T_FLOAT = ONNX_DTYPE.float32!;
const T_DOUBLE = ONNX_DTYPE.float64!;
const T_INT64 = ONNX_DTYPE.int64!;

/**
 * The R-CNN transform (src/export/rcnn.ts `rcnnTransformOp`): normalise, resize so the short side is minSize unless
 * the long side would pass maxSize, zero-pad to a multiple of sizeDivisible — torchvision's arithmetic: the scale
 * min(minSize / short, maxSize / long) in float32 (division of float32 operands, so the same rounding), the size
 * floor(side · scale) in double; Resize at that size is the engine's bilinear interpolate, Pad its F.pad. At a
 * size the engine does not resize or pad, Resize is exact (weights 1 and 0) and the pads are 0.
 */
function rcnnTransform(c: EmitContext, [ts, minSize, maxSize, divisible, mean, std]: readonly SymArg[]) {
  const b = c.b;
  const x = (ts as readonly SymArg[])[0]!;
  const dt = b.graphDtype(c.info(x).dtype);
  const m = b.constant(staticNums(mean!, "mean"), dt, [1, 3, 1, 1]);
  const s = b.constant(staticNums(std!, "std"), dt, [1, 3, 1, 1]);
  const norm = b.op("Div", [b.op("Sub", [c.name(x), m]), s]);
  const shape = b.shapeOf(c.name(x));
  const hw = b.op("Slice", [shape, b.constant([2], "int64"), b.constant([4], "int64")]); // int64 [2]
  const hwF = b.op("Cast", [hw], [attr.i("to", T_FLOAT)]);
  const [hF, wF] = [0, 1].map((i) => b.dimAt(hwF, i));
  const short = b.op("Min", [hF!, wF!]);
  const long = b.op("Max", [hF!, wF!]);
  const scale = b.op("Min", [
    b.op("Div", [b.constant([staticNum(minSize!, "minSize")], "float32"), short]),
    b.op("Div", [b.constant([staticNum(maxSize!, "maxSize")], "float32"), long]),
  ]); // float32 [1]
  const hwD = b.op("Cast", [hw], [attr.i("to", T_DOUBLE)]);
  const scaled = b.op("Mul", [hwD, b.op("Cast", [scale], [attr.i("to", T_DOUBLE)])]);
  const size = b.op("Cast", [b.op("Floor", [scaled])], [attr.i("to", T_INT64)]); // int64 [2]
  const nc = b.op("Slice", [shape, b.constant([0], "int64"), b.constant([2], "int64")]);
  const sizes = b.op("Concat", [nc, size], [attr.i("axis", 0)]);
  const resized = b.op(
    "Resize",
    [norm, "", "", sizes],
    [attr.s("mode", "linear"), attr.s("coordinate_transformation_mode", "pytorch_half_pixel")],
  );
  const d = staticNum(divisible!, "sizeDivisible");
  // ceil(size / d) · d with int64 division (sizes are positive, so Div's truncation is floor).
  const padded = b.op("Mul", [
    b.op("Div", [b.op("Add", [size, b.constant([d - 1], "int64")]), b.constant([d], "int64")]),
    b.constant([d], "int64"),
  ]);
  const pads = b.op(
    "Concat",
    [b.constant([0, 0, 0, 0, 0, 0], "int64"), b.op("Sub", [padded, size])],
    [attr.i("axis", 0)],
  );
  b.op("Pad", [resized, pads, b.scalarLike(0, c.info(x).dtype)], [attr.s("mode", "constant")], out(c));
}

/**
 * R-CNN anchors (src/export/rcnn.ts `rcnnAnchorsOp`, AnchorGenerator.forward): per level, the cell anchors shifted
 * to every cell at stride (image size // feature size), computed from the shapes of the padded batch and of each
 * feature map — the stride of a level whose size is rounded up (the max-pooled "pool" level) is not affine in h, w.
 */
function rcnnAnchors(c: EmitContext, [ts, cellAnchors]: readonly SymArg[]) {
  const b = c.b;
  const [images, ...features] = ts as readonly SymArg[];
  const dt = b.graphDtype("float32");
  const toScalar = (v: string) => b.op("Squeeze", [v, b.constant([0], "int64")]);
  const imageShape = b.shapeOf(c.name(images!));
  const levels = (cellAnchors as readonly SymArg[]).map((cells, l) => {
    const shape = b.shapeOf(c.name(features[l]!));
    const [gh, gw] = [b.dimAt(shape, 2), b.dimAt(shape, 3)];
    const sy = b.op("Div", [b.dimAt(imageShape, 2), gh]);
    const sx = b.op("Div", [b.dimAt(imageShape, 3), gw]);
    const grid = b.op("Concat", [gh, gw], [attr.i("axis", 0)]);
    const flat = b.constant([-1], "int64");
    const ramp = (n: string, stride: string) =>
      b.op("Mul", [b.op("Range", [b.constant([0], "int64", []), toScalar(n), b.constant([1], "int64", [])]), stride]);
    const xs = b.op("Reshape", [
      b.op("Expand", [b.op("Unsqueeze", [ramp(gw, sx), b.constant([0], "int64")]), grid]),
      flat,
    ]); // [HW]
    const ys = b.op("Reshape", [
      b.op("Expand", [b.op("Unsqueeze", [ramp(gh, sy), b.constant([1], "int64")]), grid]),
      flat,
    ]);
    const col = (v: string) => b.op("Unsqueeze", [v, b.constant([1], "int64")]);
    const shifts = b.op("Concat", [col(xs), col(ys), col(xs), col(ys)], [attr.i("axis", 1)]); // [HW, 4] int64
    const shiftsF = b.op("Cast", [shifts], [attr.i("to", ONNX_DTYPE[dt]!)]);
    const base = staticNums(cells, `cell anchors of level ${l}`);
    const cell = b.constant(base, dt, [1, base.length / 4, 4]);
    const one = b.op("Add", [b.op("Unsqueeze", [shiftsF, b.constant([1], "int64")]), cell]); // [HW, A, 4]
    return b.op("Reshape", [one, b.constant([-1, 4], "int64")]);
  });
  b.op("Concat", levels, [attr.i("axis", 0)], out(c));
}

/**
 * MultiScaleRoIAlign with the levels given (src/export/rcnn.ts `multiScaleRoiAlignOp`): ONNX RoiAlign on every
 * level for all rois, each roi's row taken from its own level. RoiAlign's `output_half_pixel` is torchvision's
 * aligned=False (no half-pixel shift, rois at least 1 × 1), with the same sample positions, boundary rule and
 * average. The spatial scale is a graph input (it follows the image size), applied to the rois before the op:
 * powers of two, so the product is exact and equals the kernel's own `roi · spatial_scale`.
 */
function multiScaleRoiAlign(c: EmitContext, [ts, outputSize, samplingRatio]: readonly SymArg[]) {
  const b = c.b;
  const [rois, batchIndex, levels, scales, ...features] = ts as readonly SymArg[];
  const [ph, pw] = staticNums(outputSize!, "RoIAlign output size");
  // onnxruntime's RoiAlign computes in float32 (or double) only.
  const half = b.floatType === "float16";
  const asFloat = (v: string) => (half ? b.op("Cast", [v], [attr.i("to", T_FLOAT)]) : v);
  const attrs = [
    attr.s("mode", "avg"),
    attr.i("output_height", ph!),
    attr.i("output_width", pw!),
    attr.i("sampling_ratio", staticNum(samplingRatio!, "sampling ratio")),
    attr.f("spatial_scale", 1),
    attr.s("coordinate_transformation_mode", "output_half_pixel"),
  ];
  const r = asFloat(c.name(rois!));
  const s = asFloat(c.name(scales!));
  let acc: string | undefined;
  for (const [l, feat] of features.entries()) {
    const scale = b.op("Gather", [s, b.constant([l], "int64", [])], [attr.i("axis", 0)]); // []
    const pooled = b.op("RoiAlign", [asFloat(c.name(feat)), b.op("Mul", [r, scale]), c.name(batchIndex!)], attrs);
    if (acc === undefined) {
      acc = pooled;
      continue;
    }
    const mine = b.op("Reshape", [
      b.op("Equal", [c.name(levels!), b.constant([l], "int64", [])]),
      b.constant([-1, 1, 1, 1], "int64"),
    ]); // [K, 1, 1, 1]
    acc = b.op("Where", [mine, pooled, acc]);
  }
  if (half) b.op("Cast", [acc!], [attr.i("to", ONNX_DTYPE.float16!)], out(c));
  else b.op("Identity", [acc!], [], out(c));
}

/** int64 [1]: dimension `a` of a value's shape. */
const dimOf = (c: EmitContext, name: string, a: number) => c.b.dimAt(c.b.shapeOf(name), a);

/**
 * SR input padding (src/models/sr/base.ts `forwardPadded`): bottom/right up to multiples of m, pad = (m − n mod m)
 * mod m from the shape at run time. Reflect falls back to replicate when a pad reaches the size, as the engine; both
 * pads are always emitted, with the amounts switched by that condition, so neither can fail at run time.
 */
function srPad(c: EmitContext, [ts, multiple, mode]: readonly SymArg[]) {
  const b = c.b;
  const x = c.name((ts as readonly SymArg[])[0]!);
  const m = b.constant([staticNum(multiple!, "pad multiple")], "int64");
  const [h, w] = [dimOf(c, x, 2), dimOf(c, x, 3)];
  const padTo = (n: string) => b.op("Mod", [b.op("Sub", [m, b.op("Mod", [n, m])]), m]); // [1]
  const [ph, pw] = [padTo(h), padTo(w)];
  const before = b.constant([0, 0, 0, 0, 0, 0], "int64");
  const pads = (dh: string, dw: string) => b.op("Concat", [before, dh, dw], [attr.i("axis", 0)]); // [8]
  if (mode === "replicate") {
    b.op("Pad", [x, pads(ph, pw)], [attr.s("mode", "edge")], out(c));
    return;
  }
  const ok = b.op("And", [b.op("Less", [ph, h]), b.op("Less", [pw, w])]); // [1] bool
  const zero = b.constant([0], "int64");
  const pick = (cond: boolean, v: string) => b.op("Where", cond ? [ok, v, zero] : [ok, zero, v]);
  const reflected = b.op("Pad", [x, pads(pick(true, ph), pick(true, pw))], [attr.s("mode", "reflect")]);
  b.op("Pad", [reflected, pads(pick(false, ph), pick(false, pw))], [attr.s("mode", "edge")], out(c));
}

/** y cut to (x's h·s, w·s) (src/models/sr/base.ts `cropToScale`). */
function srCrop(c: EmitContext, [ts, scale]: readonly SymArg[]) {
  const b = c.b;
  const [y, x] = (ts as readonly SymArg[]).map((t) => c.name(t)) as [string, string];
  const s = b.constant([staticNum(scale!, "crop scale")], "int64");
  const ends = b.op(
    "Concat",
    [b.op("Mul", [dimOf(c, x, 2), s]), b.op("Mul", [dimOf(c, x, 3), s])],
    [attr.i("axis", 0)],
  );
  b.op("Slice", [y, b.constant([0, 0], "int64"), ends, b.constant([2, 3], "int64")], [], out(c));
}

/**
 * main_test_swinir.py's padding (src/models/sr/swinir.ts): per axis, the map followed by its flip, cut to
 * min(2n, (n // ws + 1)·ws).
 */
function srMirrorPad(c: EmitContext, [ts, window]: readonly SymArg[]) {
  const b = c.b;
  const ws = b.constant([staticNum(window!, "window")], "int64");
  let t = c.name((ts as readonly SymArg[])[0]!);
  for (const a of [2, 3]) {
    const ax = b.constant([a], "int64");
    const flipped = b.op("Slice", [
      t,
      b.constant([-1], "int64"),
      b.constant([-TO_END], "int64"),
      ax,
      b.constant([-1], "int64"),
    ]);
    const both = b.op("Concat", [t, flipped], [attr.i("axis", a)]);
    const n = dimOf(c, t, a);
    const len = b.op("Min", [b.op("Add", [n, n]), b.op("Add", [b.op("Mul", [b.op("Div", [n, ws]), ws]), ws])]);
    t = b.op("Slice", [both, b.constant([0], "int64"), len, ax], [], a === 3 ? out(c) : undefined);
  }
}

/**
 * torch.roll with fixed shifts: per dim, the last s entries moved to the front (s > 0) or the first |s| to the back,
 * by two Slices relative to the ends and a Concat; needs |s| < the size, as every shifted window (s = ws / 2).
 */
function roll(c: EmitContext, [x, shifts, dims]: readonly SymArg[]) {
  const b = c.b;
  const ss = staticNums(shifts!, "roll shifts");
  const ds = staticNums(dims!, "roll dims");
  const r = c.info(x!).rank;
  let t = c.name(x!);
  ss.forEach((s, i) => {
    const a = axis(ds[i]!, r);
    if (Math.abs(s) >= c.info(x!).shape[a]!) {
      throw new TasksrError("E_EXPORT", `roll by ${s} along a dimension of ${c.info(x!).shape[a]} is not exported`);
    }
    const cut = b.constant([-s], "int64"); // the split point: −s from the end for s > 0, |s| for s < 0
    const ax = b.constant([a], "int64");
    const tail = b.op("Slice", [t, cut, b.constant([TO_END], "int64"), ax]);
    const head = b.op("Slice", [t, b.constant([0], "int64"), cut, ax]);
    const last = i === ss.length - 1;
    t = b.op("Concat", [tail, head], [attr.i("axis", a)], last ? out(c) : undefined);
  });
  if (ss.length === 0) b.op("Identity", [t], [], out(c));
}

function compare(onnxOp: string, negate = false): Emitter {
  return (c, [a, other]) => {
    const inputs = [c.name(a!), operand(c, other!, a!)];
    if (negate) c.b.op("Not", [c.b.op(onnxOp, inputs)], [], out(c));
    else c.b.op(onnxOp, inputs, [], out(c));
  };
}

export const EMITTERS: Readonly<Record<string, Emitter>> = {
  rcnnTransform,
  rcnnAnchors,
  multiScaleRoiAlign,
  srPad,
  srCrop,
  srMirrorPad,
  roll,
  eq: compare("Equal"),
  ne: compare("Equal", true),
  lt: compare("Less"),
  le: compare("LessOrEqual"),
  gt: compare("Greater"),
  ge: compare("GreaterOrEqual"),
  unbind: (c, [x, dim]) => {
    const a = axis(staticNum(dim!, "unbind dim"), c.info(x!).rank);
    c.outs.forEach((name, i) => {
      c.b.op("Gather", [c.name(x!), c.b.constant([i], "int64", [])], [attr.i("axis", a)], name);
    });
  },
  indexSelect: (c, [x, dim, index]) =>
    void c.b.op(
      "Gather",
      [c.name(x!), c.name(index!)],
      [attr.i("axis", axis(staticNum(dim!, "index_select dim"), c.info(x!).rank))],
      out(c),
    ),
  conv2d: (c, [x, w, bias, stride, padding, dilation, groups]) =>
    void c.b.op("Conv", weighted(c, x!, w!, bias), convAttrs("conv", stride!, padding!, dilation!, groups!), out(c)),
  convTranspose2d: (c, [x, w, bias, stride, padding, outputPadding, groups, dilation]) => {
    const what = "conv_transpose";
    const attrs = [
      ...convAttrs(what, stride!, padding!, dilation!, groups!),
      attr.ints("output_padding", staticNums(outputPadding!, `${what} output padding`)),
    ];
    c.b.op("ConvTranspose", weighted(c, x!, w!, bias), attrs, out(c));
  },
  linear: (c, [x, w, bias]) => {
    if (c.info(x!).rank === 2) {
      c.b.op("Gemm", weighted(c, x!, w!, bias), [attr.i("transB", 1)], out(c));
      return;
    }
    const wt = c.b.op("Transpose", [c.name(w!)], [attr.ints("perm", [1, 0])]);
    if (isRef(bias)) c.b.op("Add", [c.b.op("MatMul", [c.name(x!), wt]), c.name(bias)], [], out(c));
    else c.b.op("MatMul", [c.name(x!), wt], [], out(c));
  },
  batchNorm: (c, [x, w, bias, mean, variance, training, , eps]) => {
    if (training === true || !isRef(mean) || !isRef(variance)) {
      throw new TasksrError("E_EXPORT", "batch norm in training mode (or without running statistics) is not exported");
    }
    const ch = c.info(mean).shape[0]!;
    const dt = c.b.graphDtype(c.info(x!).dtype);
    const scale = isRef(w) ? c.name(w) : c.b.constant(Array(ch).fill(1), dt);
    const shift = isRef(bias) ? c.name(bias) : c.b.constant(Array(ch).fill(0), dt);
    c.b.op(
      "BatchNormalization",
      [c.name(x!), scale, shift, c.name(mean), c.name(variance)],
      [attr.f("epsilon", staticNum(eps!, "eps"))],
      out(c),
    );
  },
  layerNorm: (c, [x, shape, w, bias, eps]) => {
    const k = staticNums(shape!, "normalized shape").length;
    const dt = c.b.graphDtype(c.info(x!).dtype);
    const n = c
      .info(x!)
      .shape.slice(-k)
      .reduce((p, q) => p * q, 1);
    const scale = isRef(w) ? c.name(w) : c.b.constant(Array(n).fill(1), dt, c.info(x!).shape.slice(-k));
    const inputs = [c.name(x!), scale, ...(isRef(bias) ? [c.name(bias)] : [])];
    c.b.op("LayerNormalization", inputs, [attr.i("axis", -k), attr.f("epsilon", staticNum(eps!, "eps"))], out(c));
  },
  dropout: (c, args) => {
    if (args[2] === true) throw new TasksrError("E_EXPORT", "dropout in training mode is not exported (call eval())");
    identity(c, args);
  },
  dropout2d: (c, args) => EMITTERS.dropout!(c, args),
  maxPool2d: pool("MaxPool"),
  avgPool2d: pool("AveragePool"),
  adaptiveAvgPool2d: (c, [x, size]) => {
    const s = staticNums(size!, "adaptive pool size");
    if (s[0] !== 1 || s[1] !== 1) {
      throw new TasksrError("E_EXPORT", `adaptive_avg_pool2d to ${s.join("×")} is not exported (only 1×1)`);
    }
    c.b.op("GlobalAveragePool", [c.name(x!)], [], out(c));
  },
  interpolate: resize,
  pixelShuffle: (c, [x, r]) =>
    void c.b.op(
      "DepthToSpace",
      [c.name(x!)],
      [attr.i("blocksize", staticNum(r!, "upscale factor")), attr.s("mode", "CRD")],
      out(c),
    ),
  relu: unary("Relu"),
  sigmoid: unary("Sigmoid"),
  tanh: unary("Tanh"),
  exp: unary("Exp"),
  log: unary("Log"),
  sqrt: unary("Sqrt"),
  abs: unary("Abs"),
  neg: unary("Neg"),
  erf: unary("Erf"),
  hardswish: unary("HardSwish"),
  hardsigmoid: (c, [x]) =>
    void c.b.op("HardSigmoid", [c.name(x!)], [attr.f("alpha", 1 / 6), attr.f("beta", 0.5)], out(c)),
  leakyRelu: (c, [x, slope]) =>
    void c.b.op("LeakyRelu", [c.name(x!)], [attr.f("alpha", staticNum(slope!, "slope"))], out(c)),
  elu: (c, [x, alpha]) => void c.b.op("Elu", [c.name(x!)], [attr.f("alpha", staticNum(alpha ?? 1, "alpha"))], out(c)),
  silu: (c, [x]) => void c.b.op("Mul", [c.name(x!), c.b.op("Sigmoid", [c.name(x!)])], [], out(c)),
  gelu: (c, [x, approximate]) => {
    if (approximate === "tanh") throw new TasksrError("E_EXPORT", "tanh-approximated GELU is not exported");
    const dt = c.info(x!).dtype;
    const e = c.b.op("Erf", [c.b.op("Mul", [c.name(x!), c.b.scalarLike(Math.SQRT1_2, dt)])]);
    const half = c.b.op("Mul", [c.name(x!), c.b.scalarLike(0.5, dt)]);
    c.b.op("Mul", [half, c.b.op("Add", [e, c.b.scalarLike(1, dt)])], [], out(c));
  },
  prelu: (c, [x, w]) => {
    // PyTorch's weight is [C] for channel dim 1; ONNX broadcasts from the right, so it needs [C, 1, 1].
    const rank = c.info(x!).rank;
    const n = c.info(w!).shape[0] ?? 1;
    const slope =
      n === 1 || rank < 3
        ? c.name(w!)
        : c.b.op("Reshape", [c.name(w!), c.b.constant([n, ...Array(rank - 2).fill(1)], "int64")]);
    c.b.op("PRelu", [c.name(x!), slope], [], out(c));
  },
  hardtanh: (c, [x, lo, hi]) => {
    const dt = c.info(x!).dtype;
    c.b.op(
      "Clip",
      [c.name(x!), c.b.scalarLike(staticNum(lo!, "min"), dt), c.b.scalarLike(staticNum(hi!, "max"), dt)],
      [],
      out(c),
    );
  },
  clamp: (c, [x, lo, hi]) => {
    const bound = (v: SymArg | undefined) =>
      v === null || v === undefined
        ? ""
        : isRef(v)
          ? c.name(v)
          : c.b.scalarLike(staticNum(v, "clamp bound"), c.info(x!).dtype);
    c.b.op("Clip", [c.name(x!), bound(lo), bound(hi)], [], out(c));
  },
  add: binary("Add"),
  sub: binary("Sub"),
  mul: binary("Mul"),
  div: (c, args) => {
    if (args[2] !== undefined && args[2] !== null) {
      throw new TasksrError("E_EXPORT", `div with rounding mode "${String(args[2])}" is not exported`);
    }
    binary("Div")(c, args);
  },
  pow: binary("Pow"),
  rsub: (c, [x, s]) => void c.b.op("Sub", [operand(c, s!, x!), c.name(x!)], [], out(c)),
  rdiv: (c, [x, s]) => void c.b.op("Div", [operand(c, s!, x!), c.name(x!)], [], out(c)),
  matmul: (c, [a, b]) => void c.b.op("MatMul", [c.name(a!), c.name(b!)], [], out(c)),
  bmm: (c, [a, b]) => void c.b.op("MatMul", [c.name(a!), c.name(b!)], [], out(c)),
  softmax: (c, [x, dim]) =>
    void c.b.op("Softmax", [c.name(x!)], [attr.i("axis", staticNum(dim!, "softmax dim"))], out(c)),
  logSoftmax: (c, [x, dim]) =>
    void c.b.op("LogSoftmax", [c.name(x!)], [attr.i("axis", staticNum(dim!, "log_softmax dim"))], out(c)),
  mean: reduce("ReduceMean"),
  norm: (c, [x, p, dims, keepdim]) => {
    const order = staticNum(p!, "norm order");
    if (order !== 1 && order !== 2)
      throw new TasksrError("E_EXPORT", `norm of order ${order} is not exported (1 or 2)`);
    reduce(order === 2 ? "ReduceL2" : "ReduceL1")(c, [x!, dims, keepdim]);
  },
  sum: reduce("ReduceSum"),
  cat: (c, [ts, dim]) => {
    const list = ts as readonly SymArg[];
    const r = c.info(list[0]!).rank;
    c.b.op(
      "Concat",
      list.map((t) => c.name(t)),
      [attr.i("axis", axis(staticNum(dim!, "cat dim"), r))],
      out(c),
    );
  },
  stack: (c, [ts, dim]) => {
    const list = ts as readonly SymArg[];
    const d = axis(staticNum(dim!, "stack dim"), c.info(list[0]!).rank + 1);
    const ax = c.b.constant([d], "int64");
    c.b.op(
      "Concat",
      list.map((t) => c.b.op("Unsqueeze", [c.name(t), ax])),
      [attr.i("axis", d)],
      out(c),
    );
  },
  reshape: (c, [x, shape]) => {
    const s = shape as readonly SymArg[];
    if (s.some((v) => v === 0)) throw new TasksrError("E_EXPORT", "reshape to a size-0 dimension is not exported");
    c.b.op("Reshape", [c.name(x!), c.b.ints(s, "reshape shape")], [], out(c));
  },
  view: (c, args) => EMITTERS.reshape!(c, args),
  flatten: (c, [x, start, end]) => {
    const r = c.info(x!).rank;
    const s = axis(staticNum(start!, "flatten start"), r);
    const e = axis(staticNum(end!, "flatten end"), r);
    if (e !== r - 1) throw new TasksrError("E_EXPORT", "flatten that keeps trailing dims is not exported");
    if (s === 1) c.b.op("Flatten", [c.name(x!)], [attr.i("axis", 1)], out(c));
    else c.b.op("Reshape", [c.name(x!), c.b.constant([...Array(s).fill(0), -1], "int64")], [], out(c));
  },
  permute: (c, [x, dims]) => {
    const r = c.info(x!).rank;
    c.b.op(
      "Transpose",
      [c.name(x!)],
      [
        attr.ints(
          "perm",
          staticNums(dims!, "permute").map((d) => axis(d, r)),
        ),
      ],
      out(c),
    );
  },
  transpose: (c, [x, a, b]) => {
    const r = c.info(x!).rank;
    const perm = Array.from({ length: r }, (_, i) => i);
    const [i, j] = [axis(staticNum(a!, "dim0"), r), axis(staticNum(b!, "dim1"), r)];
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    c.b.op("Transpose", [c.name(x!)], [attr.ints("perm", perm)], out(c));
  },
  unsqueeze: (c, [x, dim]) => {
    const d = axis(staticNum(dim!, "unsqueeze dim"), c.info(x!).rank + 1);
    c.b.op("Unsqueeze", [c.name(x!), c.b.constant([d], "int64")], [], out(c));
  },
  squeeze: (c, [x, dim]) => {
    if (dim === undefined || dim === null) throw new TasksrError("E_EXPORT", "squeeze without a dim is not exported");
    const d = axis(staticNum(dim, "squeeze dim"), c.info(x!).rank);
    c.b.op("Squeeze", [c.name(x!), c.b.constant([d], "int64")], [], out(c));
  },
  to: (c, [x, dtype]) => {
    // A device move is nothing in a graph; a dtype change is a Cast (float32 stays the graph's float type).
    if (dtype === undefined || dtype === null) return identity(c, [x!]);
    const name = dtypeFromCode(staticNum(dtype, "dtype"));
    const code = ONNX_DTYPE[c.b.graphDtype(name)];
    if (code === undefined) throw new TasksrError("E_EXPORT", `a cast to ${name} has no ONNX type`);
    c.b.op("Cast", [c.name(x!)], [attr.i("to", code)], out(c));
  },
  expand: (c, [x, shape]) => {
    // PyTorch's -1 keeps a dimension; ONNX Expand broadcasts, so 1 does the same there.
    const dims = (shape as readonly SymArg[]).map((d) => (d === -1 ? 1 : d));
    c.b.op("Expand", [c.name(x!), c.b.ints(dims, "expand shape")], [], out(c));
  },
  arange: (c, [start, end, step]) => {
    // Range takes 0-d inputs of the output's type (int64, or the graph's float type).
    const dt = c.b.graphDtype(c.outInfo.dtype);
    const bounds = [c.b.scalar(start!, dt, "arange start"), c.b.scalar(end!, dt, "arange end")];
    c.b.op("Range", [...bounds, c.b.scalar(step!, dt, "arange step")], [], out(c));
  },
  zeros: (c, [shape]) => filled(c, shape!, 0),
  ones: (c, [shape]) => filled(c, shape!, 1),
  full: (c, [shape, value]) => filled(c, shape!, value!),
  contiguous: identity,
  clone: identity,
  detach: identity,
  alias: identity,
  narrow: (c, [x, dim, start, length]) =>
    slice(c, x!, staticNum(dim!, "narrow dim"), start!, c.b.sum(start!, length!, "narrow end"), 1),
  slice: (c, [x, dim, start, end, step]) =>
    slice(
      c,
      x!,
      staticNum(dim!, "slice dim"),
      start ?? 0,
      end === null || end === undefined ? null : c.b.ints([end], "slice end"),
      staticNum(step!, "slice step"),
    ),
  select: (c, [x, dim, index]) => {
    const r = c.info(x!).rank;
    const idx = c.b.scalar(index!, "int64", "index");
    c.b.op("Gather", [c.name(x!), idx], [attr.i("axis", axis(staticNum(dim!, "select dim"), r))], out(c));
  },
  pad: (c, [x, pads, mode, value]) => {
    const r = c.info(x!).rank;
    const p = pads as readonly SymArg[];
    // PyTorch lists (begin, end) pairs from the last dim backwards; ONNX all begins, then all ends, from dim 0.
    const begins: SymArg[] = Array(r).fill(0);
    const ends: SymArg[] = Array(r).fill(0);
    for (let i = 0; i < p.length / 2; i++) {
      begins[r - 1 - i] = p[2 * i]!;
      ends[r - 1 - i] = p[2 * i + 1]!;
    }
    const m = mode === "replicate" ? "edge" : mode === "reflect" ? "reflect" : "constant";
    if (mode !== "replicate" && mode !== "reflect" && mode !== "constant") {
      throw new TasksrError("E_EXPORT", `pad mode "${String(mode)}" is not exported`);
    }
    const inputs = [c.name(x!), c.b.ints([...begins, ...ends], "pad")];
    if (m === "constant") inputs.push(c.b.scalarLike(typeof value === "number" ? value : 0, c.info(x!).dtype));
    c.b.op("Pad", inputs, [attr.s("mode", m)], out(c));
  },
};
