/**
 * Every architecture, registered by importing its file (explicitly: no file-system discovery), plus the registry
 * and the network contracts.
 */
import "./backbones/mobilenetv3.js";
import "./classification/resnet.js";
import "./detection/register.js";
import "./segmentation/deeplabv3.js";
import "./sr/dbpn.js";
import "./sr/edsr.js";
import "./sr/interpolate.js";
import "./sr/swinir.js";

export * from "./backbones/mobilenetv3.js";
export * from "./blocks/conv_norm_act.js";
export * from "./blocks/normalize.js";
export * from "./blocks/swin.js";
export * from "./classification/resnet.js";
export * from "./detection/faster_rcnn.js";
export * from "./detection/ssd.js";
export * from "./detection/types.js";
export * from "./inspect.js";
export * from "./macs.js";
export * from "./registry.js";
export * from "./segmentation/deeplabv3.js";
export * from "./sr/base.js";
export * from "./sr/dbpn.js";
export * from "./sr/edsr.js";
export * from "./sr/interpolate.js";
export * from "./sr/swinir.js";
export type * from "./types.js";
