// `tasksr upscale` memory grows with the tile and the 8-bit output, not with a float copy of the whole output: a
// 1000 x 750 image at x4 (a 36 MB output; as float 144 MB, and several times that to convert it to 8 bits) upscaled
// in-process while the peak RSS is watched: 122 MB with 8-bit streaming, 715 MB with the float output before it.
// Its own file: the peak RSS is a high-water mark of the whole process.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import { registerUpscale } from "../../src/cli/commands/upscale.js";
import { readImageSize, writeImage } from "../../src/data/io/image.js";
import { saveSafetensors } from "../../src/engine/index.js";
import { pattern, tempDir } from "../support/data_trees.js";

const MB = 1024 * 1024;

test("upscaling 1000 x 750 to 4000 x 3000 raises the peak RSS by less than 250 MB", async () => {
  const dir = tempDir("upscale-memory");
  // bicubic x4 as a weights file: no parameters, no compute, so the pipeline's own memory is what is measured.
  const weights = join(dir, "bicubic_x4.safetensors");
  saveSafetensors(weights, new Map(), { arch: "bicubic", scale: "4" });
  await writeImage(join(dir, "lr.png"), pattern(1000, 750));
  const upscale = (...args: string[]) => {
    const program = new Command("tasksr").exitOverride();
    registerUpscale(program);
    return program.parseAsync(["upscale", "--sr", weights, ...args], { from: "user" });
  };
  // A small run first loads the engine, sharp and the network code, which any upscale holds.
  await writeImage(join(dir, "small.png"), pattern(40, 30));
  await upscale(join(dir, "small.png"), join(dir, "small_x4.png"));
  const before = process.resourceUsage().maxRSS * 1024;
  await upscale("--tile", "256", join(dir, "lr.png"), join(dir, "sr.png"));
  const growth = process.resourceUsage().maxRSS * 1024 - before;
  assert.deepEqual(await readImageSize(join(dir, "sr.png")), { width: 4000, height: 3000 });
  assert.ok(growth < 250 * MB, `peak RSS grew by ${(growth / MB).toFixed(0)} MB`);
  assert.deepEqual(readdirSync(dir).sort(), [
    "bicubic_x4.safetensors",
    "lr.png",
    "small.png",
    "small_x4.png",
    "sr.png",
  ]);
});
