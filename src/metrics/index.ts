/** Metrics: image quality (PSNR/SSIM), classification, segmentation, COCO and VOC detection. */
export type { Accumulator } from "./accumulator.js";
export { TopKAccuracy, type TopKOptions, type TopKSummary } from "./classification.js";
export type { PrecisionRecall } from "./coco/accumulate.js";
export type { CocoDetection, ImagePredictions } from "./coco/detections.js";
export { type CocoCategoryResult, type CocoEvalResult, CocoEvaluator } from "./coco/evaluator.js";
export { evaluateCocoFiles } from "./coco/files.js";
export {
  type CocoAnnotation,
  type CocoCategory,
  type CocoGroundTruth,
  type CocoGroundTruthIndex,
  type CocoImage,
  indexCocoGroundTruth,
} from "./coco/ground-truth.js";
export { type CocoLenientCounts, type CocoReadOptions, cocoLenientWarnings } from "./coco/lenient.js";
export { AREA_LABELS, AREA_RANGES, IOU_THRESHOLDS, MAX_DETS, RECALL_THRESHOLDS } from "./coco/params.js";
export { type CocoStatKey, type CocoStats, formatCocoStats, STAT_KEYS } from "./coco/summarize.js";
export { ConfusionMatrix, type NanPolicy, type SegmentationSummary } from "./confusion.js";
export { PsnrMeter, type PsnrSummary, psnr } from "./psnr.js";
export {
  evaluateSrFiles,
  pairImages,
  readPair,
  type SrFilesOptions,
  type SrFilesReport,
  type SrImageResult,
} from "./sr-files.js";
export {
  type MetricImage,
  roundHalfEven,
  SR_PROTOCOLS,
  type SrProtocol,
  type SrProtocolOptions,
} from "./sr-protocol.js";
export { SsimMeter, type SsimSummary, ssim } from "./ssim.js";
export {
  type VocBox,
  type VocClassResult,
  type VocDetection,
  VocEvaluator,
  type VocGroundTruth,
  type VocObject,
  type VocOptions,
  type VocResult,
  vocAp,
} from "./voc.js";
export { classOfResultFile, readVocDetections, readVocGroundTruth, type VocGroundTruthFiles } from "./voc-files.js";
