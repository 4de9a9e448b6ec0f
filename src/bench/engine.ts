/**
 * Engine benchmark: the same training steps timed with tasksr and with Python PyTorch, in alternating child
 * processes of one run (same machine state, same allocator and thread count), reporting seconds per step, the
 * ratio, and each process's peak RSS.
 *
 * Configs (docs/engine.md):
 *   edsr     EDSR-baseline x4 (16 x 64), batch 4 of 48x48 LR, L1, Adam lr 1e-4
 *   resnet18 ResNet-18 (1000 classes), batch 16 of 224x224, cross-entropy, SGD lr 0.1 momentum 0.9
 *   mobilenetv3 MobileNetV3-Large features at width 0.5 with the reduced tail (the light detectors' and
 *            segmenter's backbone: many small 1x1 and depthwise convs), batch 8 of 128x128, mean of the last map
 *            as the loss, SGD lr 0.01 momentum 0.9
 *   swinir   SwinIR-M x4 (180 x 6x6 blocks, window 8, stochastic depth 0.1 on), batch 4 of 48x48 LR, L1, Adam lr 2e-4
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { manualSeed, rand, randint } from "../engine/creation.js";
import * as F from "../engine/functional.js";
import { Adam, type Optimizer, SGD } from "../engine/optim.js";
import { scope } from "../engine/scope.js";
import { getNumThreads, resolveDevice, synchronize } from "../engine/system.js";
import type { Tensor } from "../engine/tensor.js";
import { buildArch } from "../models/registry.js";
import "../models/index.js";
import type { Module } from "../nn/module.js";
import { findTorchPython, median, runJsonChild } from "./child.js";

export const BENCH_CONFIGS = ["edsr", "resnet18", "mobilenetv3", "swinir"] as const;
export type BenchConfig = (typeof BENCH_CONFIGS)[number];

export interface WorkerResult {
  config: BenchConfig;
  s_per_step: number;
  steps: number;
  peak_rss_mb: number;
}

/** Runs one config's training steps in this process (called in a fresh child process by runEngineBench). */
export function benchWorker(config: BenchConfig, steps: number, warmup: number, device = "cpu"): WorkerResult {
  const dev = resolveDevice(device);
  manualSeed(0);
  let net: Module<[Tensor], Tensor>;
  let opt: Optimizer<{ lr: number }>;
  let x: Tensor;
  let y: Tensor;
  let loss: (out: Tensor, y: Tensor) => Tensor;
  if (config === "edsr" || config === "swinir") {
    const arch = config === "edsr" ? "edsr-baseline" : "swinir-m";
    net = buildArch(arch, { scale: 4 }, "sr");
    net.to(dev);
    opt = new Adam(
      net.parameters().filter((p) => p.requiresGrad),
      { lr: config === "edsr" ? 1e-4 : 2e-4 },
    );
    x = rand([4, 3, 48, 48], { device: dev });
    y = rand([4, 3, 192, 192], { device: dev });
    loss = (o, t) => F.l1Loss(o, t);
  } else if (config === "mobilenetv3") {
    net = buildArch("mobilenet-v3-large", { widthMult: 0.5, reducedTail: true }, "backbone");
    net.to(dev);
    opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    x = rand([8, 3, 128, 128], { device: dev });
    y = rand([1], { device: dev });
    loss = (o) => o.mean();
  } else {
    net = buildArch("resnet18", { numClasses: 1000 }, "task.classification");
    net.to(dev);
    opt = new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    x = rand([16, 3, 224, 224], { device: dev });
    y = randint(0, 1000, [16], { device: dev });
    loss = (o, t) => F.crossEntropy(o, t);
  }
  net.train();
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    scope(() => {
      opt.zeroGrad();
      const l = loss(net.call(x), y);
      l.backward();
      opt.step();
      l.item();
    });
    synchronize();
    if (i >= warmup) times.push((performance.now() - t0) / 1000);
  }
  const result = { config, s_per_step: median(times), steps, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
  x.dispose();
  y.dispose();
  opt.dispose();
  net.dispose();
  return result;
}

export interface BenchRow {
  name: BenchConfig;
  ours_s: number;
  torch_s: number | null;
  ratio: number | null;
  ours_rss_mb: number;
  torch_rss_mb: number | null;
}

export interface EngineBenchOptions {
  configs: readonly BenchConfig[];
  steps: number;
  warmup: number;
  rounds: number;
  device: string;
  /** Skip the PyTorch side even when it is installed. */
  noTorch?: boolean;
  onRound?: (msg: string) => void;
}

/** Alternates our worker and PyTorch's per round; medians over rounds; the ratio is the median of per-round ratios. */
export function runEngineBench(o: EngineBenchOptions): { rows: BenchRow[]; threads: number; python?: string } {
  const threads = getNumThreads();
  const python = o.noTorch || o.device !== "cpu" ? undefined : findTorchPython();
  const launcher = fileURLToPath(new URL("../../../bin/tasksr.js", import.meta.url));
  const script = fileURLToPath(new URL("../../../tools/bench/engine_torch.py", import.meta.url));
  const rows: BenchRow[] = [];
  for (const config of o.configs) {
    const ours: WorkerResult[] = [];
    const torch: WorkerResult[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const args = [
        "bench",
        "engine",
        "--worker",
        config,
        "--steps",
        String(o.steps),
        "--warmup",
        String(o.warmup),
        "--device",
        o.device,
      ];
      ours.push(runJsonChild<WorkerResult>(process.execPath, [launcher, ...args], threads));
      if (python && existsSync(script)) {
        torch.push(
          runJsonChild<WorkerResult>(
            python,
            [script, config, String(o.steps), String(o.warmup), String(threads)],
            threads,
          ),
        );
      }
      const t = torch.at(-1);
      o.onRound?.(
        `${config} round ${r + 1}/${o.rounds}: ours ${ours.at(-1)!.s_per_step.toFixed(4)} s/step` +
          (t ? `, torch ${t.s_per_step.toFixed(4)} s/step` : ""),
      );
    }
    const ratios = torch.map((t, i) => ours[i]!.s_per_step / t.s_per_step);
    rows.push({
      name: config,
      ours_s: median(ours.map((x) => x.s_per_step)),
      torch_s: torch.length ? median(torch.map((x) => x.s_per_step)) : null,
      ratio: ratios.length ? median(ratios) : null,
      ours_rss_mb: Math.max(...ours.map((x) => x.peak_rss_mb)),
      torch_rss_mb: torch.length ? Math.max(...torch.map((x) => x.peak_rss_mb)) : null,
    });
  }
  return { rows, threads, python };
}
