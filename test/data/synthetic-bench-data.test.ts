import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { runDataBench } from "../../src/bench/data.js";
import { registerBench } from "../../src/cli/commands/bench.js";
import { memory } from "../../src/engine/index.js";
import { tempDir } from "../support/data_trees.js";
import { fails } from "../support/synthetic.js";

test("bench data times every task's train pipeline on synthetic data and frees its batches", async () => {
  const cacheDir = tempDir("bench-data");
  const before = memory().liveTensors;
  const rows = await runDataBench({
    configs: ["classification", "segmentation", "detection"],
    cacheDir,
    images: 24,
    batchSize: 8,
    prefetch: 2,
  });
  assert.equal(memory().liveTensors, before);
  assert.deepEqual(
    rows.map((r) => [r.name, r.images]),
    [
      ["classification", 24],
      ["segmentation", 24],
      ["detection", 24],
    ],
  );
  for (const r of rows) {
    assert.ok(r.seconds > 0 && Math.abs(r.images_per_s - r.images / r.seconds) < 1e-9, JSON.stringify(r));
  }
});

test("tasksr bench data --json prints {configs: [{name, images, seconds, images_per_s}]}", async () => {
  const cacheDir = tempDir("bench-data");
  const program = new Command("tasksr").exitOverride();
  registerBench(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    await program.parseAsync(
      ["bench", "data", "--config", "classification", "--images", "12", "--batch", "4", "--cache", cacheDir, "--json"],
      { from: "user" },
    );
  } finally {
    console.log = log;
  }
  assert.equal(lines.length, 1);
  const out = JSON.parse(lines[0]!) as { configs: Record<string, unknown>[] };
  assert.deepEqual(Object.keys(out), ["configs"]);
  assert.deepEqual(Object.keys(out.configs[0]!), ["name", "images", "seconds", "images_per_s"]);
  assert.equal(out.configs[0]!.images, 12);
  await assert.rejects(
    program.parseAsync(["bench", "data", "--config", "ocr"], { from: "user" }),
    fails("E_CLI_ARG", /--config: unknown "ocr"/),
  );
});
