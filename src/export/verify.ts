/**
 * onnxruntime-node beside the engine: runs an exported model on a random input and reports the largest absolute
 * difference from the engine's forward.
 */
import { noGrad } from "../engine/autograd.js";
import { manualSeed, rand } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import { onnxRuntime } from "../infer/ort.js";

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
