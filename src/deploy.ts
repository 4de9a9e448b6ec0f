/**
 * `tasksr/onnx`: SR inference on onnxruntime-node without the libtorch engine (nothing here loads the addon).
 */
export { OnnxUpscaler, type OrtLike } from "./infer/onnx.js";
export { type TileOptions, type TileRegion, tileRegions } from "./infer/tiles.js";
export { type CreateUpscalerOptions, createUpscaler } from "./infer/upscaler.js";
