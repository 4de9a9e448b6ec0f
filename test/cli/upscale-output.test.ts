// `tasksr upscale` never leaves a partial output: a write that fails (a full disk, a folder in the way) removes its
// temporary file, keeps what was at the path, and is one E_WRITE naming the path. An image the memory budget cannot
// hold is refused before any work, naming the budget and how to change it.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { registerUpscale } from "../../src/cli/commands/upscale.js";
import { writeImage } from "../../src/data/io/image.js";
import { saveSafetensors } from "../../src/engine/index.js";
import type { TasksrError } from "../../src/errors.js";
import { commandError } from "../support/cli.js";
import { tempDir } from "../support/data_trees.js";
import { fullDisk } from "../support/tmp.js";

const dir = tempDir("upscale-output");
after(() => rmSync(dir, { recursive: true, force: true }));
const weights = join(dir, "bicubic_x4.safetensors");
saveSafetensors(weights, new Map(), { arch: "bicubic", scale: "4" });
const lr = join(dir, "noise.png");
// Noise does not compress: the x4 PNG is about 120 KB.
const noise = new Uint8Array(100 * 100 * 3);
let state = 1;
for (let i = 0; i < noise.length; i++) {
  state = (state * 1103515245 + 12345) >>> 0;
  noise[i] = state >>> 24;
}
await writeImage(lr, { data: noise, width: 100, height: 100, channels: 3 });

const writeError = (e: TasksrError, path: string) => {
  assert.equal(e.code, "E_WRITE", e.message);
  assert.ok(e.message.startsWith(`cannot write ${path}: `), e.message);
  assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
};

test("a folder where the output file should go: E_WRITE naming it, no temporary file left", async () => {
  const out = join(dir, "taken");
  const target = join(out, "sr.png");
  mkdirSync(target, { recursive: true });
  writeError(await commandError(registerUpscale, ["upscale", "--sr", weights, lr, target]), target);
  assert.deepEqual(readdirSync(out), ["sr.png"]);
  assert.deepEqual(readdirSync(target), []);
});

test("a full disk: E_WRITE (no space left), the previous output intact, no partial or temporary file", async (t) => {
  const mnt = join(dir, "full");
  if (!fullDisk(t, mnt)) return;
  const target = join(mnt, "sr.png");
  writeFileSync(target, "previous");
  const e = await commandError(registerUpscale, ["upscale", "--sr", weights, lr, target]);
  writeError(e, target);
  assert.match(e.message, /: no space left on the device \(ENOSPC\) \[E_WRITE/);
  assert.deepEqual(readdirSync(mnt), ["sr.png"]);
  assert.equal(readFileSync(target, "utf8"), "previous");
});

test("--tile 0 over the memory budget is refused before it starts, naming the budget and --max-memory", async () => {
  const target = join(dir, "budget.png");
  const args = ["upscale", "--sr", weights, "--device", "cpu", "--tile", "0", lr, target];
  const e = await commandError(registerUpscale, [...args, "--max-memory", "0.01"]);
  assert.equal(e.code, "E_CLI_ARG");
  assert.match(
    e.message,
    /noise\.png \(100x100 -> 400x400\) needs about [\d.]+ GB with --tile 0 .* over the memory budget of 0\.01 GB; .*raise the budget with --max-memory <GB>/,
  );
  assert.ok(!readdirSync(dir).includes("budget.png"));
  const bad = await commandError(registerUpscale, [...args, "--max-memory", "lots"]);
  assert.match(bad.message, /--max-memory must be a positive number of GB, got "lots"/);
});
