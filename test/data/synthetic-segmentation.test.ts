import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createDataset } from "../../src/data/datasets/registry.js";
import { generateSynthetic } from "../../src/data/synthetic/index.js";
import { drawSegmentationSample, segmentationSynthSchema } from "../../src/data/synthetic/segmentation.js";
import type { MaskTarget } from "../../src/data/types.js";
import { tempDir } from "../support/data_trees.js";
import { countFiles, fails, treeDigest } from "../support/synthetic.js";

const TINY = { train: 6, val: 4 };

test("segmentation trees are byte-identical for the same seed and differ for another", async () => {
  const base = tempDir("synth-seg");
  const a = await generateSynthetic("segmentation", join(base, "a"), TINY);
  const b = await generateSynthetic("segmentation", join(base, "b"), TINY);
  const c = await generateSynthetic("segmentation", join(base, "c"), { ...TINY, seed: 9 });
  assert.equal(treeDigest(a.root), treeDigest(b.root));
  assert.notEqual(treeDigest(a.root), treeDigest(c.root));
  // 10 images + 10 masks + 2 lists + the manifest.
  assert.equal(countFiles(a.root), 23);
});

test("the voc-seg loader opens the tree; masks hold only class indices and 255 and match the drawing", async () => {
  const r = await generateSynthetic("segmentation", join(tempDir("synth-seg"), "d"), TINY);
  assert.deepEqual(r.classes, ["background", "vlines", "hlines", "checker", "vlines3", "grid3"]);
  assert.deepEqual(r.val, { type: "voc-seg", root: r.root, split: "val", classes: r.classes });
  const train = await createDataset(r.train, { where: "data.train" });
  const val = await createDataset(r.val, { where: "data.val" });
  assert.deepEqual([train.length, val.length], [6, 4]);
  assert.deepEqual(train.classes, r.classes);
  const o = segmentationSynthSchema.parse(TINY);
  const seen = new Set<number>();
  for (let i = 0; i < train.length; i++) {
    const s = await train.get(i);
    assert.equal(s.id, `train_00000${i}`);
    assert.deepEqual([s.image.width, s.image.height, s.image.channels], [64, 64, 3]);
    const m = s.target as MaskTarget;
    const drawn = drawSegmentationSample(o, "train", i);
    assert.deepEqual(m.mask, drawn.mask.mask);
    for (const v of m.mask) seen.add(v);
    // JPEG at quality 95 (4:4:4) keeps the 1 px textures: small mean error against the drawn pixels.
    const err = s.image.data.reduce((e, v, k) => e + Math.abs(v - drawn.image.data[k]!), 0) / s.image.data.length;
    assert.ok(err < 3, `sample ${i}: JPEG mean abs error ${err.toFixed(2)}`);
  }
  for (const v of seen) assert.ok(v <= 5 || v === 255, `mask value ${v}`);
  assert.ok(seen.has(0) && seen.has(255) && [...seen].some((v) => v >= 1 && v <= 5));
});

test("ignoreBorders marks exactly the pixels with a 4-neighbour of another class", () => {
  const plain = segmentationSynthSchema.parse({ ...TINY, ignoreBorders: false });
  const marked = segmentationSynthSchema.parse(TINY);
  for (let i = 0; i < 4; i++) {
    const a = drawSegmentationSample(plain, "val", i).mask.mask;
    const b = drawSegmentationSample(marked, "val", i).mask.mask;
    assert.ok(a.every((v) => v <= 5));
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const v = a[y * 64 + x]!;
        const nb = [
          [x - 1, y],
          [x + 1, y],
          [x, y - 1],
          [x, y + 1],
        ].filter(([u, w]) => u! >= 0 && u! < 64 && w! >= 0 && w! < 64);
        const border = nb.some(([u, w]) => a[w! * 64 + u!] !== v);
        assert.equal(b[y * 64 + x], border ? 255 : v, `sample ${i} pixel (${x}, ${y})`);
      }
    }
  }
});

test("bad segmentation options are named", async () => {
  const root = join(tempDir("synth-seg"), "e");
  await assert.rejects(
    generateSynthetic("segmentation", root, { size: 62 }),
    fails("E_CONFIG", /segmentation options\.size: must be a multiple of scale \(4\), got 62/),
  );
  await assert.rejects(
    generateSynthetic("segmentation", root, { quality: 101, ignoreBorders: "yes" } as never),
    fails("E_CONFIG", /options\.ignoreBorders: .*boolean.*; .*options\.quality/),
  );
});
