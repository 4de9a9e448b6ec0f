/**
 * A pool of data worker threads (worker.ts) for one DataLoader. A batch goes to the worker with the fewest batches
 * in flight; results come back keyed by request, so the order of completion does not matter. Idle workers do not
 * keep the process alive. A worker that dies fails every batch it held, and every later one, with E_DATA_WORKER
 * naming it.
 */
import { Worker } from "node:worker_threads";
// sharp and the pixel kernels are loaded in the main thread before any worker, so that their shared libraries stay
// loaded when a worker exits (sharp's advice for worker threads).
import "sharp";
import { type ErrorCode, ErrorCodes, TasksrError } from "../../errors.js";
import { pixels } from "../pixels.js";
import type { HostBatch } from "./host_batch.js";
import { MainSharedArrays, type PackedHostBatch, type SharedImages } from "./shared_arrays.js";
import type { WorkerError, WorkerInit, WorkerRequest } from "./worker.js";

interface Pending {
  resolve: (b: HostBatch) => void;
  reject: (e: Error) => void;
  slot: Slot;
  what: string;
}

interface Slot {
  index: number;
  worker: Worker;
  shared: MainSharedArrays;
  inFlight: number;
  /** Set when the worker died: the error every later request gets. */
  dead?: TasksrError;
}

const fromWorker = (e: WorkerError): TasksrError =>
  new TasksrError(
    e.code !== undefined && e.code in ErrorCodes ? (e.code as ErrorCode) : "E_DATA_WORKER",
    e.code !== undefined ? e.message : `data worker: ${e.message}`,
  );

export class WorkerPool {
  readonly size: number;
  readonly #slots: Slot[];
  readonly #pending = new Map<number, Pending>();
  /** The shared buffers of each batch handed out, to lend or free them. */
  readonly #origin = new WeakMap<HostBatch, { images: SharedImages; release(): void }>();
  #next = 0;
  #closed = false;

  constructor(size: number, init: WorkerInit, heapMb?: number) {
    pixels();
    this.size = size;
    this.#slots = Array.from({ length: size }, (_, index) => {
      const worker = new Worker(new URL("./worker.js", import.meta.url), {
        workerData: init,
        // Workers inherit node's flags, but an inherited --input-type (a script given with -e) stops them starting;
        // an explicit list is checked strictly (V8 flags such as --max-old-space-size are refused), so it is only
        // given, empty, in that case.
        execArgv: process.execArgv.some((a) => a.startsWith("--input-type")) ? [] : undefined,
        ...(heapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: heapMb } }),
      });
      const slot: Slot = { index, worker, shared: new MainSharedArrays(), inFlight: 0 };
      worker.unref();
      worker.on("message", (m: { id: number; packed?: PackedHostBatch; error?: WorkerError }) => this.#settle(m));
      worker.on("error", (err) => this.#died(slot, `failed: ${err.message}`));
      worker.on("exit", (code) => {
        if (!this.#closed) this.#died(slot, `exited with code ${code}`);
      });
      return slot;
    });
  }

  /** The host batch of `indices` in `epoch`; `what` names the batch in errors ("batch 3 of epoch 1"). */
  load(epoch: number, indices: number[], what: string): Promise<HostBatch> {
    if (this.#closed) return Promise.reject(new TasksrError("E_DATA_WORKER", `${what}: the data workers were closed`));
    const dead = this.#slots.find((s) => s.dead);
    if (dead) return Promise.reject(dead.dead);
    const slot = this.#slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const id = this.#next++;
    return new Promise<HostBatch>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, slot, what });
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, epoch, indices } satisfies WorkerRequest);
    });
  }

  #settle(m: { id: number; packed?: PackedHostBatch; error?: WorkerError }): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    this.#release(p.slot);
    if (m.error) {
      p.reject(fromWorker(m.error));
      return;
    }
    const { host, ...shared } = p.slot.shared.unpack(m.packed!);
    this.#origin.set(host, shared);
    p.resolve(host);
  }

  /** Where the images of `b` live, for the tensor that views them (upload). */
  sharedImages(b: HostBatch): SharedImages | undefined {
    return this.#origin.get(b)?.images;
  }

  /**
   * After the upload, or for a batch dropped: frees the buffers of `b` the main thread still holds (those its
   * tensors view are freed with them). `b` must not be read after.
   */
  release(b: HostBatch): void {
    this.#origin.get(b)?.release();
    this.#origin.delete(b);
  }

  #release(slot: Slot): void {
    if (--slot.inFlight === 0) slot.worker.unref();
  }

  #died(slot: Slot, how: string): void {
    if (slot.dead) return;
    const message = (during: string) =>
      new TasksrError(
        "E_DATA_WORKER",
        `data worker ${slot.index + 1} of ${this.size} ${how}${during}; \`data.workers: 0\` loads on the main thread`,
      );
    slot.dead = message("");
    for (const [id, p] of this.#pending) {
      if (p.slot !== slot) continue;
      this.#pending.delete(id);
      this.#release(p.slot);
      p.reject(message(` while loading ${p.what}`));
    }
  }

  /** Stops every worker; batches still in flight are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [, p] of this.#pending)
      p.reject(new TasksrError("E_DATA_WORKER", `${p.what}: the data workers were closed`));
    this.#pending.clear();
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
    for (const s of this.#slots) s.shared.retire();
  }
}
