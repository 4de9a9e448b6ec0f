/**
 * `createUpscaler`: the library entry point for SR inference without libtorch, on onnxruntime-node (src/infer/onnx.ts).
 */
import { readFile } from "node:fs/promises";
import { TasksrError } from "../errors.js";
import { OnnxUpscaler, type OrtLike } from "./onnx.js";
import { onnxRuntime } from "./ort.js";

export interface CreateUpscalerOptions {
  /** Path of an .onnx file, or its bytes. */
  model: string | Uint8Array;
  /** onnxruntime intra-op threads (default: onnxruntime's choice, the core count). */
  threads?: number;
}

export async function createUpscaler(o: CreateUpscalerOptions): Promise<OnnxUpscaler> {
  const bytes =
    typeof o.model === "string"
      ? await readFile(o.model).catch((err: NodeJS.ErrnoException) => {
          throw new TasksrError("E_BAD_FILE", `cannot read ONNX model ${o.model}: ${err.code ?? err.message}`);
        })
      : o.model;
  const ort = (await onnxRuntime()) as unknown as OrtLike;
  const options = o.threads === undefined ? {} : { intraOpNumThreads: o.threads };
  try {
    return await OnnxUpscaler.create(ort, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), options);
  } catch (err) {
    if (err instanceof TasksrError) throw err;
    const where = typeof o.model === "string" ? o.model : "the ONNX bytes";
    throw new TasksrError("E_BAD_FILE", `${where}: onnxruntime cannot load it: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
