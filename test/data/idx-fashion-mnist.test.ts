import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FASHION_MNIST_CLASSES, IdxDataset } from "../../src/data/datasets/idx.js";
import { FIXTURES } from "../support/paths.js";

const REF = JSON.parse(readFileSync(join(FIXTURES, "data", "fashion_mnist.json"), "utf8")) as Record<
  "train" | "test",
  {
    count: number;
    firstLabels: number[];
    classCounts: number[];
    firstImageSum: number;
    firstImageCentre: number;
    lastImageSum: number;
  }
>;

const greySum = (data: Uint8Array) => data.reduce((a, v, i) => (i % 3 === 0 ? a + v : a), 0);

for (const split of ["train", "test"] as const) {
  test(`Fashion-MNIST ${split}: ${REF[split].count} samples, labels and pixels as NumPy reads them`, async () => {
    const ds = await IdxDataset.open({ split });
    const ref = REF[split];
    assert.equal(ds.length, ref.count);
    assert.deepEqual(ds.classes, FASHION_MNIST_CLASSES);
    const first = await Promise.all(ref.firstLabels.map((_, i) => ds.get(i)));
    assert.deepEqual(
      first.map((s) => s.target.label),
      ref.firstLabels,
    );
    const img = first[0]!.image;
    assert.deepEqual([img.width, img.height, img.channels], [28, 28, 3]);
    assert.equal(greySum(img.data), ref.firstImageSum);
    const centre = (14 * 28 + 14) * 3;
    assert.deepEqual(Array.from(img.data.subarray(centre, centre + 3)), new Array(3).fill(ref.firstImageCentre));
    assert.equal(greySum((await ds.get(ds.length - 1)).image.data), ref.lastImageSum);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < ds.length; i += 1) counts[(await ds.get(i)).target.label]++;
    assert.deepEqual(counts, ref.classCounts);
  });
}
