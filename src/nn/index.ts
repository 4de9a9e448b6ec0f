/** Networks: the Module base, layers and initialisers. */
export * from "./init.js";
export * from "./layers/activation.js";
export * from "./layers/container.js";
export * from "./layers/conv.js";
export * from "./layers/linear.js";
export * from "./layers/misc.js";
export * from "./layers/norm.js";
export * from "./layers/pool.js";
export * from "./module.js";
export * from "./weights.js";
