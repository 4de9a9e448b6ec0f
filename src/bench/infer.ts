/**
 * `tasksr bench infer`: eval forward time of each exported network on the engine (libtorch) and on onnxruntime-node,
 * in the same process, on the same input, with the same thread count. Rounds alternate the two sides and the median
 * of each side's timed runs is kept, so a busy machine slows both alike.
 */
import { noGrad } from "../engine/autograd.js";
import { manualSeed, rand } from "../engine/creation.js";
import { scope } from "../engine/scope.js";
import { getNumThreads } from "../engine/system.js";
import type { Tensor } from "../engine/tensor.js";
import { exportOnnx } from "../export/onnx.js";
import { onnxRuntime } from "../infer/ort.js";
import "../models/index.js";
import { buildArch } from "../models/registry.js";
import type { SegmenterOutput } from "../models/types.js";
import type { Module } from "../nn/module.js";

interface InferConfig {
  arch: string;
  options: Record<string, unknown>;
  /** Input [N, 3, h, w]. */
  input: [number, number, number, number];
  segmentation?: boolean;
}

/** EDSR-baseline x4 64→256 is the case the browser is measured on (docs/deploy.md). */
export const INFER_CONFIGS: Record<string, InferConfig> = {
  "edsr-baseline-x4": { arch: "edsr-baseline", options: { scale: 4 }, input: [1, 3, 64, 64] },
  "edsr-tiny-x4": { arch: "edsr-tiny", options: { scale: 4 }, input: [1, 3, 64, 64] },
  "dbpn-tiny-x4": { arch: "dbpn-tiny", options: { scale: 4 }, input: [1, 3, 64, 64] },
  // 64 px LR: the test script's padding runs the network on 72×72 (nine 8×8 windows per row).
  "swinir-m-x4": { arch: "swinir-m", options: { scale: 4 }, input: [1, 3, 64, 64] },
  resnet18: { arch: "resnet18", options: { numClasses: 1000 }, input: [1, 3, 224, 224] },
  "deeplabv3-mobilenetv3-large": {
    arch: "deeplabv3-mobilenetv3-large",
    options: { numClasses: 21 },
    input: [1, 3, 256, 256],
    segmentation: true,
  },
};

export interface InferRow {
  name: string;
  input: number[];
  libtorch_ms: number;
  onnxruntime_ms: number;
  /** onnxruntime_ms / libtorch_ms (below 1: onnxruntime is faster). */
  ratio: number;
  max_abs_diff: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

export async function runInferBench(o: {
  configs: string[];
  runs: number;
  rounds: number;
  onRow?: (r: InferRow) => void;
}): Promise<{ threads: number; onnxruntime: string; rows: InferRow[] }> {
  const ort = await onnxRuntime();
  const threads = getNumThreads();
  const rows: InferRow[] = [];
  for (const name of o.configs) {
    const c = INFER_CONFIGS[name]!;
    manualSeed(0);
    const net = buildArch(c.arch, c.options) as unknown as Module<[Tensor], unknown>;
    net.eval();
    const forward = (x: Tensor) => {
      const y = net.call(x);
      return c.segmentation ? (y as SegmenterOutput).out : (y as Tensor);
    };
    const { bytes } = exportOnnx(forward, {
      output: "y",
      ...(c.segmentation ? {} : { sampleSize: [32, 32] as const }),
    });
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    manualSeed(1);
    const x = rand(c.input);
    const feed = { lr: new ort.Tensor("float32", x.data<"float32">(), c.input) };
    const torchTimes: number[] = [];
    const ortTimes: number[] = [];
    let diff = 0;
    const once = async (side: "torch" | "ort", keep: boolean) => {
      const t0 = performance.now();
      if (side === "torch") {
        noGrad(() => scope(() => forward(x).data()));
      } else {
        await session.run(feed);
      }
      if (keep) (side === "torch" ? torchTimes : ortTimes).push(performance.now() - t0);
    };
    // Warm-up: kernel selection and memory pools on both sides.
    for (let i = 0; i < 2; i++) for (const side of ["torch", "ort"] as const) await once(side, false);
    for (let r = 0; r < o.rounds; r++) {
      for (const side of ["torch", "ort"] as const) for (let i = 0; i < o.runs; i++) await once(side, true);
    }
    {
      const expected = noGrad(() => scope(() => forward(x).data<"float32">()));
      const got = (await session.run(feed)).y!.data as Float32Array;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i]! - expected[i]!));
    }
    await session.release();
    x.dispose();
    net.dispose();
    const row: InferRow = {
      name,
      input: c.input,
      libtorch_ms: median(torchTimes),
      onnxruntime_ms: median(ortTimes),
      ratio: median(ortTimes) / median(torchTimes),
      max_abs_diff: diff,
    };
    rows.push(row);
    o.onRow?.(row);
  }
  return { threads, onnxruntime: ort.env.versions?.node ?? "?", rows };
}
