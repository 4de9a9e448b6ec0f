/**
 * onnxruntime-node beside the engine: runs an exported model on a random input and reports the largest absolute
 * difference from the engine's forward. onnxruntime-node is loaded lazily, so the rest of tasksr works without it.
 */
import { noGrad } from "../engine/autograd.js";
import { manualSeed, rand } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";

export type OrtModule = typeof import("onnxruntime-node");

let ort: Promise<OrtModule> | undefined;
/** The onnxruntime-node module, or E_NATIVE_MISSING saying how to install it. */
export function onnxRuntime(): Promise<OrtModule> {
  ort ??= import("onnxruntime-node").catch((err: unknown) => {
    ort = undefined;
    throw new TasksrError(
      "E_NATIVE_MISSING",
      `onnxruntime-node could not be loaded (${(err as Error).message}). Install it with ` +
        "`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` (its CPU binaries are in the npm package; " +
        "the skipped step only fetches CUDA libraries)",
      { cause: err },
    );
  });
  return ort;
}

export interface OrtCheck {
  maxAbsDiff: number;
  /** Largest |engine output| (to judge the difference). */
  maxAbs: number;
  dims: readonly number[];
}

/** Runs `bytes` with onnxruntime-node and `forward` with the engine on one random input [N, 3, h, w]. */
export async function checkWithOnnxRuntime(
  bytes: Uint8Array,
  forward: (x: Tensor) => Tensor,
  size: readonly [number, number, number],
  seed = 1,
): Promise<OrtCheck> {
  const { InferenceSession, Tensor: OrtTensor } = await onnxRuntime();
  const session = await InferenceSession.create(bytes);
  try {
    const { input, expected, shape } = noGrad(() =>
      scope(() => {
        manualSeed(seed);
        const x = rand([...size.slice(0, 1), 3, ...size.slice(1)]);
        const y = forward(x);
        return { input: x.data<"float32">(), expected: y.data<"float32">(), shape: y.shape };
      }),
    );
    const out = await session.run({ lr: new OrtTensor("float32", input, [size[0], 3, size[1], size[2]]) });
    const got = out[session.outputNames[0]!]!;
    const dims = got.dims;
    if (dims.length !== shape.length || dims.some((d, i) => d !== shape[i])) {
      throw new TasksrError("E_EXPORT", `onnxruntime's output is [${dims}], the engine's [${shape}]`);
    }
    const data = got.data as Float32Array;
    let maxAbsDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < data.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(data[i]! - expected[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
    }
    return { maxAbsDiff, maxAbs, dims };
  } finally {
    await session.release();
  }
}
