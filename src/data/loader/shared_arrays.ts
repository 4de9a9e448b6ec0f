/**
 * Shared memory for the large arrays of host batches (images, masks) between a data worker and the main thread, as
 * PyTorch's workers put batches in shared memory. Each buffer is a SharedArrayBuffer made once by the worker and
 * sent to the main thread once; a batch then travels as buffer numbers and lengths, and the main thread hands the
 * numbers back once it has copied the batch into tensors.
 *
 * Why not transfer fresh ArrayBuffers: every ArrayBuffer object that appears in an isolate (made, or received by
 * transfer) counts towards V8's external memory, and a segmentation batch of 24 MB per batch then triggered a full
 * GC per batch in both threads. Views over buffers already held cost nothing.
 */
import type { ArraySource, HostBatch } from "./host_batch.js";

/** One large array of a host batch, by buffer number; `buffer` comes with it when the main thread lacks it. */
export interface SharedRef {
  id: number;
  length: number;
  type: "float32" | "uint8";
  buffer?: SharedArrayBuffer;
}

/** A host batch as it crosses the thread boundary: its large arrays replaced by references. */
export interface PackedHostBatch {
  host: HostBatch;
  images: SharedRef;
  masks?: SharedRef;
}

interface Slot {
  buffer: SharedArrayBuffer;
  busy: boolean;
  /** The main thread holds this buffer. */
  sent: boolean;
}

/** The worker's side: buffers handed out for assembly, busy until the main thread releases them. */
export class WorkerSharedArrays implements ArraySource {
  readonly #slots: Slot[] = [];
  /** Buffers taken by the assembly under way (assembly is synchronous: one batch at a time). */
  #taken: number[] = [];

  float32(length: number): Float32Array {
    return new Float32Array(this.#take(length * 4), 0, length);
  }

  uint8(length: number): Uint8Array {
    return new Uint8Array(this.#take(length), 0, length);
  }

  /** The smallest free buffer that fits; a free one too small is replaced; else a new one. */
  #take(bytes: number): SharedArrayBuffer {
    let best = -1;
    let free = -1;
    this.#slots.forEach((s, i) => {
      if (s.busy) return;
      free = i;
      if (s.buffer.byteLength >= bytes && (best < 0 || s.buffer.byteLength < this.#slots[best]!.buffer.byteLength))
        best = i;
    });
    if (best < 0) {
      const slot: Slot = { buffer: new SharedArrayBuffer(bytes), busy: false, sent: false };
      best = free >= 0 ? free : this.#slots.length;
      this.#slots[best] = slot;
    }
    this.#slots[best]!.busy = true;
    this.#taken.push(best);
    return this.#slots[best]!.buffer;
  }

  /** `host` with its large arrays (taken from this object) as references. */
  pack(host: HostBatch): PackedHostBatch {
    this.#taken = [];
    const ref = (a: Float32Array | Uint8Array): SharedRef => {
      const id = this.#slots.findIndex((s) => s.buffer === a.buffer);
      const slot = this.#slots[id]!;
      const r: SharedRef = { id, length: a.length, type: a instanceof Float32Array ? "float32" : "uint8" };
      if (!slot.sent) r.buffer = slot.buffer;
      slot.sent = true;
      return r;
    };
    const empty = { images: new Float32Array(0) };
    if (host.task === "segmentation") {
      return {
        host: { ...host, ...empty, masks: new Uint8Array(0) },
        images: ref(host.images),
        masks: ref(host.masks),
      };
    }
    return { host: { ...host, ...empty }, images: ref(host.images) };
  }

  /** Frees the buffers of a batch the main thread has uploaded. */
  release(ids: readonly number[]): void {
    for (const id of ids) if (this.#slots[id]) this.#slots[id]!.busy = false;
  }

  /** Frees what an assembly that failed had taken. */
  abandon(): void {
    this.release(this.#taken);
    this.#taken = [];
  }
}

/** The main thread's side, one per worker: the worker's buffers, to view batches in. */
export class MainSharedArrays {
  readonly #buffers: SharedArrayBuffer[] = [];

  /** The host batch of `p`, its arrays viewing the shared buffers; and the buffer numbers to release after use. */
  unpack(p: PackedHostBatch): { host: HostBatch; ids: number[] } {
    const view = (r: SharedRef) => {
      if (r.buffer) this.#buffers[r.id] = r.buffer;
      const b = this.#buffers[r.id]!;
      return r.type === "float32" ? new Float32Array(b, 0, r.length) : new Uint8Array(b, 0, r.length);
    };
    const host = { ...p.host, images: view(p.images) as Float32Array };
    if (host.task === "segmentation") host.masks = view(p.masks!) as Uint8Array;
    return { host, ids: p.masks ? [p.images.id, p.masks.id] : [p.images.id] };
  }
}
