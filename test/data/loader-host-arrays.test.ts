import assert from "node:assert/strict";
import { test } from "node:test";
import { collateFor, disposeBatch } from "../../src/data/loader/collate.js";
import type { SegmentationHostBatch } from "../../src/data/loader/host_batch.js";
import { MainSharedArrays, WorkerSharedArrays } from "../../src/data/loader/shared_arrays.js";
import { pixels } from "../../src/data/pixels.js";
import { F, scope, sharedView, tensor } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";

test("toPlanarFloat: every byte value equals the engine's float().div(255) to the bit; grey fills three planes", () => {
  const bytes = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3)); // [1, 256, 3]: pixel x = x
  const out = new Float32Array(3 * 256);
  pixels().toPlanarFloat(bytes, 256, 1, 3, out, 0, 256, 1, "replicate");
  const want = scope(() =>
    tensor(bytes, { shape: [1, 256, 3] })
      .permute(2, 0, 1)
      .float()
      .div(255)
      .data<"float32">(),
  );
  assert.deepEqual(new Uint32Array(out.buffer), new Uint32Array(Float32Array.from(want).buffer));
  const grey = Uint8Array.from({ length: 256 }, (_, i) => i);
  const g = new Float32Array(3 * 256 + 5).fill(-1);
  pixels().toPlanarFloat(grey, 16, 16, 1, g, 5, 16, 16, "reflect");
  assert.deepEqual(Array.from(g.subarray(0, 5)), [-1, -1, -1, -1, -1], "nothing before the offset is written");
  for (let c = 0; c < 3; c++)
    assert.deepEqual(
      g.subarray(5 + c * 256, 5 + (c + 1) * 256),
      out.filter((_, i) => i < 256),
    );
});

test("toPlanarFloat pads at the right and bottom as F.pad reflect / replicate", () => {
  const w = 5;
  const h = 4;
  const src = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
  for (const [mode, ow, oh] of [
    ["reflect", 9, 7],
    ["replicate", 13, 11],
  ] as const) {
    const out = new Float32Array(3 * ow * oh);
    pixels().toPlanarFloat(src, w, h, 3, out, 0, ow, oh, mode);
    const want = scope(() => {
      const x = tensor(src, { shape: [1, h, w, 3] })
        .permute(0, 3, 1, 2)
        .float()
        .div(255);
      return F.pad(x, [0, ow - w, 0, oh - h], mode)
        .contiguous()
        .data<"float32">();
    });
    assert.deepEqual(Array.from(out), Array.from(want), mode);
  }
});

test("toPlanarFloat names what is wrong with its arguments", () => {
  const k = pixels();
  const src = new Uint8Array(4 * 4 * 3);
  const dst = new Float32Array(3 * 8 * 8);
  assert.throws(() => k.toPlanarFloat(src, 4, 4, 3, dst, 0, 8, 8, "reflect"), /reflect padding needs pads smaller/);
  assert.throws(() => k.toPlanarFloat(src, 4, 4, 3, dst, 1, 8, 8, "replicate"), /dst holds 192 floats, too few/);
  assert.throws(() => k.toPlanarFloat(src, 4, 4, 3, dst, 0, 3, 4, "replicate"), /outWidth must be an integer >= 4/);
  assert.throws(() => k.toPlanarFloat(src, 4, 4, 3, dst, 0, 4, 4, "wrap" as "reflect"), /mode must be "reflect"/);
  assert.throws(() => k.toPlanarFloat(src, 4, 6, 2, dst, 0, 4, 6, "reflect"), /channels must be 1 or 3/);
  assert.throws(() => k.toPlanarFloat(src, 4, 4, 3, new Uint8Array(48) as never, 0, 4, 4, "reflect"), /Float32Array/);
});

function segBatch(arrays: { float32(n: number): Float32Array; uint8(n: number): Uint8Array }, n: number) {
  return {
    task: "segmentation",
    ids: ["a"],
    width: n,
    height: 1,
    images: arrays.float32(3 * n),
    masks: arrays.uint8(n),
  } satisfies SegmentationHostBatch;
}

test("shared arrays: a buffer travels to the main thread once, is busy until freed, and reused after", () => {
  const worker = new WorkerSharedArrays();
  const main = new MainSharedArrays();
  const p1 = worker.pack((a) => {
    const first = segBatch(a, 8);
    first.images.fill(0.5);
    first.masks.fill(7);
    return first;
  });
  assert.ok(p1.images.buffer instanceof SharedArrayBuffer && p1.arrays.masks?.buffer instanceof SharedArrayBuffer);
  assert.ok(p1.flags instanceof SharedArrayBuffer, "the flags travel with the first batch");
  assert.equal(p1.host.images.length, 0, "the packed batch carries no pixels of its own");
  const u1 = main.unpack(structuredClone(p1));
  assert.deepEqual(Array.from(new Set(u1.host.images)), [0.5]);
  assert.deepEqual(Array.from(new Set((u1.host as SegmentationHostBatch).masks)), [7]);
  // While the main thread holds batch 1, batch 2 gets other buffers.
  const p2 = worker.pack((a) => segBatch(a, 8));
  assert.equal(p2.flags, undefined);
  assert.notEqual(p2.images.id, p1.images.id);
  u1.release();
  // Freed: the next batch of that size reuses them and sends only their numbers; a smaller one fits too.
  const p3 = worker.pack((a) => segBatch(a, 6));
  assert.equal(p3.images.id, p1.images.id);
  assert.equal(p3.arrays.masks!.id, p1.arrays.masks!.id, "the batch's release freed its masks buffer too");
  assert.equal(p3.images.buffer, undefined);
  const u3 = main.unpack(structuredClone(p3));
  assert.equal(u3.host.images.length, 18);
  assert.equal(u3.host.images.buffer, u1.host.images.buffer, "the main thread views the buffer it already has");
  // A failed assembly gives back what it took: buffers 0-3 are busy, so it took a new buffer 4, which the next
  // batch gets.
  assert.throws(
    () =>
      worker.pack((a) => {
        a.float32(3 * 8);
        throw new Error("a bad sample");
      }),
    /a bad sample/,
  );
  const p4 = worker.pack((a) => segBatch(a, 8));
  assert.equal(p4.images.id, 4);
  assert.ok(p4.images.buffer, "sent with the batch: the main thread never had buffer 4");
});

test("a tensor viewing a shared buffer reads it without a copy and frees it when its storage is freed", () => {
  const worker = new WorkerSharedArrays();
  const main = new MainSharedArrays();
  const pixels12 = Float32Array.from({ length: 12 }, (_, i) => i / 8);
  const u = main.unpack(
    structuredClone(
      worker.pack((a) => {
        const b = segBatch(a, 4);
        b.images.set(pixels12);
        return b;
      }),
    ),
  );
  // A tensor that fails to be made leaves the buffer to the batch.
  assert.throws(
    () => u.images.lend(() => sharedView(u.host.images, [2, 3, 1, 4], u.images.flags, u.images.index)),
    /48 bytes but/,
  );
  const t = u.images.lend(() => sharedView(u.host.images, [1, 3, 1, 4], u.images.flags, u.images.index));
  u.release(); // frees the masks; the images are the tensor's now
  assert.notEqual(Atomics.load(u.images.flags, u.images.index), 0, "a lent buffer is not freed by its batch");
  const alias = t.view(12);
  assert.deepEqual(alias.toArray(), Array.from(pixels12));
  u.host.images[0] = 9; // the same memory: no copy was made
  assert.equal(alias.toArray()[0], 9);
  t.dispose();
  // The view still holds the storage: the buffer stays busy, and the next batch gets another.
  assert.notEqual(worker.pack((a) => segBatch(a, 4)).images.id, u.images.index);
  alias.dispose();
  assert.equal(Atomics.load(u.images.flags, u.images.index), 0, "freed by the last tensor on the storage");
  assert.throws(() => sharedView(u.host.images, [2, 3, 1, 4], u.images.flags, u.images.index), /48 bytes but/);
  assert.throws(() => sharedView(u.host.images, [1, 3, 1, 4], u.images.flags, 64), /flag index 64 outside/);
});

test("a collate whose batches are never freed stops with E_DATA_WORKER once its 64 buffers are held", () => {
  const collate = collateFor("classification");
  const sample = {
    id: "a",
    image: { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4, channels: 3 as const },
    target: { kind: "class" as const, label: 1 },
  };
  const held = Array.from({ length: 64 }, () => collate([sample]));
  assert.throws(
    () => collate([sample]),
    (e: unknown) => e instanceof TasksrError && e.code === "E_DATA_WORKER" && /all 64 batch buffers/.test(e.message),
  );
  disposeBatch(held.pop()!);
  const again = collate([sample]); // a freed batch's buffer is used again
  for (const b of [...held, again]) disposeBatch(b);
});
