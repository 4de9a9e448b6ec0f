/** Exports a forward with exportOnnx and runs it in onnxruntime-node beside the engine, at given input sizes. */

import { manualSeed } from "../../src/engine/creation.js";
import { noGrad, rand, scope, type Tensor } from "../../src/engine/index.js";
import { type ExportOptions, exportOnnx } from "../../src/export/onnx.js";
import { onnxRuntime } from "../../src/infer/ort.js";

export interface OnnxComparison {
  size: readonly [number, number, number];
  maxAbsDiff: number;
  maxAbs: number;
  /** The output's dims in onnxruntime. */
  dims: readonly number[];
}

/** Max |onnxruntime - engine| of the first output, per input size [N, h, w]. */
export async function compareOnnx(
  forward: (x: Tensor) => Tensor,
  sizes: readonly (readonly [number, number, number])[],
  o: Partial<ExportOptions> = {},
): Promise<OnnxComparison[]> {
  const { bytes } = exportOnnx(forward, { output: "y", ...o });
  const ort = await onnxRuntime();
  const session = await ort.InferenceSession.create(bytes);
  const results: OnnxComparison[] = [];
  for (const [i, size] of sizes.entries()) {
    const { x, y } = noGrad(() =>
      scope(() => {
        manualSeed(10 + i);
        const input = rand([size[0], 3, size[1], size[2]]);
        return { x: input.data<"float32">(), y: forward(input).data<"float32">() };
      }),
    );
    const out = await session.run({ lr: new ort.Tensor("float32", x, [size[0], 3, size[1], size[2]]) });
    const got = out[session.outputNames[0]!]!;
    const data = got.data as Float32Array;
    if (data.length !== y.length)
      throw new Error(`size ${size}: onnxruntime gave ${data.length} values, engine ${y.length}`);
    let maxAbsDiff = 0;
    let maxAbs = 0;
    for (let k = 0; k < data.length; k++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(data[k]! - y[k]!));
      maxAbs = Math.max(maxAbs, Math.abs(y[k]!));
    }
    results.push({ size, maxAbsDiff, maxAbs, dims: got.dims });
  }
  await session.release();
  return results;
}
