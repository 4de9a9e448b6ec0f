/**
 * onnxruntime-node, loaded on first use so that the rest of tasksr works without it (and a missing install is one
 * clear error, not an import failure at start-up).
 */
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
