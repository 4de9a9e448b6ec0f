import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import { registerSynth } from "../../src/cli/commands/synth.js";
import { createDataset } from "../../src/data/datasets/registry.js";
import { Degradation } from "../../src/data/degrade/pipeline.js";
import type { Image } from "../../src/data/io/image.js";
import { drawClassificationScene } from "../../src/data/synthetic/classification.js";
import { Canvas, fillTexture, rect } from "../../src/data/synthetic/draw.js";
import { ensureSynthetic, generateSynthetic, SYNTHETIC_MANIFEST } from "../../src/data/synthetic/index.js";
import { TEXTURES } from "../../src/data/synthetic/textures.js";
import { Rng } from "../../src/data/transforms/rng.js";
import type { ClassTarget } from "../../src/data/types.js";
import { tempDir } from "../support/data_trees.js";
import { countFiles, fails, treeDigest } from "../support/synthetic.js";

const TINY = { train: 20, val: 10 };

test("same options and seed give byte-identical trees; another seed gives another tree", async () => {
  const base = tempDir("synth-cls");
  const a = await generateSynthetic("classification", join(base, "a"), { ...TINY, seed: 3 });
  const b = await generateSynthetic("classification", join(base, "b"), { ...TINY, seed: 3 });
  const c = await generateSynthetic("classification", join(base, "c"), { ...TINY, seed: 4 });
  assert.equal(treeDigest(a.root), treeDigest(b.root));
  assert.notEqual(treeDigest(a.root), treeDigest(c.root));
  // 30 images + the manifest.
  assert.equal(countFiles(a.root), 31);
});

test("the returned blocks open with the image-folder loader: counts, classes, sizes, balanced labels", async () => {
  const r = await generateSynthetic("classification", join(tempDir("synth-cls"), "d"), { ...TINY, size: 48 });
  assert.deepEqual(r.train, { type: "image-folder", root: join(r.root, "train") });
  assert.equal(r.classes.length, 10);
  assert.deepEqual(r.options, { seed: 0, train: 20, val: 10, size: 48, scale: 4, classes: 10 });
  const train = await createDataset(r.train, { where: "data.train" });
  const val = await createDataset(r.val, { where: "data.val" });
  assert.equal(train.length, 20);
  assert.equal(val.length, 10);
  assert.deepEqual(train.classes, r.classes);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < train.length; i++) {
    const s = await train.get(i);
    assert.deepEqual([s.image.width, s.image.height, s.image.channels], [48, 48, 3]);
    counts[(s.target as ClassTarget).label]!++;
  }
  assert.deepEqual(counts, new Array<number>(10).fill(2));
});

test("x4 bicubic flattens the period-2 textures to one colour; scenes differing only in them nearly agree at LR", async () => {
  const deg = new Degradation({ method: "torch-bicubic", scale: 4 });
  const period2 = ["vlines", "hlines", "checker"].map((n) => TEXTURES.find((t) => t.name === n)!);
  const paper = [200, 180, 90] as const;
  const ink = [20, 60, 150] as const;
  const flat = await Promise.all(
    period2.map((t) => {
      const c = new Canvas(32, 32);
      fillTexture(c, rect(0, 0, 32, 32), t, paper, ink, new Rng(0));
      return deg.applyToImage(c.image());
    }),
  );
  // Every LR pixel is the paper/ink mean, whichever texture: (200 + 20) / 2 = 110, (180 + 60) / 2 = 120, ...
  for (const lr of flat) assert.deepEqual([...new Set(lr.data)].sort(), [110, 120]);

  const meanAbsDiff = (a: Image, b: Image) =>
    a.data.reduce((s, v, i) => s + Math.abs(v - b.data[i]!), 0) / a.data.length;
  let dHr = 0;
  let dLr = 0;
  for (let seed = 0; seed < 16; seed++) {
    // The same random stream draws the same scene; only the patch's texture differs.
    const hr = period2.map((t) => drawClassificationScene(new Rng(seed), 32, t));
    const lr = await Promise.all(hr.map((im) => deg.applyToImage(im)));
    for (const k of [1, 2]) {
      dHr += meanAbsDiff(hr[0]!, hr[k]!);
      dLr += meanAbsDiff(lr[0]!, lr[k]!);
    }
  }
  // What is left at LR comes from the 4x4 blocks the patch border cuts.
  assert.ok(dHr / 32 > 8, `HR scenes should differ clearly (mean |diff| ${(dHr / 32).toFixed(2)})`);
  assert.ok(dLr < dHr / 5, `LR scenes should nearly agree (${(dLr / 32).toFixed(2)} vs HR ${(dHr / 32).toFixed(2)})`);
});

test("ensureSynthetic keeps a matching tree, regenerates a changed one and refuses foreign folders", async () => {
  const base = tempDir("synth-cls");
  const root = join(base, "e");
  const first = await ensureSynthetic("classification", root, TINY);
  assert.equal(first.reused, false);
  const manifest = join(root, SYNTHETIC_MANIFEST);
  const written = statSync(manifest).mtimeMs;
  const again = await ensureSynthetic("classification", root, { ...TINY, seed: 0, scale: 4 });
  assert.equal(again.reused, true);
  assert.equal(statSync(manifest).mtimeMs, written);
  const before = treeDigest(root);
  const changed = await ensureSynthetic("classification", root, { ...TINY, seed: 1 });
  assert.equal(changed.reused, false);
  assert.notEqual(treeDigest(root), before);
  assert.equal(JSON.parse(readFileSync(manifest, "utf8")).options.seed, 1);
  // A manifest from older generator code does not match.
  const m = JSON.parse(readFileSync(manifest, "utf8"));
  writeFileSync(manifest, JSON.stringify({ ...m, version: m.version - 1 }));
  assert.equal((await ensureSynthetic("classification", root, { ...TINY, seed: 1 })).reused, false);
  assert.equal(JSON.parse(readFileSync(manifest, "utf8")).version, m.version);
  // generateSynthetic always rewrites; the leftover temp folders are gone.
  assert.equal((await generateSynthetic("classification", root, { ...TINY, seed: 1 })).reused, false);
  assert.equal(countFiles(base), 31);

  const foreign = join(base, "mine");
  mkdirSync(foreign);
  writeFileSync(join(foreign, "notes.txt"), "keep me");
  await assert.rejects(
    ensureSynthetic("classification", foreign, TINY),
    fails("E_CONFIG", /mine is not empty and has no synthetic\.json/),
  );
  assert.equal(readFileSync(join(foreign, "notes.txt"), "utf8"), "keep me");
});

test("bad options give one clear error naming the option", async () => {
  const root = join(tempDir("synth-cls"), "f");
  await assert.rejects(
    generateSynthetic("classification", root, { size: 30 }),
    fails("E_CONFIG", /classification options\.size: must be a multiple of scale \(4\), got 30/),
  );
  await assert.rejects(
    generateSynthetic("classification", root, { train: 5 }),
    fails("E_CONFIG", /options\.train: must be at least the number of classes \(10\)/),
  );
  await assert.rejects(
    generateSynthetic("classification", root, { sizes: 32 } as never),
    fails("E_CONFIG", /options\.sizes: unknown key/),
  );
  await assert.rejects(
    generateSynthetic("classification", root, { classes: 40 }),
    fails("E_CONFIG", /options\.classes: .*10/),
  );
  await assert.rejects(
    generateSynthetic("spectroscopy" as "classification", root),
    fails("E_UNKNOWN_NAME", /synthetic task "spectroscopy" is unknown; known: classification/),
  );
});

test("tasksr synth writes the tree and checks its arguments", async () => {
  const run = async (...args: string[]) => {
    const program = new Command("tasksr").exitOverride();
    registerSynth(program);
    await program.parseAsync(["synth", ...args], { from: "user" });
  };
  const out = join(tempDir("synth-cli"), "cls");
  await run("classification", out, "--train", "10", "--val", "10", "--seed", "5");
  const manifest = JSON.parse(readFileSync(join(out, SYNTHETIC_MANIFEST), "utf8"));
  assert.deepEqual(manifest.options, { seed: 5, train: 10, val: 10, size: 32, scale: 4, classes: 10 });
  await assert.rejects(run("classification", out, "--train", "ten"), fails("E_CLI_ARG", /--train must be an integer/));
  await assert.rejects(run("pictures", out), fails("E_CLI_ARG", /<task> must be one of/));
});
