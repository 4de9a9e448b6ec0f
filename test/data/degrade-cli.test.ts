import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import { registerDegrade } from "../../src/cli/commands/degrade.js";
import { imagesToTensor, tensorToImages } from "../../src/data/degrade/image_tensor.js";
import { torchBicubicDown } from "../../src/data/degrade/torch_bicubic.js";
import { readImage } from "../../src/data/io/image.js";
import { memory, scope } from "../../src/engine/index.js";
import { TasksrError } from "../../src/errors.js";
import { tempDir } from "../support/data_trees.js";
import { REPO, SHARED_DATA } from "../support/paths.js";

const SET5 = join(SHARED_DATA, "sr-bench-set5-set14", "Set5");

function tasksr(...args: string[]) {
  return spawnSync(process.execPath, [join(REPO, "bin", "tasksr.js"), ...args], { encoding: "utf8" });
}

/** The degrade command in this process (the engine is already loaded here; a new process costs seconds). */
async function degrade(...args: string[]): Promise<void> {
  const program = new Command("tasksr").exitOverride();
  registerDegrade(program);
  await program.parseAsync(["degrade", ...args], { from: "user" });
}

test("tasksr degrade --method matlab-bicubic reproduces every Set5 LR_bicubic/X4 file bit-exactly", async () => {
  const out = tempDir("degrade");
  const r = tasksr("degrade", "--method", "matlab-bicubic", "--scale", "4", join(SET5, "HR"), out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /degraded 5 image\(s\) with matlab-bicubic x4/);
  assert.deepEqual(readdirSync(out).sort(), ["baby.png", "bird.png", "butterfly.png", "head.png", "woman.png"]);
  for (const f of readdirSync(out)) {
    const got = await readImage(join(out, f), { channels: "keep" });
    const want = await readImage(join(SET5, "LR_bicubic", "X4", f.replace(".png", "x4.png")), { channels: "keep" });
    assert.deepEqual([got.width, got.height, got.channels], [want.width, want.height, want.channels], f);
    assert.ok(Buffer.from(got.data).equals(Buffer.from(want.data)), `${f}: pixels differ`);
  }
});

test("degrade --method torch-bicubic on one file equals the library; seeded noise repeats and matches folder mode", async () => {
  const before = memory().liveTensors;
  const out = tempDir("degrade");
  const hrFile = join(SET5, "HR", "bird.png");
  await degrade("--scale", "4", hrFile, join(out, "plain.png"));
  const plain = await readImage(join(out, "plain.png"));
  const hr = await readImage(hrFile);
  const lib = scope(() => tensorToImages(torchBicubicDown(imagesToTensor([hr]), 4))[0]!);
  assert.deepEqual(plain, lib);

  const folder = tempDir("degrade-in");
  copyFileSync(hrFile, join(folder, "bird.png"));
  const noisy = ["--scale", "4", "--blur-sigma", "0.8", "--noise-sigma", "6", "--jpeg", "70", "--seed", "5"];
  await degrade(...noisy, hrFile, join(out, "a.png"));
  await degrade(...noisy, hrFile, join(out, "b.png"));
  await degrade(...noisy, folder, join(out, "dir"));
  const a = await readImage(join(out, "a.png"));
  assert.deepEqual(await readImage(join(out, "b.png")), a);
  assert.deepEqual(await readImage(join(out, "dir", "bird.png")), a);
  assert.notDeepEqual(a, plain);
  assert.equal(memory().liveTensors, before);
});

test("degrade rejects bad arguments with one clear error", async () => {
  const out = tempDir("degrade");
  const baby = join(SET5, "HR", "baby.png");
  const bad = [
    [["--scale", "four", baby], "E_CLI_ARG", /--scale must be an integer, got "four"/],
    [["--scale", "4", "--blur-size", "5", baby], "E_CLI_ARG", /--blur-size needs --blur-sigma/],
    [["--scale", "4", "--method", "pil", baby], "E_CLI_ARG", /--method must be torch-bicubic or matlab-bicubic/],
    [["--scale", "4", "--jpeg", "0", baby], "E_CONFIG", /degrade\.jpeg\.quality: /],
    [["--scale", "4", join(out, "none.png")], "E_CLI_ARG", /input .*none\.png does not exist/],
  ] as const;
  for (const [args, code, re] of bad) {
    await assert.rejects(
      degrade(...args, join(out, "x.png")),
      (e: unknown) => e instanceof TasksrError && e.code === code && re.test(e.message),
    );
  }
});
