/**
 * ONNX graph under construction: nodes, initializers (deduplicated small constants), and the int64 shape arithmetic
 * that turns an affine size (src/export/dynamic.ts) into a tensor computed from the input's shape at run time.
 * Serialised with onnx-proto (protobufjs) in src/export/onnx.ts.
 */
import onnxProto from "onnx-proto";
import type { DType } from "../engine/dtype.js";
import { TasksrError } from "../errors.js";
import { type Affine, type DimArg, isDim, type SymArg } from "./dynamic.js";
import type { ConstSnapshot } from "./trace.js";

const { onnx } = onnxProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

const T = onnx.TensorProto.DataType;
export const ONNX_DTYPE: Partial<Record<DType, number>> = {
  float32: T.FLOAT,
  float16: T.FLOAT16,
  float64: T.DOUBLE,
  int64: T.INT64,
  int32: T.INT32,
  int8: T.INT8,
  uint8: T.UINT8,
  bool: T.BOOL,
};

/** Attribute constructors (ONNX attributes are typed; a JS number does not say int or float). */
const AT = onnx.AttributeProto.AttributeType;
export const attr = {
  i: (name: string, i: number): AttributeProto => ({ name, type: AT.INT, i }),
  f: (name: string, f: number): AttributeProto => ({ name, type: AT.FLOAT, f }),
  s: (name: string, s: string): AttributeProto => ({ name, type: AT.STRING, s: new TextEncoder().encode(s) }),
  ints: (name: string, ints: readonly number[]): AttributeProto => ({ name, type: AT.INTS, ints: [...ints] }),
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from a float32, round to nearest even (what torch's .half() does). */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to ±0
    mant |= 0x800000; // subnormal half: shift the implicit 1 in
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1) === 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  const rounded = half + (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? 1 : 0);
  return sign | rounded; // a carry into the exponent is the correct rounding (up to inf)
}

function halfBytes(f32: Uint8Array): Uint8Array {
  const src = new Float32Array(f32.buffer, f32.byteOffset, f32.byteLength / 4);
  const dst = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) dst[i] = toHalfBits(src[i]!);
  return new Uint8Array(dst.buffer);
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  #n = 0;
  #small = new Map<string, string>();
  #shapeOf = new Map<string, string>();

  /**
   * @param floatType the graph's float type: float32, or float16 for `--fp16` (float32 constants are stored as half)
   * @param input name of the graph input whose [N, C, h, w] the affine sizes refer to
   */
  constructor(
    readonly opset: number,
    readonly floatType: "float32" | "float16",
    readonly input: string,
    /** Graph name of a traced value, for sizes read off its shape. */
    readonly valueName: (id: number) => string,
  ) {}

  fresh(prefix = "t"): string {
    return `${prefix}_${this.#n++}`;
  }

  /** Adds a node; returns its output names (`outputs` given, or fresh ones). */
  node(
    op: string,
    inputs: readonly string[],
    attrs: AttributeProto[] = [],
    outputs: readonly string[] = [this.fresh()],
  ) {
    this.nodes.push({
      opType: op,
      input: [...inputs],
      output: [...outputs],
      attribute: attrs,
      name: `${op}_${this.#n++}`,
    });
    return outputs;
  }
  /** One-output node. */
  op(op: string, inputs: readonly string[], attrs: AttributeProto[] = [], output?: string): string {
    return this.node(op, inputs, attrs, [output ?? this.fresh()])[0]!;
  }

  /** The graph's element type for a traced dtype (float32 becomes half in an fp16 graph). */
  graphDtype(d: DType): DType {
    return d === "float32" ? this.floatType : d;
  }

  /** Adds a traced constant as an initializer named `name`, in the graph's float type. */
  addConst(name: string, c: ConstSnapshot): void {
    const dtype = this.graphDtype(c.dtype);
    const code = ONNX_DTYPE[dtype];
    if (code === undefined) throw new TasksrError("E_EXPORT", `constants of dtype ${c.dtype} have no ONNX type here`);
    const raw = dtype === "float16" && c.dtype === "float32" ? halfBytes(c.bytes) : c.bytes;
    this.initializers.push({ name, dataType: code, dims: [...c.shape], rawData: raw });
  }

  /** A small constant tensor (deduplicated), of `dtype` as written (no fp16 conversion unless asked via graphDtype). */
  constant(values: readonly number[], dtype: DType, shape: readonly number[] = [values.length]): string {
    const key = `${dtype}:${shape}:${values}`;
    const known = this.#small.get(key);
    if (known !== undefined) return known;
    let raw: Uint8Array;
    if (dtype === "int64") raw = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    else if (dtype === "float32") raw = new Uint8Array(Float32Array.from(values).buffer);
    else if (dtype === "float16") raw = new Uint8Array(Uint16Array.from(values.map(toHalfBits)).buffer);
    else if (dtype === "int32") raw = new Uint8Array(Int32Array.from(values).buffer);
    else if (dtype === "bool") raw = Uint8Array.from(values.map((v) => (v ? 1 : 0)));
    else throw new TasksrError("E_EXPORT", `no ONNX constant of dtype ${dtype}`);
    const name = this.fresh("const");
    this.initializers.push({ name, dataType: ONNX_DTYPE[dtype]!, dims: [...shape], rawData: raw });
    this.#small.set(key, name);
    return name;
  }
  /** A 0-d constant of a traced value's dtype (as the scalar operand of add/mul with that value). */
  scalarLike(v: number, dtype: DType): string {
    return this.scalar(v, this.graphDtype(dtype), "scalar");
  }

  /** Shape(x) as int64 [rank], once per value. */
  shapeOf(x: string): string {
    let s = this.#shapeOf.get(x);
    if (s === undefined) {
      s = this.op("Shape", [x]);
      this.#shapeOf.set(x, s);
    }
    return s;
  }

  /** int64 [1] tensor holding c + n·N + h·H + w·W of the graph input. */
  affine(a: Affine): string {
    const shape = this.shapeOf(this.input);
    let acc: string | undefined;
    const terms: [number, number][] = [
      [a.n, 0],
      [a.h, 2],
      [a.w, 3],
    ];
    for (const [coef, axis] of terms) {
      if (coef === 0) continue;
      let t = this.dimAt(shape, axis);
      if (coef !== 1) t = this.op("Mul", [t, this.constant([coef], "int64")]);
      acc = acc === undefined ? t : this.op("Add", [acc, t]);
    }
    if (acc === undefined) return this.constant([a.c], "int64");
    return a.c === 0 ? acc : this.op("Add", [acc, this.constant([a.c], "int64")]);
  }

  /** int64 [1] tensor of a size-dependent number. */
  dim(d: DimArg): string {
    if ("dim" in d) return this.affine(d.dim);
    const { ref, axis, times, mul, div, add } = d.shapeOf;
    const shape = this.shapeOf(this.valueName(ref));
    let v = this.dimAt(shape, axis);
    if (times !== undefined) v = this.op("Mul", [v, this.dimAt(shape, times)]);
    if (mul !== undefined) v = this.op("Mul", [v, this.constant([mul], "int64")]);
    if (div !== undefined) v = this.op("Div", [v, this.constant([div], "int64")]); // exact: checked at every trace
    if (add !== undefined) v = this.op("Add", [v, this.constant([add], "int64")]);
    return v;
  }

  /** [1]: entry `axis` of a 1-D tensor — a dimension, when it is a Shape output (int64). */
  dimAt(shape: string, axis: number): string {
    return this.op("Gather", [shape, this.constant([axis], "int64")], [attr.i("axis", 0)]);
  }

  /**
   * A 0-d tensor of `dtype` (a graph dtype) holding `v`: a constant, or a size computed from the shapes and cast
   * (an operand x / x.size(2), a fill value, Range's bounds, a Gather index).
   */
  scalar(v: SymArg, dtype: DType, what: string): string {
    if (typeof v === "number" || typeof v === "boolean") return this.constant([Number(v)], dtype, []);
    const s = this.op("Squeeze", [this.ints([v], what), this.constant([0], "int64")]); // []
    return dtype === "int64" ? s : this.op("Cast", [s], [attr.i("to", ONNX_DTYPE[dtype]!)]);
  }

  /** int64 [k] tensor from numbers and size-dependent numbers (one initializer when all are static). */
  ints(args: readonly SymArg[], what: string): string {
    const parts = args.map((a) => {
      if (typeof a === "number" || isDim(a)) return a;
      throw new TasksrError("E_EXPORT", `${what}: expected integers, got ${JSON.stringify(a)}`);
    });
    if (parts.every((p) => typeof p === "number")) return this.constant(parts as number[], "int64");
    const pieces = parts.map((p) => (typeof p === "number" ? this.constant([p], "int64") : this.dim(p)));
    return pieces.length === 1 ? pieces[0]! : this.op("Concat", pieces, [attr.i("axis", 0)]);
  }

  /** int64 [1] tensor of a + b. */
  sum(a: SymArg, b: SymArg, what: string): string {
    if (typeof a === "number" && typeof b === "number") return this.constant([a + b], "int64");
    if (b === 0) return this.ints([a], what);
    if (a === 0) return this.ints([b], what);
    return this.op("Add", [this.ints([a], what), this.ints([b], what)]);
  }
}

/** A number that must not depend on the input size (a kernel size, an axis). */
export function staticNum(a: SymArg, what: string): number {
  if (typeof a === "number") return a;
  if (typeof a === "boolean") return a ? 1 : 0;
  throw new TasksrError("E_EXPORT", `${what} depends on the input size (${JSON.stringify(a)}); ONNX needs it fixed`);
}
export function staticNums(a: SymArg, what: string): number[] {
  if (!Array.isArray(a)) throw new TasksrError("E_EXPORT", `${what}: expected a list, got ${JSON.stringify(a)}`);
  return a.map((v, i) => staticNum(v, `${what}[${i}]`));
}
