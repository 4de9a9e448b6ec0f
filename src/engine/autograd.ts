/** Autograd controls: grad mode, functional gradients, mixed precision, the C++ example op. */
import { DTYPE_CODE, type DType } from "./dtype.js";
import { N } from "./native.js";
import { Tensor } from "./tensor.js";

function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = N.isGradEnabled();
  N.setGradEnabled(on);
  try {
    return fn();
  } finally {
    N.setGradEnabled(prev);
  }
}

/** Runs `fn` without recording autograd history (torch.no_grad). `fn` must be synchronous. */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);
/** Runs `fn` with autograd on, e.g. inside a noGrad region (torch.enable_grad). */
export const enableGrad = <T>(fn: () => T): T => withGradMode(true, fn);
export const isGradEnabled = (): boolean => N.isGradEnabled();

/**
 * Gradients of `outputs` with respect to `inputs` (torch.autograd.grad), without touching `.grad`.
 * Unused inputs give undefined when `allowUnused`, else an error.
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: readonly Tensor[],
  opts: { gradOutputs?: readonly Tensor[]; retainGraph?: boolean; createGraph?: boolean; allowUnused?: boolean } = {},
): (Tensor | undefined)[] {
  const outs = outputs instanceof Tensor ? [outputs] : outputs;
  const create = opts.createGraph ?? false;
  return N.autogradGrad(
    outs.map((t) => t.handle),
    inputs.map((t) => t.handle),
    opts.gradOutputs?.map((t) => t.handle),
    opts.retainGraph ?? create,
    create,
    opts.allowUnused ?? false,
  ).map((h) => (h === undefined ? undefined : new Tensor(h)));
}

/** Back-propagates several roots at once (torch.autograd.backward). */
export function backward(
  tensors: readonly Tensor[],
  gradTensors?: readonly Tensor[],
  opts: { retainGraph?: boolean; createGraph?: boolean; inputs?: readonly Tensor[] } = {},
): void {
  const create = opts.createGraph ?? false;
  N.backward(
    tensors.map((t) => t.handle),
    gradTensors?.map((t) => t.handle),
    opts.retainGraph ?? create,
    create,
    opts.inputs?.map((t) => t.handle),
  );
}

/**
 * Runs `fn` under autocast (torch.autocast): eligible ops run in `dtype` (bfloat16 on CPU, float16 or bfloat16 on
 * CUDA). Parameters stay float32; pair float16 with loss scaling.
 */
export function autocast<T>(deviceType: "cpu" | "cuda", dtype: DType, fn: () => T, enabled = true): T {
  const [prevOn, prevDtype] = N.autocastEnter(deviceType, enabled, DTYPE_CODE[dtype]);
  try {
    return fn();
  } finally {
    N.autocastExit(deviceType, prevOn, prevDtype);
  }
}

/** Identity forward; multiplies the gradient by `scale` backward (0 blocks it, -1 reverses it). Written in C++. */
export const scaleGrad = (t: Tensor, scale: number): Tensor => new Tensor(N.scaleGrad(t.handle, scale));
