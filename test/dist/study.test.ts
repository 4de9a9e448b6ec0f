/**
 * `tasksr study --nproc-per-node 2`: every setting of the study trains with two processes (rank 0 writes the runs,
 * the views and the report), and the study's dependency links (S→T on SR-FT's SR) hold across the runs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import { stringify } from "yaml";
import { tempDir } from "../support/data_trees.js";
import { noDist } from "../support/dist.js";
import { REPO } from "../support/paths.js";
import { writeNoiseClassTree } from "../support/train_runs.js";

test("a study trains each setting with 2 processes and writes one report", { skip: noDist }, async () => {
  const dir = tempDir("dist-study");
  const root = await writeNoiseClassTree("dist-study-data", 32);
  const study = {
    name: "s",
    settings: ["hr2task", "sr-ft", "sr2task"],
    seeds: [1],
    base: {
      task: "classification",
      scale: 4,
      device: "cpu",
      data: {
        train: { type: "image-folder", root: join(root, "train") },
        val: { type: "image-folder", root: join(root, "val") },
        transforms: { resize: 32, crop: 32 },
        prefetch: 0,
      },
      sr: { arch: "edsr-tiny" },
      taskNet: { arch: "resnet-tiny" },
      optim: { sr: { type: "sgd", lr: 0.01 }, task: { type: "sgd", lr: 0.01 } },
      train: { epochs: 1, batchSize: 2, logEvery: 1, syncBatchNorm: true },
      eval: { batchSize: 2, ssim: false },
    },
  };
  const path = join(dir, "s.yaml");
  writeFileSync(path, stringify(study));
  const out = join(dir, "runs");
  const r = spawnSync(
    process.execPath,
    [join(REPO, "bin", "tasksr.js"), "study", path, "--out", out, "--nproc-per-node", "2"],
    { encoding: "utf8", cwd: REPO, env: { ...process.env, TASKSR_THREADS: "1" } },
  );
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  assert.match(r.stdout, /batch 2 per process x 2 processes = global batch 4/);
  for (const s of ["hr2task", "sr-ft", "sr2task"]) {
    const res = JSON.parse(readFileSync(join(out, "s", "seed-1", s, "results.json"), "utf8")) as { iterations: number };
    // 12 images in global batches of 4.
    assert.equal(res.iterations, 3, s);
  }
  assert.ok(existsSync(join(out, "s", "report.md")), r.stdout);
  // One report printed, by rank 0.
  assert.equal(r.stdout.match(/^report: /gm)?.length, 1);
});
