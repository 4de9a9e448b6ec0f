/**
 * Tracing mode of the engine: runs a network's forward once while every native op on tensors is recorded with its
 * arguments. Tensors the forward reads but did not compute (parameters, buffers, tensors made from data) are
 * snapshotted as constants the first time an op uses them. The forward runs for real, so a trace also checks that the network works at that size.
 *
 * Recording happens at the addon boundary (every Tensor method and functional goes through `N`), so any network
 * written with the engine can be traced without per-module export code; what an op means in ONNX is src/export/ops.ts.
 */
import { type DType, dtypeFromCode } from "../engine/dtype.js";
import { type Handle, N } from "../engine/native.js";
import { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";

/** A reference to a traced value or constant (ids shared by both, numbered in order of first appearance). */
export interface Ref {
  readonly ref: number;
}
export type TraceArg = number | boolean | string | null | undefined | Ref | readonly TraceArg[];

export interface TracedOp {
  readonly op: string;
  readonly args: readonly TraceArg[];
  readonly outs: readonly number[];
}

export interface ConstSnapshot {
  /** State-dict key of a parameter or buffer, when known (initializers are named by it, as torch.onnx does). */
  readonly name?: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly bytes: Uint8Array;
}

export interface Trace {
  readonly ops: readonly TracedOp[];
  /** Graph inputs in order, name -> value id (`input` is the first). */
  readonly inputs: ReadonlyMap<string, number>;
  /** id -> constant (parameters, buffers, tensors made during the forward without the input). */
  readonly consts: ReadonlyMap<number, ConstSnapshot>;
  /** id -> shape and dtype of every traced value (the input and each op output) at this trace's size. */
  readonly values: ReadonlyMap<number, { shape: readonly number[]; dtype: DType }>;
  readonly input: number;
  /** Output name -> value id. */
  readonly outputs: ReadonlyMap<string, number>;
}

/** Native calls that neither compute on tensors nor matter to the graph. */
const PASSTHROUGH = new Set([
  "shape",
  "dtype",
  "device",
  "isContiguous",
  "isDisposed",
  "dispose",
  "isGradEnabled",
  "setGradEnabled",
  "requiresGrad",
  "isLeaf",
  "gradFnName",
  "liveTensors",
  "nativeBytes",
  "getNumThreads",
  "buildInfo",
]);
/** Creation from numbers that may be sizes: recorded, so that the graph computes them. */
const SIZED_CREATION = new Set(["arange", "zeros", "ones", "full"]);
/** Calls that read a traced tensor's values into JS: what follows depends on the data, which a graph cannot hold. */
const DATA_READS = new Set(["item", "toBuffer", "copyIntoBuffer", "equal", "allclose", "nonzero", "unique"]);

/** Native tensor handles are opaque objects; typed arrays and buffers (tensor data) and generators are not tensors. */
const tensorHandles = new WeakMap<object, boolean>();
function isHandle(v: unknown): v is Handle {
  if (typeof v !== "object" || v === null || Array.isArray(v) || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    return false;
  }
  let known = tensorHandles.get(v);
  if (known === undefined) {
    try {
      N.dtype(v as Handle);
      known = true;
    } catch {
      known = false;
    }
    tensorHandles.set(v, known);
  }
  return known;
}

/**
 * Parameters are the same native tensors in every trace of one export; their bytes are read once. Keyed by handle,
 * so the cache lives as long as one export.
 */
export interface ConstCache {
  readonly snapshots: Map<Handle, ConstSnapshot>;
  /** Handle -> state-dict key of the network's parameters and buffers. */
  readonly names: ReadonlyMap<Handle, string>;
}
export const createConstCache = (named: Iterable<[string, Tensor]> = []): ConstCache => ({
  snapshots: new Map(),
  names: new Map([...named].map(([k, t]) => [t.handle, k])),
});

function snapshot(h: Handle, name: string | undefined): ConstSnapshot {
  return {
    ...(name === undefined ? {} : { name }),
    shape: N.shape(h),
    dtype: dtypeFromCode(N.dtype(h)),
    bytes: new Uint8Array(N.toBuffer(h)),
  };
}

/** The composite recorder of the trace in progress (see `traced`). */
let recordComposite:
  | ((op: string, tensors: readonly Tensor[], attrs: readonly TraceArg[], compute: () => Tensor) => Tensor)
  | undefined;

/**
 * An engine computation recorded as one op `op` of the trace in progress, with `tensors` and then `attrs` as its
 * arguments; its emitter (src/export/ops.ts) writes the ONNX for it. For what the op-by-op trace cannot hold but one
 * ONNX operator (RoiAlign) or a short shape computation can: `compute` may read tensor values (RoIAlign groups
 * boxes on the host) or derive sizes that are not affine in the input (the R-CNN resize). Outside a trace it is
 * just `compute()`.
 */
export function traced(op: string, tensors: readonly Tensor[], attrs: readonly TraceArg[], compute: () => Tensor) {
  return recordComposite === undefined ? compute() : recordComposite(op, tensors, attrs, compute);
}

/**
 * Runs `forward(input)` with recording on. `forward` must be pure in eval mode (no in-place updates of tensors in
 * the graph, no reads of the data of tensors computed from the input); outputs are tensors, or an object of named
 * tensors.
 */
export function traceForward(
  forward: (x: Tensor) => Tensor | Record<string, Tensor>,
  input: Tensor,
  outputName: string,
  cache: ConstCache,
): Trace {
  return traceGraph((xs) => forward(xs.lr!), { lr: input }, outputName, cache);
}

/** traceForward for a graph of several named inputs (in the record's order; the first is `input`). */
export function traceGraph(
  forward: (inputs: Record<string, Tensor>) => Tensor | Record<string, Tensor>,
  inputs: Record<string, Tensor>,
  outputName: string,
  cache: ConstCache,
): Trace {
  const ids = new Map<Handle, number>();
  const consts = new Map<number, ConstSnapshot>();
  const values = new Map<number, { shape: readonly number[]; dtype: DType }>();
  const ops: TracedOp[] = [];
  let next = 0;
  const native = { ...N } as unknown as Record<string, (...a: unknown[]) => unknown>;
  const [shapeOf, dtypeOf] = [N.shape, N.dtype];
  const api = N as unknown as Record<string, (...a: unknown[]) => unknown>;
  const newValue = (h: Handle): number => {
    const id = next++;
    ids.set(h, id);
    values.set(id, { shape: shapeOf(h), dtype: dtypeFromCode(dtypeOf(h)) });
    return id;
  };
  const inputIds = new Map(Object.entries(inputs).map(([name, t]) => [name, newValue(t.handle)]));

  /** Values computed from the inputs (the others were computed from constants alone). */
  const fromInput = new Set<number>(inputIds.values());
  const dependsOnInput = (a: unknown): boolean =>
    Array.isArray(a) ? a.some(dependsOnInput) : isHandle(a) && fromInput.has(ids.get(a) ?? -1);
  const hasHandle = (a: unknown): boolean => (Array.isArray(a) ? a.some(hasHandle) : isHandle(a));
  const encode = (a: unknown): TraceArg => {
    if (Array.isArray(a)) return a.map(encode);
    if (!isHandle(a)) return a as TraceArg;
    let id = ids.get(a);
    if (id === undefined) {
      id = next++;
      ids.set(a, id);
      let c = cache.snapshots.get(a);
      if (c === undefined) {
        c = snapshot(a, cache.names.get(a));
        cache.snapshots.set(a, c);
      }
      consts.set(id, c);
    }
    return { ref: id };
  };

  const patched: Record<string, (...a: unknown[]) => unknown> = {};
  for (const name of Object.keys(native)) {
    const fn = native[name];
    if (typeof fn !== "function" || PASSTHROUGH.has(name)) continue;
    patched[name] = (...args: unknown[]) => {
      if (DATA_READS.has(name)) {
        if (args.some(dependsOnInput)) {
          throw new TasksrError(
            "E_EXPORT",
            `the forward reads the values of a tensor computed from the input (${name}); a graph cannot branch on data`,
          );
        }
        return fn(...args);
      }
      if (name.endsWith("_")) {
        // An update of a tensor already in the graph (a value, or a constant read earlier) would change the past.
        if (isHandle(args[0]) && ids.has(args[0])) {
          throw new TasksrError(
            "E_EXPORT",
            `the forward updates a tensor of the graph in place (${name}); export needs out-of-place ops`,
          );
        }
        return fn(...args);
      }
      // Every op on tensors is recorded, constants' too: a constant reshaped or expanded to a size read off the
      // input (SSD's default boxes) must be computed in the graph. Tensors made from numbers that may be sizes
      // (arange, zeros, ones, full) are recorded as well; those made from data (tensor(), eye, random) are constants.
      if (!args.some(hasHandle) && !SIZED_CREATION.has(name)) return fn(...args);
      const encoded = args.map(encode);
      const out = fn(...args);
      const outs = Array.isArray(out) ? (out as Handle[]).map(newValue) : [newValue(out as Handle)];
      if (args.some(dependsOnInput)) for (const o of outs) fromInput.add(o);
      ops.push({ op: name, args: encoded, outs });
      return out;
    };
  }
  const install = (fns: Record<string, (...a: unknown[]) => unknown>) => {
    for (const name of Object.keys(patched)) api[name] = fns[name]!;
  };
  let result: Tensor | Record<string, Tensor>;
  recordComposite = (op, tensors, attrs, compute) => {
    // The computation runs unrecorded; only its result enters the graph, as one op.
    install(native);
    let out: Tensor;
    try {
      out = compute();
    } finally {
      install(patched);
    }
    const handles = tensors.map((t) => t.handle);
    const encoded = [handles.map(encode), ...attrs];
    const id = newValue(out.handle);
    if (handles.some(dependsOnInput)) fromInput.add(id);
    ops.push({ op, args: encoded, outs: [id] });
    return out;
  };
  install(patched);
  try {
    result = forward(inputs);
  } finally {
    install(native);
    recordComposite = undefined;
  }
  const outputs = new Map<string, number>();
  const named = result instanceof Tensor ? { [outputName]: result } : result;
  for (const [name, t] of Object.entries(named)) {
    const id = ids.get(t.handle);
    if (id === undefined || !fromInput.has(id)) {
      throw new TasksrError("E_EXPORT", `output "${name}" does not depend on the input`);
    }
    outputs.set(name, id);
  }
  return { ops, consts, values, inputs: inputIds, input: [...inputIds.values()][0]!, outputs };
}
