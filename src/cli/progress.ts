/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (redirected output stays clean):
 * `label [########............] 12/30 tiles  4.1 s  eta 6s`.
 */
import { formatDuration } from "../train/logging.js";

export class ProgressBar {
  readonly #start = performance.now();
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  #last = 0;

  constructor(
    readonly label: string,
    readonly unit: string,
    o: { stream?: NodeJS.WriteStream; enabled?: boolean } = {},
  ) {
    this.#stream = o.stream ?? process.stderr;
    this.#enabled = o.enabled ?? this.#stream.isTTY === true;
  }

  /** Redraws at most every 100 ms, and always at the end. */
  update(done: number, total: number): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (done < total && now - this.#last < 100) return;
    this.#last = now;
    const seconds = (now - this.#start) / 1000;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const bar = "#".repeat(Math.round(frac * 20)).padEnd(20, ".");
    const eta = done > 0 ? (seconds / done) * (total - done) : Number.NaN;
    const line = `${this.label} [${bar}] ${done}/${total} ${this.unit}  ${seconds.toFixed(1)} s  eta ${formatDuration(eta)}`;
    this.#stream.write(`\r\x1b[K${line.slice(0, this.#stream.columns ?? 120)}`);
  }

  /** Clears the bar's line. */
  finish(): void {
    if (this.#enabled) this.#stream.write("\r\x1b[K");
  }
}
