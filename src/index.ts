/** tasksr: task-driven super-resolution toolkit (Node public API). */
export * from "./engine/index.js";
export { type ErrorCode, ErrorCodes, TasksrError } from "./errors.js";
export * as nn from "./nn/index.js";
