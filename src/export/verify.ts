/**
 * onnxruntime-node beside the engine: runs an exported model on random inputs and reports, per input size, the
 * largest absolute difference from the engine's forward over every output.
 */
import { noGrad } from "../engine/autograd.js";
import { manualSeed, rand } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import { onnxRuntime } from "../infer/ort.js";

export interface OrtCheck {
  /** The input [N, h, w] (3 channels). */
  size: readonly [number, number, number];
  maxAbsDiff: number;
  /** Largest |engine output| (to judge the difference). */
  maxAbs: number;
  /** Dims of the first output in onnxruntime. */
  dims: readonly number[];
}

/** An engine output to compare: its name, shape and data. */
export interface ExpectedOutput {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/** Largest |onnxruntime - engine| over `expected`'s outputs, and the largest |engine output|. */
export function outputDifference(
  out: Record<string, { dims: readonly number[]; data: unknown }>,
  expected: readonly ExpectedOutput[],
): { maxAbsDiff: number; maxAbs: number } {
  let maxAbsDiff = 0;
  let maxAbs = 0;
  for (const e of expected) {
    const got = out[e.name];
    if (got === undefined) throw new TasksrError("E_EXPORT", `the ONNX file has no output "${e.name}"`);
    if (got.dims.length !== e.shape.length || got.dims.some((d, i) => d !== e.shape[i])) {
      throw new TasksrError("E_EXPORT", `onnxruntime's "${e.name}" is [${got.dims}], the engine's [${e.shape}]`);
    }
    const data = got.data as Float32Array;
    for (let i = 0; i < data.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(data[i]! - e.data[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(e.data[i]!));
    }
  }
  return { maxAbsDiff, maxAbs };
}

/** Named engine outputs as ExpectedOutput (data copied out, so it outlives the tensors' scope). */
export const expectedOutputs = (named: Record<string, Tensor>): ExpectedOutput[] =>
  Object.entries(named).map(([name, t]) => ({ name, shape: t.shape, data: t.data<"float32">() }));

/**
 * Runs `bytes` with onnxruntime-node and `forward` with the engine on one random input [N, 3, h, w] per size (seeded
 * `seed`, `seed + 1`, ...). A forward returning a tensor is compared with the file's first output; one returning
 * named tensors, output by output.
 */
export async function checkWithOnnxRuntime(
  bytes: Uint8Array,
  forward: (x: Tensor) => Tensor | Record<string, Tensor>,
  sizes: readonly (readonly [number, number, number])[],
  seed = 1,
): Promise<OrtCheck[]> {
  const { InferenceSession, Tensor: OrtTensor } = await onnxRuntime();
  const session = await InferenceSession.create(bytes);
  try {
    const checks: OrtCheck[] = [];
    for (const [k, size] of sizes.entries()) {
      const dims4 = [size[0], 3, size[1], size[2]];
      const { input, expected } = noGrad(() =>
        scope(() => {
          manualSeed(seed + k);
          const x = rand(dims4);
          const y = forward(x);
          const named = y instanceof Tensor ? { [session.outputNames[0]!]: y } : y;
          return { input: x.data<"float32">(), expected: expectedOutputs(named) };
        }),
      );
      const out = await session.run({ lr: new OrtTensor("float32", input, dims4) });
      const { maxAbsDiff, maxAbs } = outputDifference(out, expected);
      checks.push({ size, maxAbsDiff, maxAbs, dims: out[expected[0]!.name]!.dims });
    }
    return checks;
  } finally {
    await session.release();
  }
}
