/** Tensor creation: from JS data, constant fills, ranges, random sampling, joining. */
import { check } from "../errors.js";
import { DTYPE_CODE, type DType, dtypeOfTypedArray, type TypedArray } from "./dtype.js";
import { type GenHandle, N } from "./native.js";
import { type Scalar, Tensor, type TensorOrScalar } from "./tensor.js";

export interface CreateOptions {
  dtype?: DType;
  /** "cpu" (default), "cuda", "cuda:1", ... */
  device?: string;
  requiresGrad?: boolean;
}

/** A seeded random stream independent of the global one (like torch.Generator). */
export class Generator {
  readonly handle: GenHandle;
  constructor(seed = 0) {
    this.handle = N.generatorNew(seed);
  }
  manualSeed(seed: number): this {
    N.generatorSeed(this.handle, seed);
    return this;
  }
  /** Full RNG state (uint8 tensor), for checkpoints. */
  getState(): Tensor {
    return new Tensor(N.generatorGetState(this.handle));
  }
  setState(state: Tensor): this {
    N.generatorSetState(this.handle, state.handle);
    return this;
  }
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

const code = (d: DType | undefined) => (d === undefined ? undefined : DTYPE_CODE[d]);

function finish(h: ReturnType<typeof N.zeros>, o: CreateOptions): Tensor {
  const t = new Tensor(h);
  if (o.requiresGrad) t.requiresGrad = true;
  return t;
}

type Nested = number | boolean | Nested[];

function flattenNested(data: Nested, shape: number[], out: number[], depth: number): void {
  if (Array.isArray(data)) {
    if (shape.length === depth) shape.push(data.length);
    check(shape[depth] === data.length, () => `tensor(): ragged nested array at depth ${depth}`);
    for (const d of data) flattenNested(d, shape, out, depth + 1);
  } else {
    check(shape.length === depth, () => `tensor(): ragged nested array at depth ${depth}`);
    out.push(typeof data === "boolean" ? Number(data) : data);
  }
}

/**
 * Creates a tensor from a typed array (dtype follows the array type), a nested JS array or a number.
 * JS numbers default to float32 (JS cannot tell 1 from 1.0); pass `dtype` for integers, booleans default to bool.
 * `shape` is required for typed arrays that are not 1-D.
 */
export function tensor(data: TypedArray | Nested, opts: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const src = data as TypedArray;
    const shape = opts.shape ? [...opts.shape] : [src.length];
    const h = N.fromBuffer(src, shape, DTYPE_CODE[dtypeOfTypedArray(src)]);
    if (opts.dtype === undefined && opts.device === undefined) return finish(h, opts);
    try {
      return finish(N.to(h, code(opts.dtype), opts.device, false), opts);
    } finally {
      N.dispose(h);
    }
  }
  const shape: number[] = [];
  const flat: number[] = [];
  flattenNested(data, shape, flat, 0);
  const isBool = typeof data === "boolean" || (Array.isArray(data) && flat.length > 0 && firstLeaf(data) === "boolean");
  const dtype = opts.dtype ?? (isBool ? "bool" : "float32");
  const finalShape = opts.shape ? [...opts.shape] : shape;
  const h64 = N.fromBuffer(new Float64Array(flat), finalShape, DTYPE_CODE.float64);
  try {
    return finish(N.to(h64, DTYPE_CODE[dtype], opts.device, false), opts);
  } finally {
    N.dispose(h64);
  }
}

function firstLeaf(d: Nested): string {
  let x: Nested = d;
  while (Array.isArray(x)) {
    if (x.length === 0) return "number";
    x = x[0]!;
  }
  return typeof x;
}

/** A 0-d tensor holding one value. */
export const scalarTensor = (v: number, opts: CreateOptions = {}): Tensor => full([], v, opts);

export const zeros = (shape: readonly number[], o: CreateOptions = {}): Tensor =>
  finish(N.zeros([...shape], code(o.dtype), o.device), o);
export const ones = (shape: readonly number[], o: CreateOptions = {}): Tensor =>
  finish(N.ones([...shape], code(o.dtype), o.device), o);
/** Uninitialised memory; fill it before reading. */
export const empty = (shape: readonly number[], o: CreateOptions = {}): Tensor =>
  finish(N.empty([...shape], code(o.dtype), o.device), o);
export const full = (shape: readonly number[], value: Scalar, o: CreateOptions = {}): Tensor =>
  finish(N.full([...shape], value, code(o.dtype ?? (typeof value === "boolean" ? "bool" : "float32")), o.device), o);
export const zerosLike = (t: Tensor, o: { dtype?: DType } = {}): Tensor =>
  new Tensor(N.zerosLike(t.handle, code(o.dtype)));
export const onesLike = (t: Tensor, o: { dtype?: DType } = {}): Tensor =>
  new Tensor(N.onesLike(t.handle, code(o.dtype)));
export const fullLike = (t: Tensor, value: Scalar, o: { dtype?: DType } = {}): Tensor =>
  new Tensor(N.fullLike(t.handle, value, code(o.dtype)));
export const emptyLike = (t: Tensor, o: { dtype?: DType } = {}): Tensor =>
  new Tensor(N.emptyLike(t.handle, code(o.dtype)));

/**
 * Values from start (inclusive) to end (exclusive) by step: `arange(5)` or `arange(2, 10, 2)`.
 * The dtype defaults to int64 when all arguments are integers, as in torch.
 */
export function arange(startOrEnd: number, end?: number, step = 1, o: CreateOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  const ints = [s, e, step].every(Number.isInteger);
  return finish(N.arange(s, e, step, code(o.dtype ?? (ints ? "int64" : "float32")), o.device), o);
}
export const linspace = (start: number, end: number, steps: number, o: CreateOptions = {}): Tensor =>
  finish(N.linspace(start, end, steps, code(o.dtype ?? "float32"), o.device), o);
export const eye = (n: number, m = n, o: CreateOptions = {}): Tensor =>
  finish(N.eye(n, m, code(o.dtype ?? "float32"), o.device), o);

/** Uniform samples in [0, 1). */
export const rand = (shape: readonly number[], o: RandomOptions = {}): Tensor =>
  finish(N.rand([...shape], code(o.dtype ?? "float32"), o.device, o.generator?.handle), o);
/** Standard normal samples. */
export const randn = (shape: readonly number[], o: RandomOptions = {}): Tensor =>
  finish(N.randn([...shape], code(o.dtype ?? "float32"), o.device, o.generator?.handle), o);
/** Integers uniform in [low, high), int64 by default. */
export const randint = (low: number, high: number, shape: readonly number[], o: RandomOptions = {}): Tensor =>
  finish(N.randint(low, high, [...shape], code(o.dtype), o.device, o.generator?.handle), o);
/** A random permutation of 0..n-1 (int64). */
export const randperm = (n: number, o: RandomOptions = {}): Tensor =>
  new Tensor(N.randperm(n, o.device, o.generator?.handle));
/** 0/1 samples with the given probabilities (same dtype as `probs`). */
export const bernoulli = (probs: Tensor, o: { generator?: Generator } = {}): Tensor =>
  new Tensor(N.bernoulli(probs.handle, o.generator?.handle));
/** `n` category indices per row of (unnormalised) probabilities. */
export const multinomial = (probs: Tensor, n: number, replacement = false, o: { generator?: Generator } = {}): Tensor =>
  new Tensor(N.multinomial(probs.handle, n, replacement, o.generator?.handle));

/** Seeds the default generators of every device; makes CPU runs bit-reproducible. */
export const manualSeed = (seed: number): void => N.manualSeed(seed);
/** States of the default generators (CPU first, then each CUDA device), for checkpoints. */
export const getRngStates = (): Tensor[] => N.defaultGeneratorStates().map((h) => new Tensor(h));
export const setRngStates = (states: readonly Tensor[]): void =>
  N.setDefaultGeneratorStates(states.map((t) => t.handle));

// ---- joining and selection ----
export function cat(ts: readonly Tensor[], dim = 0): Tensor {
  check(ts.length > 0, () => "cat(): needs at least one tensor");
  return new Tensor(
    N.cat(
      ts.map((t) => t.handle),
      dim,
    ),
  );
}
export function stack(ts: readonly Tensor[], dim = 0): Tensor {
  check(ts.length > 0, () => "stack(): needs at least one tensor");
  return new Tensor(
    N.stack(
      ts.map((t) => t.handle),
      dim,
    ),
  );
}
/** Elementwise `cond ? a : b` with broadcasting; a and b may be scalars. */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return new Tensor(N.where(cond.handle, a instanceof Tensor ? a.handle : a, b instanceof Tensor ? b.handle : b));
}
/** Einstein summation, e.g. `einsum("bij,bjk->bik", a, b)`. */
export const einsum = (equation: string, ...ts: Tensor[]): Tensor =>
  new Tensor(
    N.einsum(
      equation,
      ts.map((t) => t.handle),
    ),
  );

/**
 * A float32 CPU tensor over `data`'s memory, without a copy: for batches that data workers write into
 * SharedArrayBuffers. When the tensor's storage is freed, `flags[index]` becomes 0 (atomically, from whatever
 * thread frees it); until then the memory is the tensor's. The caller keeps `data`'s and `flags`' buffers alive
 * until that flag reads 0.
 */
export function sharedView(data: Float32Array, shape: readonly number[], flags: Int32Array, index: number): Tensor {
  return new Tensor(N.viewShared(data, [...shape], flags, index));
}
