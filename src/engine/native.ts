/**
 * Loads the libtorch addon and types its surface. Everything here is internal: user code goes through Tensor,
 * the functional namespace and the optimizers. Argument order mirrors ATen; see native/src/*.cc.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TasksrError } from "../errors.js";

declare const handleBrand: unique symbol;
/** Opaque reference to a native tensor. */
export type Handle = { readonly [handleBrand]: true };
declare const genBrand: unique symbol;
export type GenHandle = { readonly [genBrand]: true };
declare const groupBrand: unique symbol;
/** A c10d process group (store + Gloo group). */
export type GroupHandle = { readonly [groupBrand]: true };
declare const pendingBrand: unique symbol;
/** A collective started and not yet waited for. */
export type PendingHandle = { readonly [pendingBrand]: true };
declare const reducerBrand: unique symbol;
/** A c10d::Reducer over one network's trained parameters. */
export type ReducerHandle = { readonly [reducerBrand]: true };

type H = Handle;
type OH = Handle | null | undefined;
type Num = number | boolean;
type HN = Handle | Num;
type Red = "mean" | "sum" | "none";

export interface NativeApi {
  dispose(t: H): void;
  isDisposed(t: H): boolean;
  shape(t: H): number[];
  dtype(t: H): number;
  device(t: H): string;
  isContiguous(t: H): boolean;
  item(t: H): number | boolean;
  liveTensors(): number;
  nativeBytes(): {
    cpu: number;
    cpuPeak: number;
    poolMapped: number;
    poolFree: number;
  };
  resetPeakBytes(): void;
  emptyCache(): number;
  setNumThreads(n: number): void;
  blasThreads(n?: number): number;
  getNumThreads(): number;
  configShow(): string;
  cudaDeviceCount(): number;
  cudaDeviceName(i: number): string;
  cudaSynchronize(): void;
  cudaMemory(i: number): { allocated: number; peak: number; reserved: number };
  buildInfo(): { torchMajor: number; torchMinor: number; cudaCompiled: boolean; cxx11Abi: boolean };

  fromBuffer(data: ArrayBufferView | ArrayBuffer, shape: number[], dtype: number, device?: string): H;
  viewShared(data: Float32Array, shape: number[], flags: Int32Array, index: number): H;
  toBuffer(t: H): ArrayBuffer;
  copyIntoBuffer(t: H, dst: ArrayBufferView): void;
  empty(shape: number[], dtype?: number, device?: string): H;
  zeros(shape: number[], dtype?: number, device?: string): H;
  ones(shape: number[], dtype?: number, device?: string): H;
  full(shape: number[], value: Num, dtype?: number, device?: string): H;
  arange(start: number, end: number, step: number, dtype?: number, device?: string): H;
  linspace(start: number, end: number, steps: number, dtype?: number, device?: string): H;
  eye(n: number, m: number, dtype?: number, device?: string): H;
  zerosLike(t: H, dtype?: number): H;
  onesLike(t: H, dtype?: number): H;
  fullLike(t: H, value: Num, dtype?: number): H;
  emptyLike(t: H, dtype?: number): H;
  rand(shape: number[], dtype?: number, device?: string, gen?: GenHandle): H;
  randn(shape: number[], dtype?: number, device?: string, gen?: GenHandle): H;
  randint(low: number, high: number, shape: number[], dtype?: number, device?: string, gen?: GenHandle): H;
  randperm(n: number, device?: string, gen?: GenHandle): H;
  bernoulli(p: H, gen?: GenHandle): H;
  uniform_(t: H, from: number, to: number, gen?: GenHandle): void;
  normal_(t: H, mean: number, std: number, gen?: GenHandle): void;
  bernoulli_(t: H, p: number, gen?: GenHandle): void;
  multinomial(p: H, n: number, replacement: boolean, gen?: GenHandle): H;
  generatorNew(seed: number): GenHandle;
  generatorSeed(g: GenHandle, seed: number): void;
  generatorGetState(g: GenHandle): H;
  generatorSetState(g: GenHandle, state: H): void;
  manualSeed(seed: number): void;
  defaultGeneratorStates(): H[];
  setDefaultGeneratorStates(states: H[]): void;

  reshape(t: H, shape: number[]): H;
  view(t: H, shape: number[]): H;
  permute(t: H, dims: number[]): H;
  transpose(t: H, a: number, b: number): H;
  squeeze(t: H, dim?: number): H;
  unsqueeze(t: H, dim: number): H;
  expand(t: H, shape: number[]): H;
  flatten(t: H, start: number, end: number): H;
  asStrided(t: H, size: number[], stride: number[], offset: number): H;
  contiguous(t: H): H;
  clone(t: H): H;
  slice(t: H, dim: number, start: number | null, end: number | null, step: number): H;
  narrow(t: H, dim: number, start: number, length: number): H;
  select(t: H, dim: number, index: number): H;
  indexSelect(t: H, dim: number, index: H): H;
  gather(t: H, dim: number, index: H): H;
  scatter(t: H, dim: number, index: H, src: HN, reduce?: string): H;
  maskedSelect(t: H, mask: H): H;
  maskedFill(t: H, mask: H, value: HN): H;
  maskedFill_(t: H, mask: H, value: HN): void;
  where(cond: H, a: HN, b: HN): H;
  nonzero(t: H): H;
  index(t: H, indices: OH[]): H;
  indexPut_(t: H, indices: OH[], values: HN, accumulate: boolean): void;
  cat(ts: H[], dim: number): H;
  stack(ts: H[], dim: number): H;
  split(t: H, sizeOrSizes: number | number[], dim: number): H[];
  chunk(t: H, chunks: number, dim: number): H[];
  unbind(t: H, dim: number): H[];
  pad(t: H, pads: number[], mode: string, value?: number): H;
  flip(t: H, dims: number[]): H;
  roll(t: H, shifts: number[], dims: number[]): H;
  repeat(t: H, repeats: number[]): H;
  repeatInterleave(t: H, repeats: number, dim?: number): H;
  tril(t: H, k: number): H;
  triu(t: H, k: number): H;
  unfold(t: H, dim: number, size: number, step: number): H;
  to(t: H, dtype: number | undefined, device: string | undefined, copy: boolean, nonBlocking?: boolean): H;
  pinMemory(t: H): H;
  isPinned(t: H): boolean;
  copy_(t: H, src: H): void;
  fill_(t: H, v: Num): void;
  zero_(t: H): void;
  detach(t: H): H;
  alias(t: H): H;

  add(a: H, b: HN, alpha?: number): H;
  sub(a: H, b: HN, alpha?: number): H;
  mul(a: H, b: HN): H;
  div(a: H, b: HN, mode?: "trunc" | "floor"): H;
  remainder(a: H, b: HN): H;
  fmod(a: H, b: HN): H;
  pow(a: H, b: HN): H;
  rsub(a: H, s: number): H;
  rdiv(a: H, s: number): H;
  rpow(a: H, s: number): H;
  maximum(a: H, b: H): H;
  minimum(a: H, b: H): H;
  atan2(a: H, b: H): H;
  eq(a: H, b: HN): H;
  ne(a: H, b: HN): H;
  lt(a: H, b: HN): H;
  le(a: H, b: HN): H;
  gt(a: H, b: HN): H;
  ge(a: H, b: HN): H;
  logicalAnd(a: H, b: H): H;
  logicalOr(a: H, b: H): H;
  logicalXor(a: H, b: H): H;
  equal(a: H, b: H): boolean;
  allclose(a: H, b: H, rtol: number, atol: number): boolean;
  add_(a: H, b: HN, alpha?: number): void;
  sub_(a: H, b: HN, alpha?: number): void;
  mul_(a: H, b: HN): void;
  div_(a: H, b: HN): void;
  pow_(a: H, b: HN): void;
  addcmul_(t: H, a: H, b: H, value: number): void;
  addcdiv_(t: H, a: H, b: H, value: number): void;
  lerp_(t: H, end: H, weight: number): void;
  clamp_(t: H, min?: number | null, max?: number | null): void;
  neg(t: H): H;
  abs(t: H): H;
  exp(t: H): H;
  log(t: H): H;
  log2(t: H): H;
  log10(t: H): H;
  log1p(t: H): H;
  expm1(t: H): H;
  sqrt(t: H): H;
  rsqrt(t: H): H;
  square(t: H): H;
  sin(t: H): H;
  cos(t: H): H;
  tanh(t: H): H;
  sigmoid(t: H): H;
  erf(t: H): H;
  floor(t: H): H;
  ceil(t: H): H;
  trunc(t: H): H;
  sign(t: H): H;
  reciprocal(t: H): H;
  isnan(t: H): H;
  isinf(t: H): H;
  isfinite(t: H): H;
  logicalNot(t: H): H;
  neg_(t: H): void;
  sqrt_(t: H): void;
  exp_(t: H): void;
  round_(t: H): void;
  round(t: H, decimals?: number): H;
  clamp(t: H, min?: HN | null, max?: HN | null): H;
  sum(t: H, dims: number[] | undefined, keepdim: boolean, dtype?: number): H;
  mean(t: H, dims: number[] | undefined, keepdim: boolean): H;
  prod(t: H, dim?: number, keepdim?: boolean): H;
  max(t: H): H;
  max(t: H, dim: number, keepdim: boolean): [H, H];
  min(t: H): H;
  min(t: H, dim: number, keepdim: boolean): [H, H];
  amax(t: H, dims: number[], keepdim: boolean): H;
  amin(t: H, dims: number[], keepdim: boolean): H;
  argmax(t: H, dim?: number, keepdim?: boolean): H;
  argmin(t: H, dim?: number, keepdim?: boolean): H;
  var(t: H, dims: number[] | undefined, unbiased: boolean, keepdim: boolean): H;
  std(t: H, dims: number[] | undefined, unbiased: boolean, keepdim: boolean): H;
  logsumexp(t: H, dims: number[], keepdim: boolean): H;
  norm(t: H, p: number, dims: number[] | undefined, keepdim: boolean): H;
  topk(t: H, k: number, dim: number, largest: boolean, sorted: boolean): [H, H];
  sort(t: H, dim: number, descending: boolean, stable: boolean): [H, H];
  argsort(t: H, dim: number, descending: boolean, stable: boolean): H;
  cumsum(t: H, dim: number, dtype?: number): H;
  cumprod(t: H, dim: number, dtype?: number): H;
  all(t: H, dim?: number, keepdim?: boolean): H;
  any(t: H, dim?: number, keepdim?: boolean): H;
  unique(t: H, sorted: boolean, inverse: boolean, counts: boolean): [H, H, H];
  bincount(t: H, weights: OH, minlength: number): H;
  matmul(a: H, b: H): H;
  mm(a: H, b: H): H;
  bmm(a: H, b: H): H;
  outer(a: H, b: H): H;
  einsum(eq: string, ts: H[]): H;

  conv2d(x: H, w: H, b: OH, stride: number[], padding: number[], dilation: number[], groups: number): H;
  convTranspose2d(
    x: H,
    w: H,
    b: OH,
    stride: number[],
    padding: number[],
    outputPadding: number[],
    groups: number,
    dilation: number[],
  ): H;
  linear(x: H, w: H, b: OH): H;
  batchNorm(x: H, w: OH, b: OH, rm: OH, rv: OH, training: boolean, momentum: number, eps: number): H;
  runningStats(runningMean: H, runningVar: H, mean: H, unbiasedVar: H, momentum: number): void;
  groupNorm(x: H, groups: number, w: OH, b: OH, eps: number): H;
  layerNorm(x: H, shape: number[], w: OH, b: OH, eps: number): H;
  dropout(x: H, p: number, train: boolean): H;
  dropout2d(x: H, p: number, train: boolean): H;
  maxPool2d(x: H, k: number[], s: number[], p: number[], d: number[], ceil: boolean): H;
  avgPool2d(x: H, k: number[], s: number[], p: number[], ceil: boolean, countIncludePad: boolean, divisor?: number): H;
  adaptiveAvgPool2d(x: H, size: number[]): H;
  adaptiveMaxPool2d(x: H, size: number[]): H;
  interpolate(
    x: H,
    mode: string,
    size: number[],
    alignCorners: boolean,
    scaleH: number | undefined,
    scaleW: number | undefined,
    antialias: boolean,
  ): H;
  pixelShuffle(x: H, r: number): H;
  pixelUnshuffle(x: H, r: number): H;
  gridSample(x: H, grid: H, mode: number, padding: number, alignCorners: boolean): H;
  relu(x: H): H;
  relu_(x: H): void;
  leakyRelu(x: H, slope: number): H;
  prelu(x: H, w: H): H;
  gelu(x: H, approximate?: "none" | "tanh"): H;
  silu(x: H): H;
  hardswish(x: H): H;
  hardsigmoid(x: H): H;
  hardtanh(x: H, min: number, max: number): H;
  elu(x: H, alpha: number): H;
  softplus(x: H, beta: number, threshold: number): H;
  softmax(x: H, dim: number, dtype?: number): H;
  logSoftmax(x: H, dim: number, dtype?: number): H;
  oneHot(t: H, classes: number): H;
  crossEntropy(x: H, y: H, w: OH, red: Red, ignoreIndex: number, labelSmoothing: number): H;
  nllLoss(x: H, y: H, w: OH, red: Red, ignoreIndex: number): H;
  bceWithLogits(x: H, y: H, w: OH, posWeight: OH, red: Red): H;
  l1Loss(a: H, b: H, red: Red): H;
  mseLoss(a: H, b: H, red: Red): H;
  smoothL1Loss(a: H, b: H, red: Red, beta: number): H;
  huberLoss(a: H, b: H, red: Red, delta: number): H;
  nms(boxes: H, scores: H, iou: number): H;

  requiresGrad(t: H): boolean;
  setRequiresGrad(t: H, on: boolean): void;
  isLeaf(t: H): boolean;
  retainGrad(t: H): void;
  gradFnName(t: H): string | null;
  grad(t: H): H | undefined;
  setGrad(t: H, g: OH): void;
  backward(ts: H[], grads: H[] | undefined, retainGraph: boolean, createGraph: boolean, inputs?: H[]): void;
  autogradGrad(
    outputs: H[],
    inputs: H[],
    gradOutputs: H[] | undefined,
    retainGraph: boolean,
    createGraph: boolean,
    allowUnused: boolean,
  ): (H | undefined)[];
  isGradEnabled(): boolean;
  setGradEnabled(on: boolean): void;
  scaleGrad(t: H, scale: number): H;
  autocastEnter(deviceType: "cpu" | "cuda", enabled: boolean, dtype: number): [boolean, number];
  autocastExit(deviceType: "cpu" | "cuda", enabled: boolean, dtype: number): void;

  sgdStep(
    params: H[],
    buffers: OH[],
    lr: number,
    momentum: number,
    dampening: number,
    weightDecay: number,
    nesterov: boolean,
    maximize: boolean,
  ): (H | undefined)[];
  adamStep(
    params: H[],
    expAvg: H[],
    expAvgSq: H[],
    maxExpAvgSq: OH[],
    steps: number[],
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    amsgrad: boolean,
    decoupled: boolean,
    maximize: boolean,
  ): void;
  clipGradNorm(params: H[], maxNorm: number, normType: number): number;

  // c10d (native/src/distributed.cc); all but distAvailable exist only in builds with Gloo.
  distAvailable(): boolean;
  distInit(
    rank: number,
    world: number,
    addr: string,
    port: number,
    timeoutMs: number,
    agentStore: boolean,
  ): GroupHandle;
  distShutdown(g: GroupHandle): void;
  distAllreduce(g: GroupHandle, ts: H[], op: "sum" | "max" | "min"): void;
  distAllreduceStart(g: GroupHandle, ts: H[], op: "sum" | "max" | "min"): PendingHandle;
  distWait(p: PendingHandle): void;
  distBroadcast(g: GroupHandle, ts: H[], root: number): void;
  distAllgather(g: GroupHandle, t: H): H[];
  distBarrier(g: GroupHandle): void;
  distAllreduceSumGrad(g: GroupHandle, t: H): H;
  ddpReducer(g: GroupHandle, params: H[], bucketCapBytes: number, findUnused: boolean): ReducerHandle;
  ddpPrepare(r: ReducerHandle, outputs: H[]): void;
}

/** Absolute path of the compiled addon inside this package. */
export const addonPath = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "build",
  "Release",
  "tasksr_native.node",
);

function load(): NativeApi {
  if (!existsSync(addonPath)) {
    throw new TasksrError(
      "E_NATIVE_MISSING",
      `the native engine is not built (${addonPath} does not exist). Run \`npm run setup\` in the tasksr folder ` +
        "(it installs libtorch-dev and builds the addon), or `tasksr doctor` to see what is missing",
    );
  }
  try {
    return createRequire(import.meta.url)(addonPath) as NativeApi;
  } catch (err) {
    throw new TasksrError(
      "E_NATIVE_MISSING",
      `the native engine at ${addonPath} failed to load: ${(err as Error).message}. If libtorch was upgraded or ` +
        "removed, rebuild with `node scripts/build-native.mjs --force`; `tasksr doctor` lists what is missing",
      { cause: err },
    );
  }
}

export const N: NativeApi = load();

// libtorch picks 1 thread on some VMs (docs/engine.md); default to the core count unless the user chose.
const envThreads = Number.parseInt(process.env.TASKSR_THREADS ?? process.env.OMP_NUM_THREADS ?? "", 10);
N.setNumThreads(Number.isFinite(envThreads) && envThreads > 0 ? envThreads : availableParallelism());
// OpenBLAS's own pool runs beside libtorch's threads, which already split convolutions over the batch; on a busy
// machine its workers wait for a time slice on every GEMM (a 1x1 convolution: 24 ms instead of 0.8 ms, 30x;
// docs/engine.md). One BLAS thread unless the user set OPENBLAS_NUM_THREADS.
if (process.env.OPENBLAS_NUM_THREADS === undefined) N.blasThreads(1);
