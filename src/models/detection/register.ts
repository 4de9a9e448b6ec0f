/**
 * Registry entries of the detectors (kind `task.detection`): option schemas and builders. `numClasses` counts the
 * background (a dataset with K classes needs K + 1).
 */
import { z } from "zod";
import { defineArch } from "../registry.js";
import { fasterRcnnMobileNetV3LargeFpn, lightFasterRcnn } from "./faster_rcnn.js";
import { lightSsd, ssd300Vgg16 } from "./ssd.js";

const numClasses = (d: number) => z.number().int().min(2).default(d);
const unit = z.number().min(0).max(1);
const count = z.number().int().positive();
const rgb = z.tuple([z.number(), z.number(), z.number()]);
const rgbPositive = z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]);

const ssdThresholds = {
  scoreThresh: unit.optional(),
  nmsThresh: unit.optional(),
  detectionsPerImage: count.optional(),
  topkCandidates: count.optional(),
  iouThresh: unit.optional(),
  positiveFraction: z.number().gt(0).lt(1).optional(),
};

defineArch({
  kind: "task.detection",
  name: "ssd300-vgg16",
  description:
    "SSD300 + VGG16 (torchvision keys); options defaultBoxes torchvision|original, input torchvision|caffe-bgr",
  schema: z.strictObject({
    numClasses: numClasses(91),
    defaultBoxes: z.enum(["torchvision", "original"]).default("torchvision"),
    input: z.enum(["torchvision", "caffe-bgr"]).default("torchvision"),
    trainableBackboneLayers: z.number().int().min(0).max(5).default(4),
    ...ssdThresholds,
  }),
  build: (o) => ssd300Vgg16(o),
});

defineArch({
  kind: "task.detection",
  name: "ssd-light",
  description: "small all-conv SSD for CPU experiments on 64-128 px images (any input size; taps 0..n)",
  schema: z.strictObject({
    numClasses: numClasses(21),
    widths: z.array(count).min(3).optional(),
    size: z.tuple([count, count]).optional(),
    aspectRatios: z.array(z.array(z.number().positive())).optional(),
    minRatio: z.number().positive().optional(),
    maxRatio: z.number().positive().optional(),
    ...ssdThresholds,
  }),
  build: (o) => lightSsd(o),
});

const fasterRcnnSchema = z.strictObject({
  numClasses: numClasses(91),
  norm: z.enum(["batch", "frozen"]).default("batch"),
  trainableBackboneLayers: z.number().int().min(0).max(6).optional(),
  minSize: count.optional(),
  maxSize: count.optional(),
  sizeDivisible: count.optional(),
  mean: rgb.optional(),
  std: rgbPositive.optional(),
  anchorSizes: z.array(z.number().positive()).min(1).optional(),
  aspectRatios: z.array(z.number().positive()).min(1).optional(),
  rpnPreNmsTopNTrain: count.optional(),
  rpnPreNmsTopNTest: count.optional(),
  rpnPostNmsTopNTrain: count.optional(),
  rpnPostNmsTopNTest: count.optional(),
  rpnNmsThresh: unit.optional(),
  rpnFgIouThresh: unit.optional(),
  rpnBgIouThresh: unit.optional(),
  rpnBatchSizePerImage: count.optional(),
  rpnPositiveFraction: unit.optional(),
  rpnScoreThresh: unit.optional(),
  boxScoreThresh: unit.optional(),
  boxNmsThresh: unit.optional(),
  boxDetectionsPerImg: count.optional(),
  boxFgIouThresh: unit.optional(),
  boxBgIouThresh: unit.optional(),
  boxBatchSizePerImage: count.optional(),
  boxPositiveFraction: unit.optional(),
});

defineArch({
  kind: "task.detection",
  name: "fasterrcnn-mobilenet-v3-large-fpn",
  description: "Faster R-CNN + MobileNetV3-Large FPN (torchvision keys), rpnScoreThresh 0.05 (SR4IR); taps 0, 1, pool",
  schema: fasterRcnnSchema,
  build: (o) => fasterRcnnMobileNetV3LargeFpn(o),
});

defineArch({
  kind: "task.detection",
  name: "fasterrcnn-mobilenet-v3-light",
  description: "Faster R-CNN, MobileNetV3 width 0.5 reduced tail, FPN 64, anchors 16-128, 128 px; for CPU experiments",
  schema: fasterRcnnSchema,
  build: (o) => lightFasterRcnn(o),
});
