// Parity with PyTorch for elementwise math (with broadcasting and int/float promotion), comparisons, rounding,
// activations, reductions and linear algebra: outputs and gradients within 1e-5 relative / 1e-6 absolute (float32),
// integer and bool results exact. Scalars arrive as JS numbers: integral values act as Python ints, others as floats.
import { type DType, einsum, F, type Tensor } from "../../src/engine/index.js";
import { type Inputs, listed, parityTests, type Runner } from "../support/parity.js";

type Other = { other?: number };
const rhs = (b: Tensor | undefined, a: Other): Tensor | number => b ?? a.other!;
const pair = (r: { values: Tensor; indices: Tensor }): Tensor[] => [r.values, r.indices];
const unary =
  (f: (x: Tensor) => Tensor): Runner =>
  (inputs: Inputs) =>
    f(inputs.x!);

parityTests("math", {
  add: ({ a, b }, o: Other & { alpha?: number }) => a!.add(rhs(b, o), o.alpha),
  sub: ({ a, b }, o: Other & { alpha?: number }) => a!.sub(rhs(b, o), o.alpha),
  mul: ({ a, b }, o: Other) => a!.mul(rhs(b, o)),
  div: ({ a, b }, o: Other & { roundingMode?: "trunc" | "floor" }) => a!.div(rhs(b, o), o.roundingMode),
  remainder: ({ a, b }, o: Other) => a!.remainder(rhs(b, o)),
  fmod: ({ a, b }, o: Other) => a!.fmod(rhs(b, o)),
  pow: ({ a, b }, o: Other) => a!.pow(rhs(b, o)),
  rsub: ({ a }, o: Other) => a!.rsub(o.other!),
  rdiv: ({ a }, o: Other) => a!.rdiv(o.other!),
  maximum: ({ a, b }) => a!.maximum(b!),
  minimum: ({ a, b }) => a!.minimum(b!),
  atan2: ({ a, b }) => a!.atan2(b!),
  eq: ({ a, b }, o: Other) => a!.eq(rhs(b, o)),
  ne: ({ a, b }, o: Other) => a!.ne(rhs(b, o)),
  lt: ({ a, b }, o: Other) => a!.lt(rhs(b, o)),
  le: ({ a, b }, o: Other) => a!.le(rhs(b, o)),
  gt: ({ a, b }, o: Other) => a!.gt(rhs(b, o)),
  ge: ({ a, b }, o: Other) => a!.ge(rhs(b, o)),
  logicalAnd: ({ a, b }) => a!.logicalAnd(b!),
  logicalOr: ({ a, b }) => a!.logicalOr(b!),
  logicalXor: ({ a, b }) => a!.logicalXor(b!),
  logicalNot: unary((x) => x.logicalNot()),
  to: ({ x }, o: { dtype: DType }) => x!.to(o.dtype),

  neg: unary((x) => x.neg()),
  abs: unary((x) => x.abs()),
  exp: unary((x) => x.exp()),
  log: unary((x) => x.log()),
  log2: unary((x) => x.log2()),
  log10: unary((x) => x.log10()),
  log1p: unary((x) => x.log1p()),
  expm1: unary((x) => x.expm1()),
  sqrt: unary((x) => x.sqrt()),
  rsqrt: unary((x) => x.rsqrt()),
  square: unary((x) => x.square()),
  sin: unary((x) => x.sin()),
  cos: unary((x) => x.cos()),
  tanh: unary((x) => x.tanh()),
  sigmoid: unary((x) => x.sigmoid()),
  erf: unary((x) => x.erf()),
  floor: unary((x) => x.floor()),
  ceil: unary((x) => x.ceil()),
  trunc: unary((x) => x.trunc()),
  sign: unary((x) => x.sign()),
  reciprocal: unary((x) => x.reciprocal()),
  relu: unary((x) => x.relu()),
  isnan: unary((x) => x.isnan()),
  isinf: unary((x) => x.isinf()),
  isfinite: unary((x) => x.isfinite()),
  round: ({ x }, o: { decimals: number }) => x!.round(o.decimals),
  clamp: ({ x, lo, hi }, o: { min?: number; max?: number }) => x!.clamp(lo ?? o.min, hi ?? o.max),

  leakyRelu: ({ x }, o: { slope: number }) => F.leakyRelu(x!, o.slope),
  prelu: ({ x, w }) => F.prelu(x!, w!),
  gelu: ({ x }, o: { approximate: "none" | "tanh" }) => F.gelu(x!, o.approximate),
  silu: unary(F.silu),
  hardswish: unary(F.hardswish),
  hardsigmoid: unary(F.hardsigmoid),
  hardtanh: ({ x }, o: { min: number; max: number }) => F.hardtanh(x!, o.min, o.max),
  relu6: unary(F.relu6),
  elu: ({ x }, o: { alpha: number }) => F.elu(x!, o.alpha),
  softplus: ({ x }, o: { beta: number; threshold: number }) => F.softplus(x!, o.beta, o.threshold),

  sum: ({ x }, o: { dim?: number[]; keepdim?: boolean; dtype?: DType }) => x!.sum(o.dim, o.keepdim, o.dtype),
  mean: ({ x }, o: { dim?: number[]; keepdim?: boolean }) => x!.mean(o.dim, o.keepdim),
  prod: ({ x }, o: { dim?: number; keepdim?: boolean }) => x!.prod(o.dim, o.keepdim),
  max: ({ x }, o: { dim?: number; keepdim: boolean }) =>
    o.dim === undefined ? x!.max() : pair(x!.max(o.dim, o.keepdim)),
  min: ({ x }, o: { dim?: number; keepdim: boolean }) =>
    o.dim === undefined ? x!.min() : pair(x!.min(o.dim, o.keepdim)),
  amax: ({ x }, o: { dim: number[]; keepdim: boolean }) => x!.amax(o.dim, o.keepdim),
  amin: ({ x }, o: { dim: number[]; keepdim: boolean }) => x!.amin(o.dim, o.keepdim),
  argmax: ({ x }, o: { dim?: number; keepdim?: boolean }) => x!.argmax(o.dim, o.keepdim),
  argmin: ({ x }, o: { dim?: number; keepdim?: boolean }) => x!.argmin(o.dim, o.keepdim),
  var: ({ x }, o: { dim?: number[]; unbiased: boolean; keepdim: boolean }) => x!.var(o.dim, o),
  std: ({ x }, o: { dim?: number[]; unbiased: boolean; keepdim: boolean }) => x!.std(o.dim, o),
  logsumexp: ({ x }, o: { dim: number[]; keepdim: boolean }) => x!.logsumexp(o.dim, o.keepdim),
  norm: ({ x }, o: { p: number; dim?: number[]; keepdim: boolean }) => x!.norm(o.p, o.dim, o.keepdim),
  topk: ({ x }, o: { k: number; dim: number; largest: boolean }) => pair(x!.topk(o.k, o.dim, o.largest)),
  sort: ({ x }, o: { dim: number; descending: boolean; stable: boolean }) =>
    pair(x!.sort(o.dim, o.descending, o.stable)),
  argsort: ({ x }, o: { dim: number; descending: boolean; stable: boolean }) =>
    x!.argsort(o.dim, o.descending, o.stable),
  cumsum: ({ x }, o: { dim: number }) => x!.cumsum(o.dim),
  cumprod: ({ x }, o: { dim: number }) => x!.cumprod(o.dim),
  all: ({ x }, o: { dim?: number; keepdim?: boolean }) => x!.all(o.dim, o.keepdim),
  any: ({ x }, o: { dim?: number; keepdim?: boolean }) => x!.any(o.dim, o.keepdim),
  unique: ({ x }) => {
    const u = x!.unique();
    return [u.values, u.inverse, u.counts];
  },
  matmul: ({ a, b }) => a!.matmul(b!),
  mm: ({ a, b }) => a!.mm(b!),
  bmm: ({ a, b }) => a!.bmm(b!),
  outer: ({ a, b }) => a!.outer(b!),
  einsum: (inputs, o: { equation: string }) => einsum(o.equation, ...listed(inputs)),
});
