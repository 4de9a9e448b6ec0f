import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createDataset } from "../../src/data/datasets/registry.js";
import { spreadFirst, subsetDataset } from "../../src/data/datasets/subset.js";
import { type Batch, type BuiltinBatch, collateFor, disposeBatch } from "../../src/data/loader/collate.js";
import { DataLoader, type DataLoaderOptions } from "../../src/data/loader/loader.js";
import { ensureSynthetic } from "../../src/data/synthetic/index.js";
import { compose, hflip } from "../../src/data/transforms/index.js";
import type { Dataset, Target, Task } from "../../src/data/types.js";
import { memory } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { presetFor } from "../../src/tasks/index.js";
import { tempDir } from "../support/data_trees.js";

const cache = tempDir("loader-workers");

async function tree(task: Task): Promise<{ train: Dataset; size: number; config: Record<string, unknown> }> {
  const synth = await ensureSynthetic(task, join(cache, task), { train: 40, val: 10 });
  return {
    train: await createDataset(synth.train, { where: "data.train" }),
    size: (synth.options as { size: number }).size,
    config: synth.train,
  };
}

/** A digest of every tensor and id of every batch of `epoch`, in order. */
async function digest(loader: DataLoader<Target, Batch>, epoch: number, startBatch = 0): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of loader.epoch(epoch, { startBatch })) {
    const b = batch as BuiltinBatch;
    const h = createHash("sha256").update(b.ids.join(","));
    h.update(b.hr.data());
    if (b.task === "classification") h.update(b.labels.data());
    if (b.task === "segmentation") h.update(b.masks.data());
    if (b.task === "detection") {
      for (const t of b.targets) h.update(t.boxes.data()).update(t.labels.data());
      h.update(JSON.stringify(b.sizes));
    }
    out.push(h.digest("hex"));
    disposeBatch(b);
  }
  return out;
}

function loaderFor(
  task: Task,
  ds: Dataset,
  size: number,
  o: Partial<DataLoaderOptions<Target, Batch>>,
): DataLoader<Target, Batch> {
  const options = task === "detection" ? {} : { resize: size, crop: size - 8 };
  return new DataLoader<Target, Batch>(ds, {
    batchSize: 6,
    collate: collateFor(task, { scale: 4 }),
    transform: presetFor(task, "train", options),
    shuffle: true,
    seed: 11,
    groupFactor: task === "detection" ? 3 : undefined,
    ...o,
  });
}

for (const task of ["classification", "segmentation", "detection"] as const) {
  test(`${task}: batches are bit-identical with 0, 1 and 2 worker threads, any prefetch, and resumed mid-epoch`, async () => {
    const { train, size } = await tree(task);
    const before = memory().liveTensors;
    const ref = await digest(loaderFor(task, train, size, { workers: 0 }), 1);
    assert.ok(ref.length >= 6);
    // A view (trainLimit / valLimit subsets) is rebuilt by the workers too.
    const view = spreadFirst(subsetDataset(train, 30, 5), 4);
    const refView = await digest(loaderFor(task, view, size, { workers: 0 }), 2);
    for (const [workers, prefetch] of [
      [1, 2],
      [2, 0],
      [2, 3],
    ] as const) {
      const loader = loaderFor(task, train, size, { workers, prefetch });
      try {
        assert.deepEqual(await digest(loader, 1), ref, `workers ${workers}, prefetch ${prefetch}`);
        assert.deepEqual(await digest(loader, 1, 4), ref.slice(4), `resumed at batch 4, workers ${workers}`);
      } finally {
        await loader.close();
      }
      const viewLoader = loaderFor(task, view, size, { workers, prefetch });
      assert.deepEqual(await digest(viewLoader, 2), refView, `view, workers ${workers}`);
      await viewLoader.close();
    }
    assert.equal(memory().liveTensors, before);
  });
}

test("breaking out of an epoch with batches in flight leaks no tensor, and the loader goes on", async () => {
  const { train, size } = await tree("segmentation");
  const before = memory().liveTensors;
  const loader = loaderFor("segmentation", train, size, { workers: 2, prefetch: 2 });
  try {
    for await (const b of loader.epoch(0)) {
      disposeBatch(b);
      break;
    }
    assert.equal(memory().liveTensors, before);
    const all = await digest(loader, 0);
    assert.deepEqual(all, await digest(loaderFor("segmentation", train, size, { workers: 0 }), 0));
  } finally {
    await loader.close();
  }
});

test("a bad file read in a worker is the same E_BAD_FILE naming it; loaders made in code refuse workers", async () => {
  const { config, size } = await tree("segmentation");
  const root = tempDir("loader-workers-bad");
  const { cpSync } = await import("node:fs");
  cpSync(config.root as string, root, { recursive: true });
  const images = join(root, "JPEGImages");
  const victim = readdirSync(images).sort()[3]!;
  writeFileSync(join(images, victim), "not a jpeg");
  const ds = await createDataset({ ...config, root }, { where: "data.train" });
  const loader = loaderFor("segmentation", ds, size, { workers: 2, shuffle: false });
  try {
    await assert.rejects(
      digest(loader, 0),
      (e: unknown) =>
        e instanceof TasksrError &&
        e.code === "E_BAD_FILE" &&
        e.message.includes(`cannot decode image ${join(images, victim)}`),
    );
  } finally {
    await loader.close();
  }
  const inCode: Dataset = { task: "segmentation", classes: ds.classes, length: 3, get: (i) => ds.get(i) };
  assert.throws(
    () => loaderFor("segmentation", inCode, size, { workers: 1 }),
    (e: unknown) =>
      e instanceof TasksrError && e.code === "E_DATA_WORKER" && /dataset was made in code/.test(e.message),
  );
  assert.throws(
    () => loaderFor("segmentation", ds, size, { workers: 1, transform: compose([hflip(0.5)]) }),
    (e: unknown) =>
      e instanceof TasksrError && e.code === "E_DATA_WORKER" && /transform was made in code/.test(e.message),
  );
});

test("a worker that dies fails the epoch with E_DATA_WORKER naming it and the batch", async () => {
  const { train, size } = await tree("classification");
  // 4 MB of heap: the worker runs out of memory while it starts.
  const loader = loaderFor("classification", train, size, { workers: 1, workerHeapMb: 4 });
  try {
    await assert.rejects(
      digest(loader, 0),
      (e: unknown) =>
        e instanceof TasksrError &&
        e.code === "E_DATA_WORKER" &&
        /data worker 1 of 1 .*while loading batch 0 of epoch 0/.test(e.message),
    );
  } finally {
    await loader.close();
  }
});

test("a process that fails while workers are loading exits with its error, never an abort", async () => {
  const { config, size } = await tree("segmentation");
  const { spawnSync } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const src = (m: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${m}`, import.meta.url)));
  // The first batch arrives, the others are being decoded and resized when the error ends the process: the
  // workers' environments shut down under calls into the pixel kernels (once about one exit in twenty aborted).
  const script = `
    import { createDataset } from ${src("data/datasets/registry.js")};
    import { collateFor } from ${src("data/loader/collate.js")};
    import { DataLoader } from ${src("data/loader/loader.js")};
    import { presetFor } from ${src("tasks/index.js")};
    const ds = await createDataset(${JSON.stringify(config)}, { where: "data.train" });
    const loader = new DataLoader(ds, { batchSize: 1, collate: collateFor("segmentation"), workers: 2, prefetch: 4,
      transform: presetFor("segmentation", "train", { resize: ${size * 2}, crop: ${size} }) });
    for await (const b of loader.epoch(0)) throw new Error("boom");`;
  for (let run = 0; run < 8; run++) {
    // The runner's environment: tcmalloc preloaded, as under the tasksr launcher.
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(r.signal, null, `run ${run}: killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.status, 1, `run ${run}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, /Error: boom/);
  }
});
