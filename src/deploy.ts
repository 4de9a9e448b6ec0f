/**
 * `tasksr/onnx`: SR inference on onnxruntime-node without the libtorch engine (nothing here loads the addon).
 */
export { type DetectionSettings, type JsDetections, ssdPostprocess } from "./infer/detect_post.js";
export { readOnnxMetadata } from "./infer/metadata.js";
export { OnnxUpscaler, type OrtLike } from "./infer/onnx.js";
export { type TileOptions, type TileRegion, tileRegions } from "./infer/tiles.js";
export { type CreateUpscalerOptions, createUpscaler } from "./infer/upscaler.js";
