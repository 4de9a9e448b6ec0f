/** Exports a forward with exportOnnx and runs it in onnxruntime-node beside the engine, at given input sizes. */
import type { Tensor } from "../../src/engine/index.js";
import { type ExportOptions, exportOnnx } from "../../src/export/onnx.js";
import { checkWithOnnxRuntime, type OrtCheck } from "../../src/export/verify.js";

/** Max |onnxruntime - engine| over the outputs, per input size [N, h, w]. */
export async function compareOnnx(
  forward: (x: Tensor) => Tensor | Record<string, Tensor>,
  sizes: readonly (readonly [number, number, number])[],
  o: Partial<ExportOptions> = {},
): Promise<OrtCheck[]> {
  const { bytes } = exportOnnx(forward, { output: "y", ...o });
  return checkWithOnnxRuntime(bytes, forward, sizes, 10);
}
