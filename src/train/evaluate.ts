/**
 * Evaluation of the full test pipeline LR -> (upsampler | SR net) -> task net: the task metric, plus PSNR under both
 * protocols and SSIM when the pipeline produces an SR image (A11, D). One function serves both report views:
 * SR4IR's (each setting's own networks) and TDSR's (one frozen task net fed every input kind).
 */

import { cropTo, padToMultiple } from "../data/degrade/pad.js";
import type { Batch } from "../data/loader/collate.js";
import { cropBack, disposeBatch } from "../data/loader/collate.js";
import { noGrad } from "../engine/autograd.js";
import { scope } from "../engine/scope.js";
import type { Tensor } from "../engine/tensor.js";
import { PsnrMeter } from "../metrics/psnr.js";
import type { MetricImage, SrProtocol } from "../metrics/sr-protocol.js";
import { SsimMeter } from "../metrics/ssim.js";
import type { TaskEvaluator } from "../tasks/adapter.js";

export interface EvalOptions {
  batches: AsyncIterable<Batch>;
  /**
   * LR synthesis for a HR batch (the caller of evaluatePipeline owns nothing: results are freed here). The batch is
   * first padded to a multiple of `scale`; `input` may return the padded size, which is cropped back.
   */
  degrade: (hr: Tensor) => Promise<Tensor>;
  /** The image the task net (and the quality metrics) see for an LR batch. */
  input: (lr: Tensor, batch: Batch) => Tensor;
  /** Task metric accumulator; omit for quality-only evaluation. */
  evaluator?: TaskEvaluator;
  /** Protocols to report PSNR under (omit for pipelines without an image to judge, e.g. HR). */
  psnr?: readonly SrProtocol[];
  ssim?: boolean;
  /** LPIPS network (on the pipeline's device) comparing each task input with its HR image; mean over images. */
  lpips?: { call(a: Tensor, b: Tensor): Tensor };
  scale: number;
  /** Sees each batch's LR images and the task network's input (at the HR size), e.g. to visualise them. */
  observe?: (lr: Tensor, x: Tensor, batch: Batch) => void;
  /** Called after each batch with the images done so far. */
  onProgress?: (images: number) => void;
  /**
   * Networks the pipeline runs: switched to eval mode (BatchNorm running statistics, which an evaluation must
   * neither use batch statistics for nor update) for the evaluation and restored to their mode afterwards.
   */
  nets?: readonly ({ training: boolean; train(on?: boolean): unknown } | undefined)[];
  /**
   * Distributed evaluation: this rank sees every world-th batch of the one-process plan (batch k here is batch
   * rank + k * world there); `gather` returns every rank's state. The task metric is kept per batch (`evaluator`
   * makes one each) and merged in the one-process batch order, so that what depends on the order of images (COCO's
   * image ids, which break score ties) is as in one process; PSNR and SSIM sums are merged per rank.
   */
  distributed?: {
    rank: number;
    world: number;
    gather: (state: EvalState) => EvalState[];
    evaluator: () => TaskEvaluator;
  };
}

/** The accumulated data of one rank's share of an evaluation. */
export interface EvalState {
  images: number;
  /** The task metric's state of each batch, by its index in the one-process plan. */
  task: { batch: number; state: unknown }[];
  psnr: unknown[];
  ssim?: unknown;
  /** Sum of the LPIPS distances of this rank's images. */
  lpips?: number;
}

export interface EvalResult {
  /** Task metric values (percent), e.g. {top1, top5} or {mIoU, pixelAcc} or COCO's 12 numbers. */
  task: Record<string, number>;
  /** PSNR in dB per protocol. */
  psnr: Partial<Record<SrProtocol, number>>;
  /** SSIM (basicsr protocol: Y channel, crop = scale). */
  ssim?: number;
  /** Mean LPIPS over images (when configured). */
  lpips?: number;
  images: number;
  seconds: number;
}

/** [3, H, W] float tensor -> planar metric image (values in [0, 1]; the protocols quantise). */
function metricImage(t: Tensor): MetricImage {
  const data = scope(() => t.float().contiguous().data<"float32">());
  return { data, channels: 3, height: t.shape[1]!, width: t.shape[2]!, layout: "chw" };
}

/**
 * LPIPS input as SR4IR's protocol (methods.md A11): the SR image quantised to 8 bits, both images cropped by 8 px
 * on every side (when large enough), [1, 3, H - 16, W - 16].
 */
function lpipsView(t: Tensor, quantise: boolean): Tensor {
  const q = quantise ? t.mul(255).round().clamp(0, 255).div(255) : t;
  const [h, w] = [t.shape[1]!, t.shape[2]!];
  const c = h > 16 && w > 16 ? LPIPS_CROP : 0;
  return q
    .narrow(1, c, h - 2 * c)
    .narrow(2, c, w - 2 * c)
    .unsqueeze(0);
}
const LPIPS_CROP = 8;

export async function evaluatePipeline(o: EvalOptions): Promise<EvalResult> {
  const nets = (o.nets ?? []).filter((n) => n !== undefined);
  const modes = nets.map((n) => n.training);
  for (const n of nets) n.train(false);
  try {
    return await evaluateBatches(o);
  } finally {
    for (const [i, n] of nets.entries()) n.train(modes[i]);
  }
}

async function evaluateBatches(o: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const psnr = (o.psnr ?? []).map((protocol) => new PsnrMeter({ protocol, scale: o.scale }));
  let ssim = o.ssim && o.psnr?.length ? new SsimMeter({ protocol: "basicsr", scale: o.scale }) : undefined;
  let images = 0;
  let lpipsSum = 0;
  const lpips = o.psnr?.length ? o.lpips : undefined;
  const dist = o.distributed;
  const perBatch: EvalState["task"] = [];
  for await (const batch of o.batches) {
    // Distributed: a fresh task accumulator per batch, whose state is kept under the batch's one-process index.
    const evaluator = dist && o.evaluator ? dist.evaluator() : o.evaluator;
    const n = batch.hr.shape[0]!;
    const [h, w] = [batch.hr.shape[2]!, batch.hr.shape[3]!];
    let lr: Tensor | undefined;
    try {
      // HR sides that are not multiples of the scale (VOC segmentation at short side 520) are padded at the
      // bottom/right by replication before the LR is made, and the task input is cropped back (A4).
      const padded = h % o.scale || w % o.scale ? padToMultiple(batch.hr, o.scale, "replicate").x : undefined;
      try {
        lr = await o.degrade(padded ?? batch.hr);
      } finally {
        padded?.dispose();
      }
      const l = lr;
      scope(() => {
        const x = cropTo(o.input(l, batch), h, w);
        o.observe?.(l, x, batch);
        evaluator?.update(x, batch);
        if (psnr.length === 0) return;
        // Detection batches are padded: compare each image at its own size.
        const srs = batch.sizes ? cropBack(x, batch.sizes) : x.unbind(0);
        const hrs = batch.sizes ? cropBack(batch.hr, batch.sizes) : batch.hr.unbind(0);
        for (const [i, s] of srs.entries()) {
          const a = metricImage(s);
          const b = metricImage(hrs[i]!);
          for (const m of psnr) m.update(a, b);
          ssim?.update(a, b);
          if (lpips) lpipsSum += noGrad(() => lpips.call(lpipsView(s, true), lpipsView(hrs[i]!, false)).item());
        }
      });
    } finally {
      lr?.dispose();
      disposeBatch(batch);
    }
    if (dist && evaluator) perBatch.push({ batch: dist.rank + perBatch.length * dist.world, state: evaluator.state() });
    images += n;
    o.onProgress?.(images);
  }
  let evaluator = o.evaluator;
  if (dist) {
    const all = dist.gather({
      images,
      task: perBatch,
      psnr: psnr.map((m) => m.state()),
      ssim: ssim?.state(),
      ...(lpips ? { lpips: lpipsSum } : {}),
    });
    evaluator = evaluator && dist.evaluator();
    for (const { state } of all.flatMap((s) => s.task).sort((a, b) => a.batch - b.batch)) evaluator?.mergeState(state);
    images = 0;
    lpipsSum = 0;
    const merged = psnr.map((m) => new PsnrMeter(m.options));
    const mergedSsim = ssim && new SsimMeter(ssim.options);
    for (const s of all) {
      images += s.images;
      for (const [i, m] of merged.entries()) m.mergeState(s.psnr[i]);
      if (s.ssim !== undefined) mergedSsim?.mergeState(s.ssim);
      lpipsSum += s.lpips ?? 0;
    }
    psnr.splice(0, psnr.length, ...merged);
    ssim = mergedSsim;
  }
  const result: EvalResult = {
    task: evaluator?.compute() ?? {},
    psnr: Object.fromEntries(psnr.map((m) => [m.options.protocol, m.compute().psnr])),
    images,
    seconds: (performance.now() - t0) / 1000,
  };
  if (ssim) result.ssim = ssim.compute().ssim;
  if (lpips && images > 0) result.lpips = lpipsSum / images;
  return result;
}
