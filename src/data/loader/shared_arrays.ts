/**
 * Shared memory for the large arrays of host batches (images, masks) between a data worker and the main thread, as
 * PyTorch's workers put batches in shared memory. Each buffer is a SharedArrayBuffer made once by the worker and
 * sent to the main thread once; a batch then travels as buffer numbers and lengths.
 *
 * Why not transfer fresh ArrayBuffers: every ArrayBuffer object that appears in an isolate (made, or received by
 * transfer) counts towards V8's external memory, and a segmentation batch of 24 MB per batch then triggered a full
 * GC per batch in both threads. Views over buffers already held cost nothing.
 *
 * Ownership: buffer i is busy while `flags[i]` (a shared Int32Array) is non-zero. FILLING while the worker assembles
 * into it; SENT once the batch is packed (the main thread owns it); LENT when the main thread makes a tensor that
 * views it without a copy (engine `sharedView`; the images); 0 again when the main thread is done with a SENT buffer
 * (masks after their copy, a batch dropped) or, for a LENT one, when the tensor's storage is freed, which clears the
 * flag from native code. Each unpacked batch frees only the buffers it still holds (not one it lent), so a buffer the
 * worker has already taken again is never touched. The worker reads the flags with Atomics.load before reusing a
 * buffer.
 */
import { TasksrError } from "../../errors.js";
import type { ArraySource, HostBatch } from "./host_batch.js";

/** Buffers per worker: far more than the batches in flight, so only batches never freed can use them all up. */
export const SHARED_SLOTS = 64;
const FILLING = 1;
const SENT = 2;
const LENT = 3;

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
  /** The task's other large arrays (segmentation masks), by field name. */
  arrays: Record<string, SharedRef>;
  /** The busy flags, with the first batch only. */
  flags?: SharedArrayBuffer;
}

/** Where the images of an unpacked batch live. */
export interface SharedImages {
  flags: Int32Array;
  index: number;
  /**
   * Hands the buffer to the tensor `make` creates over it (whose storage frees it); if `make` throws, the buffer
   * stays the main thread's.
   */
  lend<T>(make: () => T): T;
}

interface Slot {
  buffer: SharedArrayBuffer;
  /** The main thread holds this buffer. */
  sent: boolean;
}

/** The worker's side: buffers handed out for assembly, busy until the main thread frees their flags. */
export class WorkerSharedArrays implements ArraySource {
  readonly #slots: Slot[] = [];
  readonly #flags = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
  #flagsSent = false;
  /** Buffers taken by the assembly under way (`pack` runs one synchronous assembly at a time). */
  #taken: number[] = [];

  float32(length: number): Float32Array {
    return new Float32Array(this.#take(length * 4), 0, length);
  }

  uint8(length: number): Uint8Array {
    return new Uint8Array(this.#take(length), 0, length);
  }

  #busy(i: number): boolean {
    return Atomics.load(this.#flags, i) !== 0;
  }

  /** The smallest free buffer that fits; a free one too small is replaced; else a new one. */
  #take(bytes: number): SharedArrayBuffer {
    let best = -1;
    let free = -1;
    this.#slots.forEach((s, i) => {
      if (this.#busy(i)) return;
      free = i;
      if (s.buffer.byteLength >= bytes && (best < 0 || s.buffer.byteLength < this.#slots[best]!.buffer.byteLength))
        best = i;
    });
    if (best < 0) {
      best = free >= 0 ? free : this.#slots.length;
      if (best >= SHARED_SLOTS) {
        throw new TasksrError(
          "E_DATA_WORKER",
          `all ${SHARED_SLOTS} batch buffers of this loader are held by batches not yet freed (their image tensors ` +
            "view them): free each batch (disposeBatch) once its step is done",
        );
      }
      this.#slots[best] = { buffer: new SharedArrayBuffer(bytes), sent: false };
    }
    Atomics.store(this.#flags, best, FILLING);
    this.#taken.push(best);
    return this.#slots[best]!.buffer;
  }

  /**
   * The host batch `assemble` builds from this object's buffers, with its large arrays as references; if `assemble`
   * throws, the buffers it took are free again.
   */
  pack(assemble: (arrays: ArraySource) => HostBatch): PackedHostBatch {
    this.#taken = [];
    let host: HostBatch;
    try {
      host = assemble(this);
    } catch (err) {
      for (const i of this.#taken) Atomics.store(this.#flags, i, 0);
      throw err;
    }
    for (const i of this.#taken) Atomics.store(this.#flags, i, SENT);
    const ref = (a: Float32Array | Uint8Array): SharedRef => {
      const id = this.#slots.findIndex((s) => s.buffer === a.buffer);
      const slot = this.#slots[id]!;
      const r: SharedRef = { id, length: a.length, type: a instanceof Float32Array ? "float32" : "uint8" };
      if (!slot.sent) r.buffer = slot.buffer;
      slot.sent = true;
      return r;
    };
    // Every typed array of the batch in one of the buffers travels as a reference, in an empty array's place.
    const shell: Record<string, unknown> = { ...host, images: new Float32Array(0) };
    const arrays: Record<string, SharedRef> = {};
    for (const [key, v] of Object.entries(host)) {
      if (key === "images" || !(v instanceof Float32Array || v instanceof Uint8Array)) continue;
      if (!this.#slots.some((s) => s.buffer === v.buffer)) continue;
      arrays[key] = ref(v);
      shell[key] = v instanceof Float32Array ? new Float32Array(0) : new Uint8Array(0);
    }
    const packed: PackedHostBatch = { host: shell as unknown as HostBatch, images: ref(host.images), arrays };
    if (!this.#flagsSent) packed.flags = this.#flags.buffer as SharedArrayBuffer;
    this.#flagsSent = true;
    return packed;
  }
}

/** Main-thread sides of closed pools whose buffers a live tensor may still view: kept until their flags clear. */
const retired = new Set<MainSharedArrays>();

/** The main thread's side, one per worker: the worker's buffers, to view batches in. */
export class MainSharedArrays {
  readonly #buffers: SharedArrayBuffer[] = [];
  #flags: Int32Array | undefined;

  /**
   * The host batch of `p`, its arrays viewing the shared buffers; `images` for the tensor that will view them; and
   * `release`, to call once the batch is uploaded or dropped: it frees the buffers the batch still holds.
   */
  unpack(p: PackedHostBatch): { host: HostBatch; images: SharedImages; release(): void } {
    if (p.flags) this.#flags = new Int32Array(p.flags);
    const view = (r: SharedRef) => {
      if (r.buffer) this.#buffers[r.id] = r.buffer;
      const b = this.#buffers[r.id]!;
      return r.type === "float32" ? new Float32Array(b, 0, r.length) : new Uint8Array(b, 0, r.length);
    };
    const host: HostBatch = { ...p.host, images: view(p.images) as Float32Array };
    for (const [key, r] of Object.entries(p.arrays)) (host as unknown as Record<string, unknown>)[key] = view(r);
    const flags = this.#flags!;
    const index = p.images.id;
    let lent = false;
    const lend = <T>(make: () => T): T => {
      Atomics.store(flags, index, LENT);
      try {
        const made = make();
        lent = true;
        return made;
      } catch (err) {
        Atomics.store(flags, index, SENT);
        throw err;
      }
    };
    const held = Object.values(p.arrays).map((r) => r.id);
    const release = () => {
      for (const i of lent ? held : [index, ...held]) Atomics.store(flags, i, 0);
    };
    return { host, images: { flags, index, lend }, release };
  }

  /** The pool closed: keeps the buffers alive while a tensor still views one. */
  retire(): void {
    for (const m of retired) if (!m.#inUse()) retired.delete(m);
    if (this.#inUse()) retired.add(this);
  }

  /** A tensor still views one of the buffers (batches in flight when the pool closed are just dropped). */
  #inUse(): boolean {
    const f = this.#flags;
    return f !== undefined && this.#buffers.some((_, i) => Atomics.load(f, i) === LENT);
  }
}
