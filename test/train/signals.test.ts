// Stopping `tasksr train` through the launcher (bin/tasksr.js), as a terminal or a supervisor does: SIGINT and
// SIGTERM to the launcher stop at the next step with a checkpoint and a run that resumes, on in-memory IDX data (whose
// loader never waits on I/O) as on image files; SIGKILL of the launcher takes the training process with it.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { runFiles } from "../../src/train/run.js";
import { put, tempDir } from "../support/data_trees.js";
import { childrenOf, launch, running } from "../support/processes.js";
import { writeClassTree } from "../support/train_runs.js";

/**
 * An IDX dataset folder: train (2000 images) and t10k (8 images) of 16 x 16 pixels, 3 classes. Epochs of 500 steps
 * tell a stop at the next step from one at the end of the epoch.
 */
function writeIdx(root: string): void {
  const idx = (dims: number[], value: (i: number) => number): Uint8Array => {
    const header = new Uint8Array(4 + 4 * dims.length);
    const view = new DataView(header.buffer);
    view.setUint32(0, 0x0800 + dims.length, false);
    for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
    const data = Uint8Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => value(i));
    return Buffer.concat([header, data]);
  };
  for (const [prefix, n] of [
    ["train", 2000],
    ["t10k", 8],
  ] as const) {
    put(
      join(root, `${prefix}-images-idx3-ubyte`),
      idx([n, 16, 16], (i) => (i * 37 + (i >> 8) * 11) % 256),
    );
    put(
      join(root, `${prefix}-labels-idx1-ubyte`),
      idx([n], (i) => i % 3),
    );
  }
}

/** An SR-FT run long enough (thousands of steps) that only a working stop ends it within the test's time. */
function writeConfig(dir: string, data: Record<string, unknown>, crop: number): string {
  const cfg = {
    name: "signals",
    task: "classification",
    scale: 4,
    device: "cpu",
    data: { ...data, transforms: { resize: crop, crop }, prefetch: 1 },
    sr: { arch: "edsr-tiny" },
    taskNet: { arch: "resnet-tiny" },
    recipe: { name: "sr-ft" },
    optim: { sr: { type: "adamw", lr: 1e-3 } },
    train: { epochs: 500, batchSize: 4, logEvery: 1, evalEvery: 500, saveEvery: 500, seed: 0 },
    eval: { batchSize: 4, limit: 4, ssim: false },
  };
  const path = join(dir, "signals.yaml");
  writeFileSync(path, stringify(cfg));
  return path;
}

const DATA = {
  idx: async () => {
    const root = tempDir("signals-idx");
    writeIdx(root);
    return {
      dir: root,
      data: { train: { type: "idx", root }, val: { type: "idx", root, split: "test" } },
      crop: 16,
    };
  },
  "image-folder": async () => {
    const root = await writeClassTree();
    return {
      dir: root,
      data: {
        train: { type: "image-folder", root: join(root, "train") },
        val: { type: "image-folder", root: join(root, "val") },
      },
      crop: 32,
    };
  },
};

const STOPPED = /stopped at epoch \d+, iteration (\d+); checkpoint saved to (.*latest\.safetensors)/;
/** Steps that may run while a signal travels from the test through the launcher (each takes milliseconds). */
const IN_FLIGHT = 20;

for (const [kind, make] of Object.entries(DATA)) {
  test(`${kind} data: SIGINT to the launcher stops with a checkpoint; the run resumes and SIGTERM stops it again`, async () => {
    const { dir, data, crop } = await make();
    const config = writeConfig(dir, data, crop);
    const out = join(dir, "runs");
    const first = launch(["train", "--config", config, "--out", out]);
    await first.waitFor(/\] it 2\//);
    first.proc.kill("SIGINT");
    assert.deepEqual(await first.exited(), { code: 130, signal: null }, first.output());
    const stop1 = STOPPED.exec(first.output());
    assert.ok(stop1 && Number(stop1[1]) <= 2 + IN_FLIGHT, `no stop at the next step in:\n${first.output()}`);
    const latest = runFiles(join(out, "signals")).latest;
    assert.equal(stop1[2], latest);
    assert.ok(existsSync(latest));
    assert.match(first.output(), /--resume auto/);

    const second = launch(["train", "--config", config, "--out", out, "--resume", "auto"]);
    await second.waitFor(new RegExp(`resumed from .*latest\\.safetensors at epoch \\d+, iteration ${stop1[1]},`));
    await second.waitFor(new RegExp(`\\] it ${Number(stop1[1]) + 2}/`));
    second.proc.kill("SIGTERM");
    assert.deepEqual(await second.exited(), { code: 130, signal: null }, second.output());
    const stop2 = STOPPED.exec(second.output());
    const resumedAt = Number(stop1[1]);
    assert.ok(
      stop2 && Number(stop2[1]) > resumedAt && Number(stop2[1]) <= resumedAt + 2 + IN_FLIGHT,
      `no stop at the next step in:\n${second.output()}`,
    );
  });

  test(`${kind} data: SIGKILL of the launcher ends the training process within seconds`, async () => {
    const { dir, data, crop } = await make();
    const run = launch(["train", "--config", writeConfig(dir, data, crop), "--out", join(dir, "runs")]);
    await run.waitFor(/\] it 2\//);
    const [cli] = childrenOf(run.proc.pid!);
    assert.ok(cli !== undefined, "the launcher runs the CLI in a child process");
    run.proc.kill("SIGKILL");
    await run.exited();
    const t0 = Date.now();
    while (running(cli) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    const orphan = running(cli);
    if (orphan) process.kill(cli, "SIGKILL");
    assert.ok(!orphan, `the training process ${cli} still ran 5 s after its launcher was killed`);
  });
}

test("Ctrl-C in a terminal (SIGINT to the launcher's whole process group) is one stop request, not two", async () => {
  const { dir, data, crop } = await DATA.idx();
  const out = join(dir, "runs");
  const run = launch(["train", "--config", writeConfig(dir, data, crop), "--out", out], true);
  await run.waitFor(/\] it 2\//);
  // A terminal signals the foreground process group; a second SIGINT would mean "quit at once, no checkpoint".
  process.kill(-run.proc.pid!, "SIGINT");
  assert.deepEqual(await run.exited(), { code: 130, signal: null }, run.output());
  assert.match(run.output(), STOPPED);
  assert.ok(existsSync(runFiles(join(out, "signals")).latest));
});
