/**
 * User-facing errors. Each has a stable code documented in docs/errors.md (anchor = code in lower case), names the
 * file/field/argument involved, and says what was expected.
 */
export const ErrorCodes = {
  /** The native engine (build/Release/tasksr_native.node) is missing or failed to load. */
  E_NATIVE_MISSING: "native engine not built or not loadable",
  /** A tensor op received an argument of the wrong type, shape, dtype or device. */
  E_TENSOR_ARG: "invalid tensor argument",
  /** A tensor was used after dispose(). */
  E_DISPOSED: "tensor used after dispose",
  /** A scope() callback returned a Promise (scopes are synchronous). */
  E_ASYNC_SCOPE: "asynchronous scope",
  /** A file could not be read or decoded (image, annotation, weights, checkpoint). */
  E_BAD_FILE: "unreadable or malformed file",
  /** A file could not be written (disk full, quota, read-only file system, permissions). */
  E_WRITE: "file not written",
  /** A configuration value is missing, unknown or of the wrong type. */
  E_CONFIG: "invalid configuration",
  /** A state dict does not match the network (missing, unexpected or mis-shaped keys). */
  E_STATE_DICT: "state dict mismatch",
  /** An unknown name was looked up in a registry (architecture, dataset, metric, ...). */
  E_UNKNOWN_NAME: "unknown registry name",
  /** A command-line argument is invalid. */
  E_CLI_ARG: "invalid command-line argument",
  /** Training produced a non-finite loss. */
  E_NON_FINITE: "non-finite loss",
  /** A requested device is not available (e.g. cuda without a GPU build). */
  E_DEVICE: "device not available",
  /** A run or study folder is in use by another process, or was not created by tasksr. */
  E_RUN_FOLDER: "run folder in use or not owned by tasksr",
  /** Distributed training failed: a bad launcher environment, a peer that died or timed out, a build without c10d. */
  E_DIST: "distributed training failed",
  /** A data worker thread could not start or died while loading a batch. */
  E_DATA_WORKER: "data worker thread failed",
  /** A network or an op in its forward cannot be written as ONNX (the message names the op and why). */
  E_EXPORT: "not exportable to ONNX",
  /** A plug-in module (--plugin, `plugins:` in a config) failed to load or exported something malformed. */
  E_PLUGIN: "plug-in failed to load",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** The ` [E_X; see docs/errors.md#e_x]` suffix TasksrError appends to every message. */
const CODE_SUFFIX = / \[E_[A-Z_]+; see docs\/errors\.md#e_[a-z_]+\]/g;

export class TasksrError extends Error {
  readonly code: ErrorCode;

  /**
   * A message that quotes another TasksrError's message (context wrapped around a lower-level error) would carry two
   * code suffixes; the quoted one is dropped so that each error shows exactly one code, its own.
   */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${message.replace(CODE_SUFFIX, "")} [${code}; see docs/errors.md#${code.toLowerCase()}]`, options);
    this.name = "TasksrError";
    this.code = code;
  }
}

/** Throws E_TENSOR_ARG with `message` unless `cond` holds. The message is built lazily. */
export function check(cond: unknown, message: () => string, code: ErrorCode = "E_TENSOR_ARG"): asserts cond {
  if (!cond) throw new TasksrError(code, message());
}
