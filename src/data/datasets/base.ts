/**
 * Shared behaviour of the file-backed datasets: the sample index, and the `onBadSample` policy.
 *
 * With `onBadSample: "error"` (default) the first unreadable file stops with its E_BAD_FILE error. With "skip":
 * - problems found while opening (an annotation that does not parse, a missing image or mask) drop that sample
 *   from the index;
 * - problems found while decoding in `get(i)` (a truncated image, a mask of the wrong size) mark sample i as bad
 *   and return the next readable sample instead (i+1, i+2, ... wrapping), so `length` and epoch sizes stay fixed.
 * Either way the sample is listed in `skipped` with the error that named the file.
 */
import { z } from "zod";
import { TasksrError } from "../../errors.js";
import type { Dataset, Sample, Target, Task } from "../types.js";

export const onBadSampleSchema = z.enum(["error", "skip"]).default("error");
export type OnBadSample = z.output<typeof onBadSampleSchema>;

export interface SkippedSample {
  /** Sample id (file stem or image id). */
  id: string;
  /** The error message, which names the offending file. */
  reason: string;
}

/** True for the errors that `onBadSample: "skip"` may skip: unreadable or malformed files. */
export const isBadFile = (err: unknown): err is TasksrError => err instanceof TasksrError && err.code === "E_BAD_FILE";

/**
 * Runs `fn` for one sample while opening a dataset. Under "skip", a bad-file error is recorded in `skipped` and
 * `undefined` returned; anything else is rethrown.
 */
export async function openSample<T>(
  onBadSample: OnBadSample,
  skipped: SkippedSample[],
  id: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (onBadSample === "error" || !isBadFile(err)) throw err;
    skipped.push({ id, reason: err.message });
    return undefined;
  }
}

/** Random access over an index of entries with the skip policy; S is what `get` returns. */
export abstract class SkippingReader<S, E extends { id: string }> {
  /** Samples skipped so far (while opening, then while reading), in the order they were found. */
  readonly skipped: SkippedSample[];
  readonly #bad = new Set<number>();

  protected constructor(
    /** Dataset type and location, used in messages. */
    readonly name: string,
    protected readonly entries: readonly E[],
    protected readonly onBadSample: OnBadSample,
    skippedWhileOpening: SkippedSample[],
  ) {
    this.skipped = skippedWhileOpening;
  }

  get length(): number {
    return this.entries.length;
  }

  /** Decodes one entry; throws E_BAD_FILE naming the file when it is unreadable. */
  protected abstract load(entry: E): Promise<S>;

  protected entry(index: number): E {
    if (!Number.isInteger(index) || index < 0 || index >= this.entries.length) {
      throw new RangeError(`${this.name}: sample index ${index} is outside [0, ${this.entries.length})`);
    }
    return this.entries[index]!;
  }

  async get(index: number): Promise<S> {
    const first = this.entry(index);
    if (this.onBadSample === "error") return this.load(first);
    const n = this.entries.length;
    for (let k = 0; k < n; k++) {
      const i = (index + k) % n;
      if (this.#bad.has(i)) continue;
      try {
        return await this.load(this.entries[i]!);
      } catch (err) {
        if (!isBadFile(err)) throw err;
        // Concurrent get() calls may fail on the same sample; record it once.
        if (!this.#bad.has(i)) {
          this.#bad.add(i);
          this.skipped.push({ id: this.entries[i]!.id, reason: err.message });
        }
      }
    }
    throw new TasksrError("E_BAD_FILE", `${this.name}: none of the ${n} samples can be read; ${this.skipSummary()}`);
  }

  /** One line per skipped sample after a count, e.g. for the training log. Empty string when nothing was skipped. */
  skipSummary(): string {
    if (this.skipped.length === 0) return "";
    const total = this.entries.length + this.skipped.length - this.#bad.size;
    const lines = this.skipped.map((s) => `  ${s.id}: ${s.reason}`);
    return [`${this.name}: skipped ${this.skipped.length} of ${total} samples`, ...lines].join("\n");
  }
}

/** A task dataset (see types.ts) over an index of entries. */
export abstract class FileDataset<T extends Target, E extends { id: string }>
  extends SkippingReader<Sample<T>, E>
  implements Dataset<T>
{
  abstract readonly task: Task;
  abstract readonly classes: readonly string[];
}
