/**
 * Training logs: windowed/global averages weighted by samples (never unweighted batch means), periodic progress
 * lines, a one-line progress bar on a TTY, and every logged value appended to metrics.jsonl.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../fs/atomic.js";

/** Running statistics of one scalar: window median/mean and the global sample-weighted average. */
export class SmoothedValue {
  readonly #window: number[] = [];
  #total = 0;
  #count = 0;
  constructor(readonly windowSize = 20) {}
  update(value: number, n = 1): void {
    this.#window.push(value);
    if (this.#window.length > this.windowSize) this.#window.shift();
    this.#total += value * n;
    this.#count += n;
  }
  get avg(): number {
    return this.#window.reduce((a, b) => a + b, 0) / Math.max(1, this.#window.length);
  }
  get globalAvg(): number {
    return this.#count ? this.#total / this.#count : Number.NaN;
  }
  get count(): number {
    return this.#count;
  }
}

const fmt = (v: number): string =>
  v === 0 ? "0" : Math.abs(v) >= 1000 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(4);

/** A flat metric record as one line: `top1 91.20  psnr_sr4ir 24.31  ssim 0.8123`. */
export const formatMetrics = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${v.toFixed(k === "ssim" ? 4 : 2)}`)
    .join("  ");

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export interface ProgressOptions {
  totalIters: number;
  totalEpochs: number;
  logEvery: number;
  jsonl?: string;
  /** Where lines go (default: stdout). */
  write?: (line: string) => void;
  tty?: boolean;
}

/** Tracks losses/lr/throughput; prints a line every `logEvery` iterations and a live bar on a TTY. */
export class TrainProgress {
  readonly meters = new Map<string, SmoothedValue>();
  readonly #start = performance.now();
  #lastTick = performance.now();
  #images = 0;
  #startIter: number;
  readonly #write: (line: string) => void;
  readonly #tty: boolean;

  constructor(
    readonly o: ProgressOptions,
    startIter = 0,
  ) {
    this.#startIter = startIter;
    this.#write = o.write ?? ((l) => process.stdout.write(`${l}\n`));
    this.#tty = o.tty ?? (o.write === undefined && process.stdout.isTTY === true);
  }

  /** Records one iteration's values (losses, lrs) for `batch` images and prints when due. */
  step(epoch: number, iter: number, values: Record<string, number>, batch: number): void {
    for (const [k, v] of Object.entries(values)) {
      let m = this.meters.get(k);
      if (m === undefined) {
        m = new SmoothedValue();
        this.meters.set(k, m);
      }
      m.update(v, batch);
    }
    this.#images += batch;
    const now = performance.now();
    const done = iter - this.#startIter;
    const rate = done / ((now - this.#start) / 1000);
    const eta = (this.o.totalIters - iter) / rate;
    const ips = this.#images / ((now - this.#start) / 1000);
    if (this.o.jsonl) {
      appendFileSync(this.o.jsonl, `${JSON.stringify({ type: "train", epoch, iter, ...values, imgPerSec: ips })}\n`);
    }
    const summary = [...this.meters.entries()].map(([k, m]) => `${k} ${fmt(m.avg)}`).join("  ");
    const head = `[epoch ${epoch}/${this.o.totalEpochs}] it ${iter}/${this.o.totalIters}`;
    const line = `${head}  ${summary}  ${ips.toFixed(1)} img/s  eta ${formatDuration(eta)}`;
    if (iter % this.o.logEvery === 0 || iter === this.o.totalIters) {
      this.#clearBar();
      this.#write(line);
    } else if (this.#tty && now - this.#lastTick > 200) {
      this.#lastTick = now;
      const frac = iter / this.o.totalIters;
      const bar = "#".repeat(Math.round(frac * 20)).padEnd(20, ".");
      process.stdout.write(`\r[${bar}] ${line}`.slice(0, process.stdout.columns ?? 120));
    }
  }

  /** Prints a non-iteration line (evaluation results, checkpoints) and records it in metrics.jsonl. */
  event(type: string, text: string, values: Record<string, unknown> = {}): void {
    this.#clearBar();
    this.#write(text);
    this.record(type, values);
  }

  /** Appends a record to metrics.jsonl without printing. */
  record(type: string, values: Record<string, unknown> = {}): void {
    if (this.o.jsonl) appendFileSync(this.o.jsonl, `${JSON.stringify({ type, ...values })}\n`);
  }

  #clearBar(): void {
    if (this.#tty) process.stdout.write("\r\x1b[K");
  }
}

/**
 * Rewinds a run's metrics.jsonl to a checkpoint before the run continues from it: drops the records of iterations
 * after `iteration` and of evaluations after `epochsDone` epochs (written before a crash, they will be written again)
 * and any line cut short by the crash, so the file reads as one uninterrupted run. Returns the lines dropped.
 */
export function rewindJsonl(path: string, iteration: number, epochsDone: number): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
  const kept = lines.filter((line) => {
    let r: { type?: string; iter?: number; epoch?: number };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      return false;
    }
    if (r.type === "eval") return (r.epoch ?? 0) <= epochsDone;
    return r.iter === undefined || r.iter <= iteration;
  });
  if (kept.length < lines.length) writeFileAtomic(path, kept.map((l) => `${l}\n`).join(""));
  return lines.length - kept.length;
}

/** The evaluations recorded in a run's metrics.jsonl (all segments', as rewound), in order: epoch and flat metrics. */
export function readEvals(path: string): { epoch: number; metrics: Record<string, number> }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.startsWith('{"type":"eval",'))
    .map((l) => JSON.parse(l) as { type: string; epoch: number } & Record<string, number>)
    .map(({ type: _, epoch, ...metrics }) => ({ epoch, metrics }));
}
