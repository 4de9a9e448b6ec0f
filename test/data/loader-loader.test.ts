import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { collateClassification, disposeBatch } from "../../src/data/loader/collate.js";
import { DataLoader } from "../../src/data/loader/loader.js";
import { aspectRatioGroups, groupedBatches } from "../../src/data/loader/sampler.js";
import { compose, hflip, randomCrop } from "../../src/data/transforms/index.js";
import type { ClassTarget, Dataset, Sample } from "../../src/data/types.js";
import { memory } from "../../src/engine/index.js";

/** In-memory dataset whose reads complete in a scrambled order (random delays), as file reads do. */
class FakeDataset implements Dataset<ClassTarget> {
  readonly task = "classification";
  readonly classes = ["a", "b", "c"];
  gets = 0;
  sizes = 0;
  constructor(
    readonly length: number,
    readonly dims: (i: number) => [number, number] = () => [12, 10],
    readonly fail?: number,
  ) {}
  async get(i: number): Promise<Sample<ClassTarget>> {
    this.gets++;
    await new Promise((r) => setTimeout(r, Math.random() * 3));
    if (i === this.fail) throw new Error(`cannot read item ${i}`);
    const [w, h] = this.dims(i);
    const data = Uint8Array.from({ length: w * h * 3 }, (_, k) => (i * 13 + k * 7) % 256);
    return {
      id: `item${i}`,
      image: { data, width: w, height: h, channels: 3 },
      target: { kind: "class", label: i % 3 },
    };
  }
  async size(i: number): Promise<{ width: number; height: number }> {
    this.sizes++;
    const [width, height] = this.dims(i);
    return { width, height };
  }
}

/** A tensor-free collate: ids plus a hash of the augmented pixels. */
const summary = (samples: Sample[]) => ({
  ids: samples.map((s) => s.id),
  hash: createHash("sha1")
    .update(Buffer.concat(samples.map((s) => Buffer.from(s.image.data))))
    .digest("hex"),
});

const augment = compose([randomCrop(8), hflip()]);

async function collect<B>(it: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of it) out.push(b);
  return out;
}

test("same seed and epoch give the same batches; another epoch reshuffles", async () => {
  const ds = new FakeDataset(23);
  const make = () => new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 5, transform: augment, collate: summary });
  const a = await collect(make().epoch(3));
  const b = await collect(make().epoch(3));
  assert.deepEqual(a, b);
  assert.equal(a.length, 6);
  const c = await collect(make().epoch(4));
  assert.notDeepEqual(
    c.map((x) => x.ids),
    a.map((x) => x.ids),
  );
  const all = a.flatMap((x) => x.ids).sort();
  assert.deepEqual(all, Array.from({ length: 23 }, (_, i) => `item${i}`).sort());
  const unshuffled = await collect(new DataLoader(ds, { batchSize: 4, collate: summary }).epoch(0));
  assert.deepEqual(
    unshuffled.flatMap((x) => x.ids),
    Array.from({ length: 23 }, (_, i) => `item${i}`),
  );
});

test("dropLast drops the incomplete batch; length counts batches", async () => {
  const ds = new FakeDataset(10);
  const keepAll = new DataLoader(ds, { batchSize: 4, collate: summary });
  const drop = new DataLoader(ds, { batchSize: 4, dropLast: true, collate: summary });
  assert.equal(keepAll.length, 3);
  assert.equal(drop.length, 2);
  const a = await collect(keepAll.epoch(0));
  const b = await collect(drop.epoch(0));
  assert.deepEqual(
    a.map((x) => x.ids.length),
    [4, 4, 2],
  );
  assert.deepEqual(
    b.map((x) => x.ids.length),
    [4, 4],
  );
});

test("prefetch depth does not change the batches (reads finish in scrambled order)", async () => {
  const ds = new FakeDataset(30);
  const run = (prefetch: number) =>
    collect(
      new DataLoader(ds, {
        batchSize: 3,
        shuffle: true,
        seed: 1,
        prefetch,
        transform: augment,
        collate: summary,
      }).epoch(2),
    );
  const base = await run(0);
  for (const p of [1, 3, 12]) assert.deepEqual(await run(p), base, `prefetch ${p}`);
});

test("resuming at a batch index gives exactly the remaining batches and skips loading the others", async () => {
  const ds = new FakeDataset(26);
  const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 9, transform: augment, collate: summary });
  const full = await collect(loader.epoch(1));
  ds.gets = 0;
  const rest = await collect(loader.epoch(1, { startBatch: 4 }));
  assert.deepEqual(rest, full.slice(4));
  assert.equal(ds.gets, 26 - 16);
  assert.deepEqual(await collect(loader.epoch(1, { startBatch: full.length })), []);
  await assert.rejects(collect(loader.epoch(1, { startBatch: full.length + 1 })), /startBatch must be in/);
});

test("prefetch keeps batches in flight while the consumer works, and none with prefetch 0", async () => {
  const ds = new FakeDataset(40);
  for (const [prefetch, ahead] of [
    [0, 0],
    [2, 2],
  ] as const) {
    ds.gets = 0;
    const it = new DataLoader(ds, { batchSize: 4, prefetch, collate: summary }).epoch(0);
    await it.next();
    // The consumer "works" while the loader's background reads proceed.
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(ds.gets, 4 * (1 + ahead), `prefetch ${prefetch}`);
    await it.return();
  }
});

test("aspect-ratio grouping: torchvision bins and GroupedBatchSampler order, batches from one group", async () => {
  // bins for k = 1: [0.5, 1, 2]; group = number of bins <= w / h.
  assert.deepEqual(
    aspectRatioGroups(
      [
        { width: 10, height: 30 },
        { width: 10, height: 20 },
        { width: 10, height: 10 },
        { width: 19, height: 10 },
        { width: 20, height: 10 },
      ],
      1,
    ),
    [0, 1, 2, 2, 3],
  );
  // Worked example of torchvision's GroupedBatchSampler (order 0..9, batch 3): two full batches, then the fullest
  // leftover buffer (group 2: [6, 9]) is topped up from its group's indices.
  assert.deepEqual(groupedBatches([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 1, 0, 1, 1, 0, 2, 0, 1, 2], 3), [
    [1, 3, 4],
    [0, 2, 5],
    [6, 9, 6],
  ]);
  const dims = (i: number): [number, number] => (i % 3 === 0 ? [20, 10] : i % 3 === 1 ? [10, 20] : [12, 12]);
  const ds = new FakeDataset(40, dims);
  const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 2, groupFactor: 3, collate: summary });
  assert.equal(loader.length, 10);
  const batches = await collect(loader.epoch(0));
  assert.equal(batches.length, 10);
  assert.equal(ds.sizes, 40, "sizes read without decoding");
  for (const b of batches) {
    const shapes = new Set(b.ids.map((id) => dims(Number(id.slice(4))).join("x")));
    assert.equal(shapes.size, 1, `batch ${b.ids} mixes aspect ratios`);
  }
  const again = await collect(loader.epoch(0));
  assert.deepEqual(again, batches);
  assert.equal(ds.sizes, 40, "sizes cached across epochs");
});

test("a failing read rejects the iteration; breaking early leaves nothing behind", async () => {
  const ds = new FakeDataset(20, undefined, 13);
  await assert.rejects(
    collect(new DataLoader(ds, { batchSize: 4, prefetch: 2, collate: summary }).epoch(0)),
    /cannot read item 13/,
  );
  const before = memory().liveTensors;
  const loader = new DataLoader(ds, {
    batchSize: 4,
    prefetch: 3,
    transform: randomCrop(8),
    collate: (s) => collateClassification(s),
  });
  for await (const b of loader.epoch(0)) {
    assert.deepEqual(b.hr.shape, [4, 3, 8, 8]);
    disposeBatch(b);
    break;
  }
  // Let the abandoned prefetches (including the failing one) settle.
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(memory().liveTensors, before);
});
