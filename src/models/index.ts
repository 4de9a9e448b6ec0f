/**
 * Every architecture, registered by importing its file (explicitly: no file-system discovery), plus the registry
 * and the network contracts.
 */
import "./backbones/mobilenetv3.js";

export * from "./backbones/mobilenetv3.js";
export * from "./blocks/conv_norm_act.js";
export * from "./registry.js";
export type * from "./types.js";
