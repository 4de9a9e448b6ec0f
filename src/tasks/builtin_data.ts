/** Registers the built-in tasks' data sides (engine-free: data worker threads import this). */
import "./classification/data.js";
import "./segmentation/data.js";
import "./detection/data.js";

export * from "./data.js";
