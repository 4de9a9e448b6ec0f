/** Metrics: image quality (PSNR/SSIM), classification, segmentation, COCO and VOC detection. */
export type { Accumulator } from "./accumulator.js";
export { TopKAccuracy, type TopKOptions, type TopKSummary } from "./classification.js";
export { ConfusionMatrix, type NanPolicy, type SegmentationSummary } from "./confusion.js";
export { PsnrMeter, type PsnrSummary, psnr } from "./psnr.js";
export {
  type MetricImage,
  roundHalfEven,
  SR_PROTOCOLS,
  type SrProtocol,
  type SrProtocolOptions,
} from "./sr-protocol.js";
export { SsimMeter, type SsimSummary, ssim } from "./ssim.js";
