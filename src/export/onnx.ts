/**
 * ONNX export of any engine forward: trace at five input sizes (src/export/trace.ts), fit the size-dependent numbers
 * (src/export/dynamic.ts), emit one node per op (src/export/ops.ts) and serialise with onnx-proto.
 *
 * I/O convention (docs/deploy.md): one input `lr`, float32 [N, 3, h, w] RGB in [0, 1], N, h and w dynamic; outputs
 * float32, named by the caller (`sr` [N, 3, h·s, w·s] before 8-bit rounding, `logits` [N, K], `masks` [N, K, H, W]).
 * An fp16 export keeps that float32 interface: the graph casts after the input and before each output, so a
 * caller never changes with `--fp16`.
 */
import onnxProto from "onnx-proto";
import { noGrad } from "../engine/autograd.js";
import { manualSeed, rand } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { TasksrError } from "../errors.js";
import { type Affine, fitAffine, formatAffine, isRef, resolveDynamic, type SymArg, traceSizes } from "./dynamic.js";
import { attr, GraphBuilder, ONNX_DTYPE } from "./graph.js";
import { EMITTERS } from "./ops.js";
import { type ConstCache, createConstCache, type Trace, traceGraph } from "./trace.js";

const { onnx } = onnxProto;

export const OPSETS = [17, 18, 19, 20, 21] as const;
/** ONNX IR version that each opset was released with (onnxruntime refuses an IR newer than it knows). */
const IR_VERSION: Record<number, number> = { 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };

export interface ExportOptions {
  /** Output name(s): one name for a forward returning a tensor; for an object, its keys are the names. */
  output: string;
  opset?: number;
  /** Store weights and compute in float16 (the interface stays float32). */
  fp16?: boolean;
  /** Input h × w of the first trace (default 64 × 72; other traces are larger, src/export/dynamic.ts). */
  sampleSize?: readonly [number, number];
  /** Parameters and buffers, so that initializers carry their state-dict keys. */
  named?: Iterable<[string, Tensor]>;
  /** Stored as ONNX metadata_props (scale, architecture, task, ...). */
  metadata?: Record<string, string>;
  graphName?: string;
}

/** One graph input: its name, element type and dims (numbers, or names of dynamic dims). */
export interface InputSpec {
  readonly name: string;
  readonly dtype: "float32" | "int64";
  readonly dims: readonly (number | string)[];
}

/**
 * The inputs of a graph with several (exportGraphOnnx): their specs in order, and the sample inputs of each of the
 * five traces. Affine sizes refer to the first input's [N, ·, h, w], which `sample` makes of size `size` [N, h, w].
 */
export interface GraphInputs {
  readonly specs: readonly InputSpec[];
  sample(size: readonly [number, number, number], trace: number): Record<string, Tensor>;
}

export interface ExportResult {
  bytes: Uint8Array;
  /** Number of ONNX nodes and of initializers, for the command's summary. */
  nodes: number;
  initializers: number;
  /** Output name -> its dims, a number or a size expression such as "4*h". */
  outputs: Record<string, (number | string)[]>;
}

function traceAll(
  forward: (xs: Record<string, Tensor>) => Tensor | Record<string, Tensor>,
  inputs: GraphInputs,
  o: ExportOptions,
  cache: ConstCache,
) {
  const [h0, w0] = o.sampleSize ?? [64, 72];
  const sizes = traceSizes(h0, w0);
  const traces: Trace[] = sizes.map((size, k) =>
    noGrad(() =>
      scope(() => {
        manualSeed(0);
        return traceGraph(forward, inputs.sample(size, k), o.output, cache);
      }),
    ),
  );
  return { traces, sizes };
}

/** The one input of exportOnnx: `lr` [N, 3, h, w]. */
const LR_INPUT: GraphInputs = {
  specs: [{ name: "lr", dtype: "float32", dims: ["N", 3, "h", "w"] }],
  sample: ([n, h, w]) => ({ lr: rand([n, 3, h, w]) }),
};

/** Exports `forward` (a network in eval mode) as an ONNX model. */
export function exportOnnx(forward: (x: Tensor) => Tensor | Record<string, Tensor>, o: ExportOptions): ExportResult {
  return exportGraphOnnx((xs) => forward(xs.lr!), LR_INPUT, o);
}

/** Exports a forward of several named inputs (`inputs`) as an ONNX model. */
export function exportGraphOnnx(
  forward: (xs: Record<string, Tensor>) => Tensor | Record<string, Tensor>,
  inputs: GraphInputs,
  o: ExportOptions,
): ExportResult {
  const opset = o.opset ?? 17;
  if (!OPSETS.includes(opset as (typeof OPSETS)[number])) {
    throw new TasksrError("E_CLI_ARG", `--opset must be one of ${OPSETS.join(", ")}, got ${opset}`);
  }
  const cache = createConstCache(o.named);
  const { traces, sizes } = traceAll(forward, inputs, o, cache);
  const ops = resolveDynamic(traces, sizes);
  const t0 = traces[0]!;

  const floatType = o.fp16 === true ? "float16" : "float32";
  // Values are v<id>; an input is its name (a float one cast to half in an fp16 graph).
  const names = new Map<number, string>();
  const valueName = (id: number) => names.get(id) ?? `v${id}`;
  const b = new GraphBuilder(opset, floatType, inputs.specs[0]!.name, valueName);
  for (const spec of inputs.specs) {
    const id = t0.inputs.get(spec.name);
    if (id === undefined) throw new TasksrError("E_EXPORT", `the sample inputs have no "${spec.name}"`);
    const half = floatType === "float16" && spec.dtype === "float32";
    names.set(id, half ? b.op("Cast", [spec.name], [attr.i("to", ONNX_DTYPE.float16!)]) : spec.name);
  }
  const added = new Set<number>();
  const nameOf = (a: SymArg): string => {
    if (!isRef(a)) throw new TasksrError("E_EXPORT", `expected a tensor argument, got ${JSON.stringify(a)}`);
    const c = t0.consts.get(a.ref);
    if (c === undefined) return valueName(a.ref);
    const name = c.name ?? `tensor_${a.ref}`;
    if (!added.has(a.ref)) {
      added.add(a.ref);
      b.addConst(name, c);
    }
    return name;
  };
  const infoOf = (a: SymArg) => {
    if (!isRef(a)) throw new TasksrError("E_EXPORT", `expected a tensor argument, got ${JSON.stringify(a)}`);
    const v = t0.values.get(a.ref) ?? t0.consts.get(a.ref)!;
    return { rank: v.shape.length, dtype: v.dtype, shape: v.shape };
  };
  for (const [i, op] of ops.entries()) {
    const emit = EMITTERS[op.op];
    if (emit === undefined) {
      throw new TasksrError(
        "E_EXPORT",
        `op #${i} (${op.op}) has no ONNX emitter; exportable ops: ${Object.keys(EMITTERS).sort().join(", ")}`,
      );
    }
    const outInfo = t0.values.get(op.outs[0]!)!;
    emit({ b, name: nameOf, info: infoOf, outs: op.outs.map(valueName), outInfo }, op.args);
  }

  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  const outputDims: Record<string, (number | string)[]> = {};
  for (const [name, id] of t0.outputs) {
    const v = t0.values.get(id)!;
    if (v.dtype !== "float32") throw new TasksrError("E_EXPORT", `output "${name}" is ${v.dtype}, not float32`);
    const src = nameOf({ ref: id });
    if (floatType === "float16") b.op("Cast", [src], [attr.i("to", ONNX_DTYPE.float32!)], name);
    else b.op("Identity", [src], [], name);
    // Output dims are documentation for tools (Netron, onnxruntime's shape checks); a size that is not affine in the
    // input (a strided feature map) gets a plain name.
    const dims = v.shape.map((_, d): number | string | { dim: Affine } => {
      try {
        return fitAffine(
          traces.map((t) => t.values.get(id)!.shape[d]!),
          sizes,
          `dim ${d} of output "${name}"`,
        );
      } catch {
        return `${name}_dim${d}`;
      }
    });
    outputs.push(valueInfo(name, dims));
    outputDims[name] = dims.map((d) => (typeof d === "object" ? formatAffine(d.dim) : d));
  }

  const model: onnxProto.onnx.IModelProto = {
    irVersion: IR_VERSION[opset],
    producerName: "tasksr",
    opsetImport: [{ domain: "", version: opset }],
    graph: {
      name: o.graphName ?? "tasksr",
      node: b.nodes,
      initializer: b.initializers,
      input: inputs.specs.map((spec) => valueInfo(spec.name, spec.dims, spec.dtype)),
      output: outputs,
    },
    metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  return { bytes, nodes: b.nodes.length, initializers: b.initializers.length, outputs: outputDims };
}

function valueInfo(
  name: string,
  dims: readonly (number | string | { dim: Affine })[],
  dtype: "float32" | "int64" = "float32",
) {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[dtype],
        shape: {
          dim: dims.map((d) =>
            typeof d === "number" ? { dimValue: d } : { dimParam: typeof d === "string" ? d : formatAffine(d.dim) },
          ),
        },
      },
    },
  };
}
