/**
 * `tasksr/onnx`: inference on onnxruntime-node without the libtorch engine (nothing here loads the addon): SR
 * upscaling, SSD post-processing, and Faster R-CNN's two graphs with their JS steps.
 */
export { type DetectionSettings, type JsDetections, ssdPostprocess } from "./infer/detect_post.js";
export { readOnnxMetadata } from "./infer/metadata.js";
export { OnnxUpscaler, type OrtLike } from "./infer/onnx.js";
export {
  type CreateFasterRcnnOptions,
  createFasterRcnnDetector,
  FasterRcnnOnnx,
  type OrtRcnnLike,
  rcnnDetections,
  rcnnStage2Feeds,
  type Stage2Feeds,
} from "./infer/rcnn.js";
export {
  type RcnnSettings,
  rcnnPostprocess,
  rcnnResizedSize,
  roiLevels,
  selectProposals,
} from "./infer/rcnn_post.js";
export { type TileOptions, type TileRegion, tileRegions } from "./infer/tiles.js";
export { type CreateUpscalerOptions, createUpscaler } from "./infer/upscaler.js";
