import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { runDataBench } from "../../src/bench/data.js";
import { registerBench } from "../../src/cli/commands/bench.js";
import { memory } from "../../src/engine/index.js";
import { tempDir } from "../support/data_trees.js";
import { fails } from "../support/synthetic.js";

test("bench data times every task's train pipeline with and without worker threads and frees its batches", async () => {
  const cacheDir = tempDir("bench-data");
  const before = memory().liveTensors;
  const res = await runDataBench({
    configs: ["synthetic-classification", "synthetic-segmentation", "synthetic-detection"],
    cacheDir,
    images: 24,
    batchSize: 8,
    prefetch: 2,
    workers: [0, 2],
    torch: false,
    overlapWorkers: 1,
    rounds: 1,
  });
  assert.equal(memory().liveTensors, before);
  assert.deepEqual(
    res.configs.map((r) => [r.name, r.workers, r.images]),
    [
      ["synthetic-classification", 0, 24],
      ["synthetic-classification", 2, 24],
      ["synthetic-segmentation", 0, 24],
      ["synthetic-segmentation", 2, 24],
      ["synthetic-detection", 0, 24],
      ["synthetic-detection", 2, 24],
    ],
  );
  for (const r of res.configs) {
    assert.ok(r.seconds > 0 && Math.abs(r.images_per_s - r.images / r.seconds) < 1e-9, JSON.stringify(r));
    assert.equal(r.ratio, null);
  }
  assert.equal(res.overlap, null);
});

test("tasksr bench data --json on the 640x480 trees: {configs: [{name, workers, images_per_s, torch_images_per_s, ratio}], overlap}", async () => {
  const cacheDir = tempDir("bench-data");
  const program = new Command("tasksr").exitOverride();
  registerBench(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    await program.parseAsync(
      [
        ...["bench", "data", "--config", "segmentation", "--images", "8", "--batch", "4", "--workers", "1"],
        ...["--step-ms", "20", "--rounds", "1", "--cache", cacheDir, "--json"],
      ],
      { from: "user" },
    );
  } finally {
    console.log = log;
  }
  assert.equal(lines.length, 1);
  const out = JSON.parse(lines[0]!) as {
    configs: Record<string, unknown>[];
    overlap: Record<string, number>;
  };
  assert.deepEqual(Object.keys(out), ["configs", "overlap"]);
  const row = out.configs[0]!;
  for (const k of ["name", "workers", "images_per_s", "torch_images_per_s", "ratio"]) assert.ok(k in row, k);
  assert.equal(row.images, 8);
  // The PyTorch side runs where the machine has torch (tools/fixtures' Python); its ratio is ours over its rate.
  if (row.torch_images_per_s !== null) {
    assert.ok(
      Math.abs((row.ratio as number) - (row.images_per_s as number) / (row.torch_images_per_s as number)) < 1e-9,
    );
  }
  const v = out.overlap;
  assert.equal(v.step_ms, 20);
  assert.equal(v.ideal_images_per_s, Math.min(v.loader_images_per_s!, v.step_images_per_s!));
  assert.ok(v.images_per_s! > 0);
  assert.equal(v.torch_images_per_s === null, row.torch_images_per_s === null, "PyTorch beside the step where it runs");
  await assert.rejects(
    program.parseAsync(["bench", "data", "--config", "ocr"], { from: "user" }),
    fails("E_CLI_ARG", /--config: unknown "ocr"/),
  );
});
