/**
 * The tasksr engine: libtorch tensors, autograd and optimizers for TypeScript.
 *
 * ```ts
 * import { scope, randn, F, Adam } from "tasksr";
 * const w = randn([3, 3, 3, 3], { requiresGrad: true });
 * const opt = new Adam([w], { lr: 1e-3 });
 * const loss = scope(() => F.conv2d(x, w, undefined, { padding: 1 }).sub(y).abs().mean());
 * loss.backward(); opt.step(); opt.zeroGrad(); loss.dispose();
 * ```
 */

export { writeFileAtomic } from "../fs/atomic.js";
export * from "./autograd.js";
export * from "./bf16.js";
export * from "./creation.js";
export type { DataOf, DType, TypedArray } from "./dtype.js";
export * as F from "./functional.js";
export * from "./optim.js";
export * from "./safetensors.js";
export { keep, scope, scopeDepth } from "./scope.js";
export * from "./serialize/pth.js";
export * from "./system.js";
export {
  assertTensor,
  type Dims,
  type IndexSpec,
  type Scalar,
  type Slice,
  Tensor,
  type TensorOrScalar,
} from "./tensor.js";
