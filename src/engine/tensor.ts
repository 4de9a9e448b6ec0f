/**
 * Tensor: a typed handle to a libtorch tensor. Methods follow PyTorch names (camelCase) and semantics
 * (broadcasting, negative dims, integer/float promotion); in-place methods end in `_` and return `this`.
 *
 * Lifetime is explicit: `dispose()`, `using t = ...`, or a `scope()` (see scope.ts). Never rely on GC.
 */
import { check, TasksrError } from "../errors.js";
import { type DataOf, DTYPE_CODE, type DType, dtypeFromCode, type TypedArray, typedArrayFor } from "./dtype.js";
import { type GenHandle, type Handle, N } from "./native.js";
import { track } from "./scope.js";

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
export type Dims = number | readonly number[];

/** Python-style slice for `Tensor.index`: `{start, end, step}` with negative bounds counted from the end. */
export interface Slice {
  start?: number;
  end?: number;
  step?: number;
}
/**
 * One index position: an integer selects (removes the dim), `null` keeps the whole dim, a Slice slices it,
 * a Tensor (int64 or bool) indexes it as PyTorch advanced indexing does, and "..." stands for the remaining dims.
 */
export type IndexSpec = number | null | Slice | Tensor | "...";

/** Generator handle type re-exported for random functions. */
export interface GeneratorLike {
  readonly handle: GenHandle;
}

const dimList = (d: Dims): number[] => (typeof d === "number" ? [d] : [...d]);
const arg = (x: TensorOrScalar): Handle | Scalar => (x instanceof Tensor ? x.handle : x);

export class Tensor {
  #h: Handle;
  #shape: readonly number[] | undefined;
  #dtype: DType | undefined;
  #device: string | undefined;

  /** Wraps a native handle. The new tensor joins the innermost open scope. */
  constructor(h: Handle) {
    this.#h = h;
    track(this);
  }

  /** The native handle (for engine internals). */
  get handle(): Handle {
    return this.#h;
  }

  /**
   * Engine internal: makes this object refer to another native tensor, disposing the old one. Modules use it to move
   * or load parameters while every reference to the parameter object stays valid (like PyTorch's `param.data = ...`).
   */
  _replaceHandle(h: Handle): void {
    if (h === this.#h) return;
    N.dispose(this.#h);
    this.#h = h;
    this.#shape = undefined;
    this.#dtype = undefined;
    this.#device = undefined;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Metadata
  // ---------------------------------------------------------------------------------------------------------------
  get shape(): readonly number[] {
    if (this.#shape === undefined) this.#shape = Object.freeze(N.shape(this.#h));
    return this.#shape;
  }
  get dtype(): DType {
    if (this.#dtype === undefined) this.#dtype = dtypeFromCode(N.dtype(this.#h));
    return this.#dtype;
  }
  /** "cpu", "cuda:0", ... */
  get device(): string {
    if (this.#device === undefined) this.#device = N.device(this.#h);
    return this.#device;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Size of dimension `dim` (negative counts from the end). */
  size(dim: number): number {
    const d = dim < 0 ? dim + this.ndim : dim;
    check(d >= 0 && d < this.ndim, () => `size(${dim}): dim out of range for shape [${this.shape}]`);
    return this.shape[d]!;
  }
  get isContiguous(): boolean {
    return N.isContiguous(this.#h);
  }
  get isDisposed(): boolean {
    return N.isDisposed(this.#h);
  }
  toString(): string {
    return this.isDisposed
      ? "Tensor(<disposed>)"
      : `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lifetime and data access
  // ---------------------------------------------------------------------------------------------------------------
  /** Releases the native tensor now. Idempotent. */
  dispose(): void {
    N.dispose(this.#h);
  }
  [Symbol.dispose](): void {
    N.dispose(this.#h);
  }

  /** Copies the elements to a typed array (row-major; float16/bfloat16 widened to float32, bool as 0/1 bytes). */
  data<D extends DType = DType>(): DataOf[D] {
    const d = this.dtype;
    if (d === "float16" || d === "bfloat16") {
      const h = N.to(this.#h, DTYPE_CODE.float32, undefined, false);
      try {
        return new Float32Array(N.toBuffer(h)) as DataOf[D];
      } finally {
        N.dispose(h);
      }
    }
    return typedArrayFor(d, N.toBuffer(this.#h)) as DataOf[D];
  }
  /** Elements as a flat array of JS numbers (int64 converted with Number()). */
  toArray(): number[] {
    const a = this.data();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a as Exclude<TypedArray, BigInt64Array>);
  }
  /** Elements as nested arrays following the shape (a number for a 0-d tensor). */
  tolist(): unknown {
    const flat = this.dtype === "bool" ? this.toArray().map(Boolean) : this.toArray();
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.ndim) return flat[offset];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }
  /** The value of a one-element tensor. */
  item(): number {
    return Number(N.item(this.#h));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Conversion
  // ---------------------------------------------------------------------------------------------------------------
  /**
   * Converts dtype and/or device: `t.to("cuda")`, `t.to("float16")`, `t.to({dtype, device})`. `nonBlocking` copies a
   * pinned host tensor to CUDA asynchronously (PyTorch's non_blocking=True).
   */
  to(target: DType | string | { dtype?: DType; device?: string; copy?: boolean; nonBlocking?: boolean }): Tensor {
    const o: { dtype?: DType; device?: string; copy?: boolean; nonBlocking?: boolean } =
      typeof target === "string" ? (target in DTYPE_CODE ? { dtype: target as DType } : { device: target }) : target;
    return new Tensor(
      N.to(
        this.#h,
        o.dtype === undefined ? undefined : DTYPE_CODE[o.dtype],
        o.device,
        o.copy ?? false,
        o.nonBlocking ?? false,
      ),
    );
  }
  /** A copy in page-locked host memory, for asynchronous copies to CUDA (needs a CUDA build of libtorch). */
  pinMemory(): Tensor {
    return new Tensor(N.pinMemory(this.#h));
  }
  get isPinned(): boolean {
    return N.isPinned(this.#h);
  }
  cpu(): Tensor {
    return this.to({ device: "cpu" });
  }
  cuda(index = 0): Tensor {
    return this.to({ device: `cuda:${index}` });
  }
  float(): Tensor {
    return this.to("float32");
  }
  double(): Tensor {
    return this.to("float64");
  }
  long(): Tensor {
    return this.to("int64");
  }
  int(): Tensor {
    return this.to("int32");
  }
  bool(): Tensor {
    return this.to("bool");
  }
  half(): Tensor {
    return this.to("float16");
  }
  clone(): Tensor {
    return new Tensor(N.clone(this.#h));
  }
  detach(): Tensor {
    return new Tensor(N.detach(this.#h));
  }
  /** A second handle to the same tensor (same storage and autograd identity), owned separately. */
  alias(): Tensor {
    return new Tensor(N.alias(this.#h));
  }
  contiguous(): Tensor {
    return new Tensor(N.contiguous(this.#h));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Autograd
  // ---------------------------------------------------------------------------------------------------------------
  get requiresGrad(): boolean {
    return N.requiresGrad(this.#h);
  }
  set requiresGrad(on: boolean) {
    N.setRequiresGrad(this.#h, on);
  }
  requiresGrad_(on = true): this {
    N.setRequiresGrad(this.#h, on);
    return this;
  }
  /** The accumulated gradient (a new handle each access), or undefined. */
  get grad(): Tensor | undefined {
    const g = N.grad(this.#h);
    return g === undefined ? undefined : new Tensor(g);
  }
  set grad(g: Tensor | undefined) {
    N.setGrad(this.#h, g?.handle);
  }
  get isLeaf(): boolean {
    return N.isLeaf(this.#h);
  }
  /** Name of the autograd node that produced this tensor (e.g. "AddBackward0"), or null for leaves. */
  get gradFn(): string | null {
    return N.gradFnName(this.#h);
  }
  retainGrad(): this {
    N.retainGrad(this.#h);
    return this;
  }
  /** Back-propagates from this tensor. `gradient` is needed unless the tensor has one element. */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    const create = opts.createGraph ?? false;
    N.backward([this.#h], gradient ? [gradient.handle] : undefined, opts.retainGraph ?? create, create);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Views and indexing
  // ---------------------------------------------------------------------------------------------------------------
  reshape(...shape: number[]): Tensor {
    return new Tensor(N.reshape(this.#h, shape));
  }
  view(...shape: number[]): Tensor {
    return new Tensor(N.view(this.#h, shape));
  }
  permute(...dims: number[]): Tensor {
    return new Tensor(N.permute(this.#h, dims));
  }
  transpose(a: number, b: number): Tensor {
    return new Tensor(N.transpose(this.#h, a, b));
  }
  /** Matrix transpose of a 2-D tensor. */
  get T(): Tensor {
    check(this.ndim === 2, () => `.T needs a 2-D tensor, got shape [${this.shape}]`);
    return this.transpose(0, 1);
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(N.squeeze(this.#h, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(N.unsqueeze(this.#h, dim));
  }
  /** Broadcast view; -1 keeps a dim. */
  expand(...shape: number[]): Tensor {
    return new Tensor(N.expand(this.#h, shape));
  }
  expandAs(other: Tensor): Tensor {
    return this.expand(...other.shape);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return new Tensor(N.flatten(this.#h, startDim, endDim));
  }
  /** Python `t[..., start:end:step, ...]` along `dim`. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return new Tensor(N.slice(this.#h, dim, start ?? null, end ?? null, step));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(N.narrow(this.#h, dim, start, length));
  }
  select(dim: number, index: number): Tensor {
    return new Tensor(N.select(this.#h, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(N.indexSelect(this.#h, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(N.gather(this.#h, dim, index.handle));
  }
  /** Out-of-place scatter; `reduce` "sum" adds (scatter_add), "prod"/"mean"/"amax"/"amin" reduce. */
  scatter(dim: number, index: Tensor, src: TensorOrScalar, reduce?: "sum" | "prod" | "mean" | "amax" | "amin"): Tensor {
    return new Tensor(N.scatter(this.#h, dim, index.handle, arg(src), reduce));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return this.scatter(dim, index, src, "sum");
  }
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(N.maskedSelect(this.#h, mask.handle));
  }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return new Tensor(N.maskedFill(this.#h, mask.handle, arg(value)));
  }
  maskedFill_(mask: Tensor, value: TensorOrScalar): this {
    N.maskedFill_(this.#h, mask.handle, arg(value));
    return this;
  }
  /** Indices of non-zero elements, [nnz, ndim] int64. */
  nonzero(): Tensor {
    return new Tensor(N.nonzero(this.#h));
  }
  /**
   * PyTorch-style indexing: `t.index(0, null, {start: 1, end: -1}, idx)` is `t[0, :, 1:-1, idx]`.
   * Basic indices give a view; tensor indices give a copy (advanced indexing).
   */
  index(...specs: IndexSpec[]): Tensor {
    const { view, advanced } = this.#basicIndex(specs);
    if (advanced === undefined) return new Tensor(view);
    try {
      return new Tensor(N.index(view, advanced));
    } finally {
      if (view !== this.#h) N.dispose(view);
    }
  }
  /** `t[specs] = value` in place (copy into a view, or index_put_ for tensor indices). */
  indexPut_(specs: IndexSpec[], value: TensorOrScalar, accumulate = false): this {
    const { view, advanced } = this.#basicIndex(specs);
    try {
      if (advanced !== undefined) N.indexPut_(view, advanced, arg(value), accumulate);
      else if (value instanceof Tensor) {
        if (accumulate) N.add_(view, value.handle);
        else N.copy_(view, value.handle);
      } else if (accumulate) N.add_(view, value);
      else N.fill_(view, value);
    } finally {
      if (view !== this.#h) N.dispose(view);
    }
    return this;
  }
  #basicIndex(specs: IndexSpec[]): { view: Handle; advanced: (Handle | null)[] | undefined } {
    const consumes = (s: IndexSpec): number =>
      s instanceof Tensor && s.dtype === "bool" ? s.ndim : s === "..." ? 0 : 1;
    const used = specs.reduce<number>((a, s) => a + consumes(s), 0);
    const ellipses = specs.filter((s) => s === "...").length;
    check(ellipses <= 1, () => "index(): at most one '...' allowed");
    check(used <= this.ndim, () => `index(): ${used} indices for a tensor of shape [${this.shape}]`);
    const expanded: IndexSpec[] = [];
    for (const s of specs) {
      if (s === "...") for (let k = 0; k < this.ndim - used; k++) expanded.push(null);
      else expanded.push(s);
    }
    let view = this.#h;
    let dim = 0;
    const advanced: (Handle | null)[] = [];
    let hasAdvanced = false;
    const step = (next: Handle) => {
      if (view !== this.#h) N.dispose(view);
      view = next;
    };
    try {
      for (const s of expanded) {
        if (typeof s === "number") {
          step(N.select(view, dim, s));
        } else if (s === null) {
          advanced.push(null);
          dim++;
        } else if (s instanceof Tensor) {
          // A bool index spanning k dims is one entry in ATen's index list.
          advanced.push(s.handle);
          hasAdvanced = true;
          dim += s.dtype === "bool" ? s.ndim : 1;
        } else if (s !== "...") {
          step(N.slice(view, dim, s.start ?? null, s.end ?? null, s.step ?? 1));
          advanced.push(null);
          dim++;
        }
      }
    } catch (err) {
      if (view !== this.#h) N.dispose(view);
      throw err;
    }
    if (!hasAdvanced && view === this.#h) view = N.alias(this.#h);
    return { view, advanced: hasAdvanced ? advanced : undefined };
  }
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    return N.split(this.#h, sizeOrSizes, dim).map((h) => new Tensor(h));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return N.chunk(this.#h, chunks, dim).map((h) => new Tensor(h));
  }
  unbind(dim = 0): Tensor[] {
    return N.unbind(this.#h, dim).map((h) => new Tensor(h));
  }
  flip(...dims: number[]): Tensor {
    return new Tensor(N.flip(this.#h, dims));
  }
  roll(shifts: Dims, dims: Dims): Tensor {
    return new Tensor(N.roll(this.#h, dimList(shifts), dimList(dims)));
  }
  repeat(...times: number[]): Tensor {
    return new Tensor(N.repeat(this.#h, times));
  }
  repeatInterleave(repeats: number, dim?: number): Tensor {
    return new Tensor(N.repeatInterleave(this.#h, repeats, dim));
  }
  tril(k = 0): Tensor {
    return new Tensor(N.tril(this.#h, k));
  }
  triu(k = 0): Tensor {
    return new Tensor(N.triu(this.#h, k));
  }
  /** Sliding windows of `size` with `step` along `dim` (a new last dim of length size). */
  unfold(dim: number, size: number, step: number): Tensor {
    return new Tensor(N.unfold(this.#h, dim, size, step));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Elementwise arithmetic (broadcasting; scalars allowed on the right)
  // ---------------------------------------------------------------------------------------------------------------
  /** this + alpha * other */
  add(other: TensorOrScalar, alpha?: number): Tensor {
    return new Tensor(N.add(this.#h, arg(other), alpha));
  }
  /** this - alpha * other */
  sub(other: TensorOrScalar, alpha?: number): Tensor {
    return new Tensor(N.sub(this.#h, arg(other), alpha));
  }
  mul(other: TensorOrScalar): Tensor {
    return new Tensor(N.mul(this.#h, arg(other)));
  }
  /** True division, or rounding "trunc"/"floor" division. */
  div(other: TensorOrScalar, roundingMode?: "trunc" | "floor"): Tensor {
    return new Tensor(N.div(this.#h, arg(other), roundingMode));
  }
  remainder(other: TensorOrScalar): Tensor {
    return new Tensor(N.remainder(this.#h, arg(other)));
  }
  fmod(other: TensorOrScalar): Tensor {
    return new Tensor(N.fmod(this.#h, arg(other)));
  }
  pow(exponent: TensorOrScalar): Tensor {
    return new Tensor(N.pow(this.#h, arg(exponent)));
  }
  /** s - this */
  rsub(s: number): Tensor {
    return new Tensor(N.rsub(this.#h, s));
  }
  /** s / this */
  rdiv(s: number): Tensor {
    return new Tensor(N.rdiv(this.#h, s));
  }
  maximum(other: Tensor): Tensor {
    return new Tensor(N.maximum(this.#h, other.handle));
  }
  minimum(other: Tensor): Tensor {
    return new Tensor(N.minimum(this.#h, other.handle));
  }
  atan2(other: Tensor): Tensor {
    return new Tensor(N.atan2(this.#h, other.handle));
  }
  neg(): Tensor {
    return new Tensor(N.neg(this.#h));
  }
  abs(): Tensor {
    return new Tensor(N.abs(this.#h));
  }
  exp(): Tensor {
    return new Tensor(N.exp(this.#h));
  }
  log(): Tensor {
    return new Tensor(N.log(this.#h));
  }
  log2(): Tensor {
    return new Tensor(N.log2(this.#h));
  }
  log10(): Tensor {
    return new Tensor(N.log10(this.#h));
  }
  log1p(): Tensor {
    return new Tensor(N.log1p(this.#h));
  }
  expm1(): Tensor {
    return new Tensor(N.expm1(this.#h));
  }
  sqrt(): Tensor {
    return new Tensor(N.sqrt(this.#h));
  }
  rsqrt(): Tensor {
    return new Tensor(N.rsqrt(this.#h));
  }
  square(): Tensor {
    return new Tensor(N.square(this.#h));
  }
  sin(): Tensor {
    return new Tensor(N.sin(this.#h));
  }
  cos(): Tensor {
    return new Tensor(N.cos(this.#h));
  }
  tanh(): Tensor {
    return new Tensor(N.tanh(this.#h));
  }
  sigmoid(): Tensor {
    return new Tensor(N.sigmoid(this.#h));
  }
  relu(): Tensor {
    return new Tensor(N.relu(this.#h));
  }
  erf(): Tensor {
    return new Tensor(N.erf(this.#h));
  }
  floor(): Tensor {
    return new Tensor(N.floor(this.#h));
  }
  ceil(): Tensor {
    return new Tensor(N.ceil(this.#h));
  }
  trunc(): Tensor {
    return new Tensor(N.trunc(this.#h));
  }
  /** Rounds half to even, as torch.round (0.5 -> 0, 1.5 -> 2, 2.5 -> 2). */
  round(decimals = 0): Tensor {
    return new Tensor(N.round(this.#h, decimals));
  }
  sign(): Tensor {
    return new Tensor(N.sign(this.#h));
  }
  reciprocal(): Tensor {
    return new Tensor(N.reciprocal(this.#h));
  }
  /** Clamps to [min, max]; either bound may be omitted (undefined) and may be a tensor. */
  clamp(min?: TensorOrScalar, max?: TensorOrScalar): Tensor {
    check(min !== undefined || max !== undefined, () => "clamp(): give at least one of min and max");
    return new Tensor(N.clamp(this.#h, min === undefined ? null : arg(min), max === undefined ? null : arg(max)));
  }
  softmax(dim: number): Tensor {
    return new Tensor(N.softmax(this.#h, dim));
  }
  logSoftmax(dim: number): Tensor {
    return new Tensor(N.logSoftmax(this.#h, dim));
  }

  // ---- comparison and logic (bool results) ----
  eq(other: TensorOrScalar): Tensor {
    return new Tensor(N.eq(this.#h, arg(other)));
  }
  ne(other: TensorOrScalar): Tensor {
    return new Tensor(N.ne(this.#h, arg(other)));
  }
  lt(other: TensorOrScalar): Tensor {
    return new Tensor(N.lt(this.#h, arg(other)));
  }
  le(other: TensorOrScalar): Tensor {
    return new Tensor(N.le(this.#h, arg(other)));
  }
  gt(other: TensorOrScalar): Tensor {
    return new Tensor(N.gt(this.#h, arg(other)));
  }
  ge(other: TensorOrScalar): Tensor {
    return new Tensor(N.ge(this.#h, arg(other)));
  }
  logicalAnd(other: Tensor): Tensor {
    return new Tensor(N.logicalAnd(this.#h, other.handle));
  }
  logicalOr(other: Tensor): Tensor {
    return new Tensor(N.logicalOr(this.#h, other.handle));
  }
  logicalXor(other: Tensor): Tensor {
    return new Tensor(N.logicalXor(this.#h, other.handle));
  }
  logicalNot(): Tensor {
    return new Tensor(N.logicalNot(this.#h));
  }
  isnan(): Tensor {
    return new Tensor(N.isnan(this.#h));
  }
  isinf(): Tensor {
    return new Tensor(N.isinf(this.#h));
  }
  isfinite(): Tensor {
    return new Tensor(N.isfinite(this.#h));
  }
  /** Same shape and identical elements. */
  equal(other: Tensor): boolean {
    return N.equal(this.#h, other.handle);
  }
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return N.allclose(this.#h, other.handle, rtol, atol);
  }

  // ---- in place ----
  add_(other: TensorOrScalar, alpha?: number): this {
    N.add_(this.#h, arg(other), alpha);
    return this;
  }
  sub_(other: TensorOrScalar, alpha?: number): this {
    N.sub_(this.#h, arg(other), alpha);
    return this;
  }
  mul_(other: TensorOrScalar): this {
    N.mul_(this.#h, arg(other));
    return this;
  }
  div_(other: TensorOrScalar): this {
    N.div_(this.#h, arg(other));
    return this;
  }
  pow_(exponent: TensorOrScalar): this {
    N.pow_(this.#h, arg(exponent));
    return this;
  }
  /** this += value * a * b */
  addcmul_(a: Tensor, b: Tensor, value = 1): this {
    N.addcmul_(this.#h, a.handle, b.handle, value);
    return this;
  }
  /** this += value * a / b */
  addcdiv_(a: Tensor, b: Tensor, value = 1): this {
    N.addcdiv_(this.#h, a.handle, b.handle, value);
    return this;
  }
  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this {
    N.lerp_(this.#h, end.handle, weight);
    return this;
  }
  clamp_(min?: number, max?: number): this {
    N.clamp_(this.#h, min ?? null, max ?? null);
    return this;
  }
  neg_(): this {
    N.neg_(this.#h);
    return this;
  }
  sqrt_(): this {
    N.sqrt_(this.#h);
    return this;
  }
  exp_(): this {
    N.exp_(this.#h);
    return this;
  }
  round_(): this {
    N.round_(this.#h);
    return this;
  }
  relu_(): this {
    N.relu_(this.#h);
    return this;
  }
  copy_(src: Tensor): this {
    N.copy_(this.#h, src.handle);
    return this;
  }
  fill_(value: Scalar): this {
    N.fill_(this.#h, value);
    return this;
  }
  zero_(): this {
    N.zero_(this.#h);
    return this;
  }
  uniform_(from = 0, to = 1, generator?: GeneratorLike): this {
    N.uniform_(this.#h, from, to, generator?.handle);
    return this;
  }
  normal_(mean = 0, std = 1, generator?: GeneratorLike): this {
    N.normal_(this.#h, mean, std, generator?.handle);
    return this;
  }
  bernoulli_(p: number, generator?: GeneratorLike): this {
    N.bernoulli_(this.#h, p, generator?.handle);
    return this;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Reductions
  // ---------------------------------------------------------------------------------------------------------------
  sum(dim?: Dims, keepdim = false, dtype?: DType): Tensor {
    return new Tensor(
      N.sum(this.#h, dim === undefined ? undefined : dimList(dim), keepdim, dtype && DTYPE_CODE[dtype]),
    );
  }
  mean(dim?: Dims, keepdim = false): Tensor {
    return new Tensor(N.mean(this.#h, dim === undefined ? undefined : dimList(dim), keepdim));
  }
  prod(dim?: number, keepdim = false): Tensor {
    return new Tensor(dim === undefined ? N.prod(this.#h) : N.prod(this.#h, dim, keepdim));
  }
  /** Max of all elements, or `{values, indices}` along `dim`. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return new Tensor(N.max(this.#h));
    const [v, i] = N.max(this.#h, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return new Tensor(N.min(this.#h));
    const [v, i] = N.min(this.#h, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  amax(dim: Dims, keepdim = false): Tensor {
    return new Tensor(N.amax(this.#h, dimList(dim), keepdim));
  }
  amin(dim: Dims, keepdim = false): Tensor {
    return new Tensor(N.amin(this.#h, dimList(dim), keepdim));
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(N.argmax(this.#h, dim, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return new Tensor(N.argmin(this.#h, dim, keepdim));
  }
  /** Variance; unbiased (Bessel-corrected) by default, as torch.var. */
  var(dim?: Dims, opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(
      N.var(this.#h, dim === undefined ? undefined : dimList(dim), opts.unbiased ?? true, opts.keepdim ?? false),
    );
  }
  std(dim?: Dims, opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(
      N.std(this.#h, dim === undefined ? undefined : dimList(dim), opts.unbiased ?? true, opts.keepdim ?? false),
    );
  }
  logsumexp(dim: Dims, keepdim = false): Tensor {
    return new Tensor(N.logsumexp(this.#h, dimList(dim), keepdim));
  }
  /** Vector p-norm over `dim` (all elements by default). */
  norm(p = 2, dim?: Dims, keepdim = false): Tensor {
    return new Tensor(N.norm(this.#h, p, dim === undefined ? undefined : dimList(dim), keepdim));
  }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [v, i] = N.topk(this.#h, k, dim, largest, sorted);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  sort(dim = -1, descending = false, stable = false): { values: Tensor; indices: Tensor } {
    const [v, i] = N.sort(this.#h, dim, descending, stable);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argsort(dim = -1, descending = false, stable = false): Tensor {
    return new Tensor(N.argsort(this.#h, dim, descending, stable));
  }
  cumsum(dim: number, dtype?: DType): Tensor {
    return new Tensor(N.cumsum(this.#h, dim, dtype && DTYPE_CODE[dtype]));
  }
  cumprod(dim: number, dtype?: DType): Tensor {
    return new Tensor(N.cumprod(this.#h, dim, dtype && DTYPE_CODE[dtype]));
  }
  all(dim?: number, keepdim = false): Tensor {
    return new Tensor(dim === undefined ? N.all(this.#h) : N.all(this.#h, dim, keepdim));
  }
  any(dim?: number, keepdim = false): Tensor {
    return new Tensor(dim === undefined ? N.any(this.#h) : N.any(this.#h, dim, keepdim));
  }
  /** Sorted unique values with inverse indices and counts (of the flattened tensor). */
  unique(): { values: Tensor; inverse: Tensor; counts: Tensor } {
    const [v, i, c] = N.unique(this.#h, true, true, true);
    return { values: new Tensor(v), inverse: new Tensor(i), counts: new Tensor(c) };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Linear algebra
  // ---------------------------------------------------------------------------------------------------------------
  matmul(other: Tensor): Tensor {
    return new Tensor(N.matmul(this.#h, other.handle));
  }
  mm(other: Tensor): Tensor {
    return new Tensor(N.mm(this.#h, other.handle));
  }
  bmm(other: Tensor): Tensor {
    return new Tensor(N.bmm(this.#h, other.handle));
  }
  outer(other: Tensor): Tensor {
    return new Tensor(N.outer(this.#h, other.handle));
  }
}

/** Throws if `t` is not a Tensor (for public functions taking tensors from untyped callers). */
export function assertTensor(t: unknown, name: string): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TasksrError("E_TENSOR_ARG", `${name} must be a Tensor, got ${typeof t}`);
}
