// `tasksr upscale` end to end through the launcher: EDSR-PyTorch-style .pt weights against PyTorch's output
// (tools/fixtures/infer_edsr_pt.py), our safetensors with metadata, folder mode, and argument errors.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { registerUpscale } from "../../src/cli/commands/upscale.js";
import { readImage, writeImage } from "../../src/data/io/image.js";
import { loadSafetensors, saveSafetensors } from "../../src/engine/index.js";
import { readWeights } from "../../src/nn/weights.js";
import { commandError, tasksr } from "../support/cli.js";
import { pattern, putImage } from "../support/data_trees.js";
import { FIXTURES } from "../support/paths.js";

const PT = join(FIXTURES, "infer", "edsr_tiny_x2.pt");
const TMP = mkdtempSync(join(tmpdir(), "tasksr-upscale-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

let ref: { lr: Uint8Array; sr: Uint8Array };
before(async () => {
  const io = loadSafetensors(join(FIXTURES, "infer", "edsr_tiny_x2_io.safetensors")).tensors;
  ref = { lr: io.get("lr")!.data<"uint8">(), sr: io.get("sr")!.data<"uint8">() };
  for (const t of io.values()) t.dispose();
  await writeImage(join(TMP, "lr.png"), { data: ref.lr, width: 13, height: 11, channels: 3 });
});

async function expectReference(path: string): Promise<void> {
  const out = await readImage(path);
  assert.deepEqual([out.width, out.height], [26, 22]);
  let worst = 0;
  for (let i = 0; i < out.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i]! - ref.sr[i]!));
  assert.ok(worst <= 1, `max 8-bit difference to PyTorch ${worst}`);
}

test("upscale: EDSR-PyTorch .pt weights with --arch/--scale reproduce PyTorch's output, untiled and tiled", async () => {
  const upscale = (out: string, ...tiling: string[]) =>
    tasksr("upscale", "--sr", PT, "--arch", "edsr-tiny", "--scale", "2", ...tiling, join(TMP, "lr.png"), out);
  const whole = join(TMP, "sr-whole.png");
  let r = upscale(whole, "--tile", "0");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /upscaled 1 image\(s\) with .*edsr_tiny_x2\.pt \(edsr-tiny x2\)/);
  await expectReference(whole);
  const tiled = join(TMP, "sr-tiled.png");
  r = upscale(tiled, "--tile", "4", "--overlap", "12");
  assert.equal(r.status, 0, r.stderr);
  await expectReference(tiled);
});

test("upscale: a safetensors file names its own arch and scale; folder mode keeps relative names", async () => {
  const weights = join(TMP, "sr.safetensors");
  const sd = readWeights(PT);
  saveSafetensors(weights, sd, { arch: "edsr-tiny", scale: "2" });
  for (const t of sd.values()) t.dispose();
  const inDir = join(TMP, "in");
  await putImage(join(inDir, "a.png"), pattern(9, 7, 1));
  await putImage(join(inDir, "sub", "b.jpg"), pattern(5, 12, 2));
  await putImage(join(inDir, "sub", "c.png"), { data: ref.lr, width: 13, height: 11, channels: 3 });
  const outDir = join(TMP, "out");
  const r = tasksr("upscale", "--sr", weights, "--tile", "6", "--overlap", "12", inDir, outDir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /upscaled 3 image\(s\)/);
  const a = await readImage(join(outDir, "a.png"));
  const b = await readImage(join(outDir, "sub", "b.jpg"));
  assert.deepEqual([a.width, a.height, b.width, b.height], [18, 14, 10, 24]);
  await expectReference(join(outDir, "sub", "c.png"));
});

test("upscale: bad inputs are one clear error each", async () => {
  const lr = join(TMP, "lr.png");
  const cases: [string[], RegExp][] = [
    [
      ["--sr", PT, lr, join(TMP, "x.png")],
      /--sr .*edsr_tiny_x2\.pt: the file does not name its architecture; pass --arch/,
    ],
    [["--sr", join(TMP, "missing.pt"), lr, join(TMP, "x.png")], /--sr .*missing\.pt: no such file or folder/],
    [
      ["--sr", join(TMP, "sr.safetensors"), "--scale", "4", lr, join(TMP, "x.png")],
      /--scale 4 contradicts the weights file, which says 2/,
    ],
    [["--sr", PT, "--arch", "edsr-tiny", "--scale", "4", lr, join(TMP, "x.png")], /E_STATE_DICT/],
    [
      ["--sr", PT, "--arch", "edsr-tiny", "--scale", "2", "--tile", "-3", lr, join(TMP, "x.png")],
      /--tile must be an integer >= 0, got "-3"/,
    ],
    [
      ["--sr", PT, "--arch", "edsr-tiny", "--scale", "2", lr, join(TMP, "x.bmp")],
      /output .*x\.bmp: write \.png, \.jpg or \.webp/,
    ],
    [
      ["--sr", PT, "--arch", "edsr-tiny", "--scale", "2", join(TMP, "nope.png"), join(TMP, "x.png")],
      /input .*nope\.png does not exist/,
    ],
  ];
  for (const [args, want] of cases)
    assert.match((await commandError(registerUpscale, ["upscale", ...args])).message, want);
  // Through the launcher: one line on stderr, exit status 2.
  const r = tasksr("upscale", "--sr", PT, lr, join(TMP, "x.png"));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^tasksr: error: --sr .*pass --arch \[E_CLI_ARG; see docs\/errors\.md#e_cli_arg\]\n$/);
});
