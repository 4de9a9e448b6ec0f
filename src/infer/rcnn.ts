/**
 * Faster R-CNN on onnxruntime (src/export/rcnn.ts writes the two graphs): stage 1, the JS proposal selection,
 * stage 2, the JS post-processing (src/infer/rcnn_post.ts), giving the engine's detections — boxes in pixels of
 * the task network's input (the SR output for an `sr+task` export), scores, labels.
 *
 * ```ts
 * const det = await createFasterRcnnDetector({ model: "det.onnx" });   // det.stage2.onnx beside it
 * const [d] = await det.detect(lr, [1, 3, h, w]);                    // d.boxes [K * 4], d.scores, d.labels
 * await det.release();
 * ```
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { TasksrError } from "../errors.js";
import type { JsDetections } from "./detect_post.js";
import { readOnnxMetadata } from "./metadata.js";
import type { OrtSessionLike, OrtTensorLike } from "./onnx.js";
import { onnxRuntime } from "./ort.js";
import { type RcnnSettings, rcnnPostprocess, rcnnResizedSize, roiLevels, selectProposals } from "./rcnn_post.js";

/** onnxruntime with the tensor types the two stages take (float32, and int64 indices). */
export interface OrtRcnnLike {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSessionLike> };
  Tensor: new (type: "float32" | "int64", data: Float32Array | BigInt64Array, dims: readonly number[]) => OrtTensorLike;
}

/** A named output of stage 1: its data and dims. */
export type StageOutputs = Record<string, { readonly data: Float32Array; readonly dims: readonly number[] }>;

/** The inputs of stage 2 (besides the pooled feature maps), and how its rows split over the images. */
export interface Stage2Feeds {
  /** [K * 4] xyxy in pixels of the resized image, image after image. */
  rois: Float32Array;
  batchIndex: BigInt64Array;
  levels: BigInt64Array;
  scales: Float32Array;
  /** Proposals per image (they sum to K). */
  counts: number[];
  /** Every image's size after the resize (one batch: one size). */
  imageSize: [number, number];
}

/** Stage 1's outputs for a batch of images of `originalSize` -> stage 2's inputs (the RPN's proposal selection). */
export function rcnnStage2Feeds(
  out1: StageOutputs,
  originalSize: readonly [number, number],
  s: RcnnSettings,
): Stage2Feeds {
  const get = (name: string) => {
    const t = out1[name];
    if (t === undefined) throw new TasksrError("E_BAD_FILE", `Faster R-CNN stage 1 has no output "${name}"`);
    return t;
  };
  const perLevel = s.featureNames.map((n) => {
    const d = get(`features.${n}`).dims;
    return d[2]! * d[3]! * s.anchorsPerLocation;
  });
  const objectness = get("objectness");
  const proposals = get("proposals");
  const [n, a] = objectness.dims as [number, number];
  const imageSize = rcnnResizedSize(originalSize, s);
  const boxes: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const obj = objectness.data.subarray(i * a, (i + 1) * a);
    const props = proposals.data.subarray(4 * i * a, 4 * (i + 1) * a);
    boxes.push(selectProposals(obj, props, perLevel, imageSize, s).boxes);
  }
  const counts = boxes.map((b) => b.length / 4);
  const rois = new Float32Array(4 * counts.reduce((p, q) => p + q, 0));
  const batchIndex = new BigInt64Array(rois.length / 4);
  let at = 0;
  boxes.forEach((b, i) => {
    rois.set(b, 4 * at);
    batchIndex.fill(BigInt(i), at, at + counts[i]!);
    at += counts[i]!;
  });
  const heights = s.pooledNames.map((name) => get(`features.${name}`).dims[2]!);
  const { levels, scales } = roiLevels(rois, heights, imageSize[0], s);
  return { rois, batchIndex, levels, scales, counts, imageSize };
}

/** Stage 2's `scores` [K * C] and `boxes` [K * C * 4] -> each image's detections in pixels of `originalSize`. */
export function rcnnDetections(
  scores: Float32Array,
  boxes: Float32Array,
  feeds: Stage2Feeds,
  originalSize: readonly [number, number],
  s: RcnnSettings,
): JsDetections[] {
  const C = s.numClasses;
  let at = 0;
  return feeds.counts.map((k) => {
    const d = rcnnPostprocess(
      scores.subarray(at * C, (at + k) * C),
      boxes.subarray(4 * at * C, 4 * (at + k) * C),
      feeds.imageSize,
      originalSize,
      s,
    );
    at += k;
    return d;
  });
}

export class FasterRcnnOnnx {
  private constructor(
    readonly ort: OrtRcnnLike,
    readonly stage1: OrtSessionLike,
    readonly stage2: OrtSessionLike,
    readonly settings: RcnnSettings,
    /** Task-input pixels per `lr` pixel (the SR scale of an `sr+task` export, else 1). */
    readonly scale: number,
  ) {}

  /** Opens both stages' bytes; the settings and scale come from stage 1's metadata. */
  static async create(
    ort: OrtRcnnLike,
    stage1: Uint8Array,
    stage2: Uint8Array,
    options: Record<string, unknown> = {},
  ): Promise<FasterRcnnOnnx> {
    const meta = readOnnxMetadata(stage1, "Faster R-CNN stage 1");
    const raw = meta["tasksr.rcnn"];
    if (raw === undefined) {
      throw new TasksrError("E_BAD_FILE", "Faster R-CNN stage 1: no tasksr.rcnn metadata (not a tasksr export)");
    }
    const settings = JSON.parse(raw) as RcnnSettings;
    const scale = Number(meta["tasksr.scale"] ?? "1");
    const s1 = await ort.InferenceSession.create(stage1, options);
    const s2 = await ort.InferenceSession.create(stage2, options).catch(async (err: unknown) => {
      await s1.release();
      throw err;
    });
    return new FasterRcnnOnnx(ort, s1, s2, settings, scale);
  }

  /** Detections of each image of `lr` [N, 3, h, w] (RGB in [0, 1]), boxes in pixels of the task network's input. */
  async detect(lr: Float32Array, dims: readonly [number, number, number, number]): Promise<JsDetections[]> {
    const s = this.settings;
    const originalSize: [number, number] = [dims[2] * this.scale, dims[3] * this.scale];
    const out1 = await this.stage1.run({ lr: new this.ort.Tensor("float32", lr, dims) });
    const outputs: StageOutputs = Object.fromEntries(
      Object.entries(out1).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]),
    );
    const feeds = rcnnStage2Feeds(outputs, originalSize, s);
    const k = feeds.rois.length / 4;
    // No proposal survived: nothing for the box branch (the engine's detections are empty too).
    if (k === 0)
      return feeds.counts.map(() => ({
        boxes: new Float32Array(0),
        scores: new Float32Array(0),
        labels: new Int32Array(0),
      }));
    const ins: Record<string, OrtTensorLike> = {
      rois: new this.ort.Tensor("float32", feeds.rois, [k, 4]),
      batch_index: new this.ort.Tensor("int64", feeds.batchIndex, [k]),
      levels: new this.ort.Tensor("int64", feeds.levels, [k]),
      scales: new this.ort.Tensor("float32", feeds.scales, [feeds.scales.length]),
    };
    for (const name of s.pooledNames) ins[`features.${name}`] = out1[`features.${name}`]!;
    const out2 = await this.stage2.run(ins);
    return rcnnDetections(out2.scores!.data as Float32Array, out2.boxes!.data as Float32Array, feeds, originalSize, s);
  }

  async release(): Promise<void> {
    await this.stage1.release();
    await this.stage2.release();
  }
}

export interface CreateFasterRcnnOptions {
  /** Stage 1: a path (stage 2 is read from the file its `tasksr.stage2` metadata names, beside it) or bytes. */
  model: string | Uint8Array;
  /** Stage 2: a path or bytes; needed when `model` is bytes. */
  stage2?: string | Uint8Array;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
}

const readModel = (path: string) =>
  readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw new TasksrError("E_BAD_FILE", `cannot read ONNX model ${path}: ${err.code ?? err.message}`);
  });
const bytesOf = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** A Faster R-CNN exported by `tasksr export`, on onnxruntime-node. */
export async function createFasterRcnnDetector(o: CreateFasterRcnnOptions): Promise<FasterRcnnOnnx> {
  const stage1 = typeof o.model === "string" ? bytesOf(await readModel(o.model)) : o.model;
  let stage2: Uint8Array;
  if (o.stage2 !== undefined) {
    stage2 = typeof o.stage2 === "string" ? bytesOf(await readModel(o.stage2)) : o.stage2;
  } else {
    if (typeof o.model !== "string") {
      throw new TasksrError("E_CLI_ARG", "createFasterRcnnDetector: stage2 is needed when model is given as bytes");
    }
    const name = readOnnxMetadata(stage1, o.model)["tasksr.stage2"];
    if (name === undefined) {
      throw new TasksrError("E_BAD_FILE", `${o.model}: no tasksr.stage2 metadata (not a Faster R-CNN stage 1)`);
    }
    stage2 = bytesOf(await readModel(join(dirname(o.model), name)));
  }
  const ort = (await onnxRuntime()) as unknown as OrtRcnnLike;
  return FasterRcnnOnnx.create(ort, stage1, stage2, o.threads === undefined ? {} : { intraOpNumThreads: o.threads });
}
