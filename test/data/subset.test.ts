import assert from "node:assert/strict";
import { test } from "node:test";
import { validateRun } from "../../src/config/load.js";
import { spreadFirst, subsetDataset } from "../../src/data/datasets/subset.js";
import { validationSet } from "../../src/data/run.js";
import type { ClassTarget, Dataset } from "../../src/data/types.js";

/** A class-sorted dataset of n samples whose ids are their indices (like an ImageFolder of 10 classes). */
function sorted(n: number): Dataset<ClassTarget> {
  return {
    task: "classification",
    classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
    length: n,
    get: async (i) => ({
      id: String(i),
      image: { data: new Uint8Array(3), width: 1, height: 1, channels: 3 },
      target: { kind: "class", label: Math.floor((10 * i) / n) },
    }),
  };
}

const ids = async (ds: Dataset<ClassTarget>) =>
  Promise.all(Array.from({ length: ds.length }, async (_, i) => Number((await ds.get(i)).id)));

test("spreadFirst: the same samples, the first k spread evenly (one per class of a sorted set), the rest in order", async () => {
  const order = await ids(spreadFirst(sorted(100), 10));
  assert.deepEqual(order.slice(0, 10), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.deepEqual(order.slice(10, 13), [1, 2, 3]);
  assert.deepEqual(await ids(spreadFirst(sorted(3), 8)), [0, 1, 2]);
});

test("validationSet: valLimit draws one fixed sample over the whole set; eval.limit and a limit take its first", async () => {
  const cfg = (data: Record<string, unknown>, evalBlock: Record<string, unknown> = {}) =>
    validateRun(
      {
        name: "v",
        task: "classification",
        scale: 4,
        data: { train: { type: "image-folder", root: "/x" }, val: { type: "image-folder", root: "/y" }, ...data },
        taskNet: { arch: "resnet-tiny" },
        recipe: { name: "hr2task" },
        optim: { task: { type: "sgd", lr: 0.1 } },
        train: { epochs: 1, batchSize: 2, seed: 7 },
        eval: evalBlock,
      },
      "test",
    );
  const full = sorted(1000);
  const limited = await ids(validationSet(full, cfg({ valLimit: 50 })));
  assert.equal(limited.length, 50);
  assert.ok(Math.max(...limited) > 900 && Math.min(...limited) < 100, "spans the class-sorted set");
  assert.deepEqual(await ids(subsetDataset(full, 50, 0)), limited, "the same subset whatever the run's seed");
  assert.deepEqual(await ids(validationSet(full, cfg({ valLimit: 50 }, { limit: 5 }))), limited.slice(0, 5));
  assert.deepEqual(await ids(validationSet(full, cfg({}), 3)), [0, 1, 2]);
  assert.equal(validationSet(full, cfg({})), full);
});
