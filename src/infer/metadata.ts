/** The `metadata_props` of an ONNX file (onnxruntime's JS API does not expose them), read with onnx-proto. */
import onnxProto from "onnx-proto";
import { TasksrError } from "../errors.js";

export function readOnnxMetadata(bytes: Uint8Array, where = "the ONNX model"): Record<string, string> {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new TasksrError("E_BAD_FILE", `${where} is not an ONNX model: ${(err as Error).message}`, { cause: err });
  }
  return Object.fromEntries(model.metadataProps.map((p) => [p.key ?? "", p.value ?? ""]));
}
